"""`lab fault` on the running lab (local backend): each fault, switched on under traffic through
PetSite, shows where docs/drills.md says (the map's node or edge, a trace in Jaeger, the HTTP
metrics), and the lab recovers once it is off. Maps are read for the window since the switch, so
traffic from before it cannot pass a check."""
import json
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from labcli import compose as labcompose
from labcli.urls import published
from labtest.checkout import LAB, ROOT
from labtest.lab_http import get, poll, status_of, traffic

pytestmark = pytest.mark.e2e

HISTORY = "PetAdoptionsHistory"


def lab(*args, timeout=240):
    return subprocess.run([str(LAB), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def fault(*args):
    proc = lab("fault", *args)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


@pytest.fixture(scope="module")
def lab_urls(local_lab):
    cfg = labcompose.config("local")
    urls = {name: f"http://{published(cfg, name, port)}" for name, port in
            (("petsite-stub", 8000), ("pethistory", 8080), ("console", 8070), ("jaeger", 16686),
             ("prometheus", 9090))}
    fault("clear")
    yield urls
    lab("fault", "clear")


def since(t0):
    return f"{(time.time() - t0) / 60:.4f}"


def graph(t0):
    proc = lab("map", "--format", "json", "--minutes", since(t0))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    return ({n["name"]: n for n in data["nodes"]}, {(e["source"], e["target"]): e for e in data["edges"]})


def wait_graph(t0, check, what):
    """The map of the window since t0 once check(nodes, edges) holds (spans take a few seconds)."""
    def fetch():
        nodes, edges = graph(t0)
        return (nodes, edges) if check(nodes, edges) else None
    return poll(fetch, 60, interval_s=3, what=what)


def jaeger_spans(jaeger, service, t0):
    """[(span, process service name, trace)] of the traces of `service` started since t0."""
    now = time.time()
    _, data = get(f"{jaeger}/api/traces?service={service}&limit=200&lookback=custom"
                  f"&start={int(t0 * 1e6)}&end={int((now + 5) * 1e6)}", timeout=20)
    out = []
    for trace in data.get("data") or []:
        procs = {pid: p["serviceName"] for pid, p in trace["processes"].items()}
        out += [(span, procs[span["processID"]], trace) for span in trace["spans"]]
    return out


def tags(span):
    return {t["key"]: t["value"] for t in span.get("tags", [])}


def events(span):
    return [{f["key"]: f["value"] for f in log.get("fields", [])} for log in span.get("logs", [])]


def recovered(urls, t_off):
    """After `off`: PetSite answers 200 again and the window since t_off maps without faults."""
    poll(lambda: status_of(urls["petsite-stub"] + "/pethistory") == 200, 60, what="PetSite answering 200")
    t_ok = time.time()
    codes = traffic(urls["petsite-stub"], 3)
    assert set(codes) == {200}, codes
    nodes, edges = wait_graph(t_ok, lambda n, e: n.get(HISTORY, {}).get("requests"), "fresh spans after the fault")
    assert nodes[HISTORY]["faults"] == 0 and nodes["PetSite"]["faults"] == 0, nodes
    return nodes, edges


def states():
    """{fault: first word of its STATE} from `lab fault list`."""
    out = fault("list").stdout
    return dict(line.split()[:2] for line in out.splitlines()[1:] if line.strip() and not line.startswith("-"))


def test_list_shows_every_fault_off_with_what_it_breaks(lab_urls):
    assert states() == {name: "off" for name in ("db-slow", "history-5xx", "history-latency",
                                                 "petsite-timeout", "db-down", "collector-down")}


def test_db_slow_shows_on_the_database_edge_and_in_the_sql_spans(lab_urls):
    t0 = time.time()
    proc = fault("on", "db-slow", "--delay", "300")
    assert "adoptions" in proc.stderr   # where it shows
    assert "ON delay 300 ms" in proc.stdout.replace("rate 1, ", "")
    try:
        assert set(traffic(lab_urls["petsite-stub"], 6)) == {200}   # slow, not failing
        nodes, edges = wait_graph(t0, lambda n, e: (HISTORY, "adoptions") in e, "the database edge")
        assert edges[(HISTORY, "adoptions")]["latency_avg_ms"] >= 250, edges
        assert edges[("PetSite", HISTORY)]["latency_avg_ms"] >= 250, edges
        slow = [s for s, svc, _ in jaeger_spans(lab_urls["jaeger"], HISTORY, t0)
                if "db.system" in tags(s) and s["duration"] >= 250_000]
        assert slow, "no database span of 250 ms or more in Jaeger"
    finally:
        t_off = time.time()
        fault("off", "db-slow")
    _, edges = recovered(lab_urls, t_off)
    assert edges[(HISTORY, "adoptions")]["latency_avg_ms"] < 100, edges


def test_history_latency_shows_on_the_edge_not_on_the_service(lab_urls):
    t0 = time.time()
    fault("on", "history-latency", "--delay", "500")
    try:
        assert set(traffic(lab_urls["petsite-stub"], 6)) == {200}
        nodes, edges = wait_graph(t0, lambda n, e: ("PetSite", HISTORY) in e, "the PetSite edge")
        assert edges[("PetSite", HISTORY)]["latency_avg_ms"] >= 450, edges
        assert nodes[HISTORY]["latency_avg_ms"] < 200, nodes   # the service itself is fast
        spans = jaeger_spans(lab_urls["jaeger"], "PetSite", t0)
        by_id = {s["spanID"]: s for s, _, _ in spans}
        pairs = [(by_id[r["spanID"]], s) for s, svc, _ in spans if svc == HISTORY
                 for r in s.get("references", []) if r["spanID"] in by_id]
        assert any(client["duration"] >= 450_000 and server["duration"] < 200_000 for client, server in pairs), \
            "no trace whose PetSite client span is 450 ms longer than the history's server span"
    finally:
        t_off = time.time()
        fault("off", "history-latency")
    _, edges = recovered(lab_urls, t_off)
    assert edges[("PetSite", HISTORY)]["latency_avg_ms"] < 200, edges


def test_petsite_timeout_shows_faults_on_petsite_and_a_read_timeout(lab_urls):
    t0 = time.time()
    fault("on", "petsite-timeout")
    try:
        codes = traffic(lab_urls["petsite-stub"], 8, workers=3)   # each call waits out PetSite's timeouts
        assert codes and all(500 <= c < 600 for c in codes), codes
        nodes, edges = wait_graph(t0, lambda n, e: n.get("PetSite", {}).get("faults"), "faults on PetSite")
        assert edges[("PetSite", "pethistory-service")]["faults"] >= 1, edges
        assert (HISTORY, "adoptions") not in edges, edges   # the calls never reached the history
        clients = [s for s, svc, _ in jaeger_spans(lab_urls["jaeger"], "PetSite", t0)
                   if tags(s).get("span.kind") == "client"]
        assert any(e.get("event") == "exception" and "Read timed out" in e.get("exception.message", "")
                   for s in clients for e in events(s)), \
            [events(s) for s in clients][:3]
    finally:
        t_off = time.time()
        fault("off", "petsite-timeout")
    recovered(lab_urls, t_off)


def test_db_down_shows_faults_on_the_history_service(lab_urls):
    t0 = time.time()
    fault("on", "db-down")
    try:
        codes = traffic(lab_urls["petsite-stub"], 5, workers=2)
        assert codes and all(c >= 500 for c in codes), codes
        assert status_of(lab_urls["pethistory"] + "/health/status") == 503
        nodes, edges = wait_graph(t0, lambda n, e: n.get(HISTORY, {}).get("faults"), "faults on the history")
        assert edges[("PetSite", HISTORY)]["faults"] >= 1, edges
        db = edges.get((HISTORY, "adoptions"), {"requests": 0, "faults": 0})   # broken pooled connections
        assert db["faults"] == db["requests"], db
        statuses = {tags(s).get("http.status_code") for s, svc, _ in jaeger_spans(lab_urls["jaeger"], HISTORY, t0)
                    if svc == HISTORY and tags(s).get("span.kind") == "server"}
        assert 503 in statuses, statuses
    finally:
        t_off = time.time()
        fault("off", "db-down")
    recovered(lab_urls, t_off)


def test_collector_down_stops_every_trace_while_the_services_answer(lab_urls):
    fault("on", "collector-down")
    try:
        assert states()["collector-down"] == "ON"
        t0 = time.time()
        assert set(traffic(lab_urls["petsite-stub"], 4)) == {200}   # the services do not depend on it
        time.sleep(4)
        nodes, _ = graph(t0)
        assert not nodes.get("PetSite", {}).get("requests"), nodes
    finally:
        fault("off", "collector-down")
    assert states()["collector-down"] == "off"
    t_back = time.time()

    def traced_again():
        traffic(lab_urls["petsite-stub"], 2, workers=1)
        return graph(t_back)[0].get(HISTORY, {}).get("requests")
    poll(traced_again, 90, interval_s=1, what="traces again after collector-down off")


def test_history_5xx_shows_faults_an_exception_event_and_500s_in_the_metrics(lab_urls):
    def served_500s():
        _, data = get(lab_urls["prometheus"] + "/api/v1/query?query="
                      + urllib.request.quote('sum(flask_http_request_total{status="500"}) or vector(0)'))
        return float(data["data"]["result"][0]["value"][1])
    before = served_500s()
    t0 = time.time()
    fault("on", "history-5xx", "--rate", "1")
    try:
        time.sleep(3)   # the service re-reads the flag file within a second or two
        codes = traffic(lab_urls["petsite-stub"], 5, workers=2)
        assert codes and all(c >= 500 for c in codes[len(codes) // 2:]), codes
        nodes, edges = wait_graph(t0, lambda n, e: n.get(HISTORY, {}).get("faults"), "faults on the history")
        assert edges[("PetSite", HISTORY)]["faults"] >= 1, edges
        servers = [s for s, svc, _ in jaeger_spans(lab_urls["jaeger"], HISTORY, t0)
                   if svc == HISTORY and tags(s).get("span.kind") == "server" and tags(s).get("http.status_code") == 500]
        assert servers and tags(servers[0]).get("otel.status_code") == "ERROR", servers[:1]
        assert any(e.get("event") == "exception" for s in servers for e in events(s)), [events(s) for s in servers][:2]
        poll(lambda: served_500s() > before, 90, interval_s=5, what='a rise of flask_http_request_total{status="500"}')
    finally:
        t_off = time.time()
        fault("off", "history-5xx")
    time.sleep(3)
    recovered(lab_urls, t_off)


def test_console_switches_faults_and_refuses_what_it_cannot_do(lab_urls):
    console = lab_urls["console"]

    def post(path, body, ctype="application/json"):
        req = urllib.request.Request(console + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": ctype})
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                return resp.status, json.load(resp)
        except urllib.error.HTTPError as err:
            return err.code, json.load(err)

    assert post("/api/faults/db-slow", {"on": True}, ctype="text/plain")[0] == 415   # not JSON: refused
    code, body = post("/api/faults/nope", {"on": True})
    assert code == 404 and "db-slow" in body["message"]
    code, body = post("/api/faults/db-down", {"on": True, "rate": 0.5})
    assert code == 400 and "not --rate" in body["message"], body
    code, body = post("/api/faults/collector-down", {"on": True})
    assert code == 400 and "scripts/lab fault on collector-down" in body["message"]
    code, body = post("/api/faults/history-latency", {"on": True, "delay_ms": 120, "rate": 0.5})
    assert code == 200 and body["on"] and body["settings"] == {"rate": 0.5, "delay_ms": 120}, body
    page = urllib.request.urlopen(console + "/", timeout=30).read().decode()
    assert "data-fault='history-latency' data-on='true'" in page
    code, body = post("/api/faults/clear", {})
    assert code == 200 and not any(r["on"] for r in body["faults"] if r["on"] is not None), body


def test_lab_down_clears_every_fault(lab_urls):
    fault("on", "db-slow")
    fault("on", "history-5xx", "--rate", "0.3")
    assert lab("down").returncode == 0
    proc = lab("up", "--backend", "local", "--no-build", timeout=400)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert set(states().values()) == {"off"}
