"""labcli.faults and the console's /api/faults against a real Toxiproxy (the lab's image, on
127.0.0.1 with host networking) and a flag file in a temporary directory; `lab fault`'s refusals
with no lab at all. The lab's own proxies (faults/toxiproxy.json) are the ones the faults name."""
import json
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer

import pytest

from labcli import console, faults
from labcli.compose import LabError
from labtest.checkout import LAB, ROOT
from labtest.lab_session import docker_engine_answers

pytestmark = pytest.mark.e2e   # needs Docker for the Toxiproxy image

PROXIES = json.loads((ROOT / "faults" / "toxiproxy.json").read_text())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def image():
    for line in (ROOT / ".env").read_text().splitlines():
        if line.startswith("TOXIPROXY_IMAGE="):
            return line.split("=", 1)[1]
    raise AssertionError(".env names no TOXIPROXY_IMAGE")


@pytest.fixture(scope="module")
def echo():
    """A TCP echo server on 127.0.0.1: the proxies' upstream."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=lambda c=conn: [c.sendall(d) for d in iter(lambda: c.recv(4096), b"")],
                             daemon=True).start()
    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


@pytest.fixture(scope="module")
def toxiproxy(echo):
    """The lab's Toxiproxy image with the lab's proxy names, listening on 127.0.0.1, forwarding to echo."""
    if not docker_engine_answers():
        pytest.skip("no Docker engine")
    api = free_port()
    name = f"petlab-test-toxiproxy-{api}"
    subprocess.run(["docker", "run", "-d", "--rm", "--name", name, "--network", "host", "--user", "10001:10001",
                    image(), "-host=127.0.0.1", f"-port={api}"], check=True, capture_output=True)
    url = f"http://127.0.0.1:{api}"
    try:
        for _ in range(50):
            try:
                urllib.request.urlopen(url + "/version", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        listen = {}
        for proxy in PROXIES:
            port = free_port()
            body = {"name": proxy["name"], "listen": f"127.0.0.1:{port}", "upstream": f"127.0.0.1:{echo}"}
            urllib.request.urlopen(urllib.request.Request(url + "/proxies", data=json.dumps(body).encode(),
                                                          headers={"Content-Type": "application/json"}), timeout=5)
            listen[proxy["name"]] = port
        yield url, listen
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


@pytest.fixture
def controller(toxiproxy, tmp_path):
    ctl = faults.Controller(toxiproxy[0], str(tmp_path / "flags.json"))
    ctl.clear()
    yield ctl
    ctl.clear()


def proxies(url):
    return json.load(urllib.request.urlopen(url + "/proxies", timeout=5))


def round_trip(port, payload=b"ping"):
    """Seconds for one echo through a proxy port (raises when the proxy refuses)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        start = time.monotonic()
        s.sendall(payload)
        got = s.recv(64)
        assert got == payload, got
        return time.monotonic() - start


def test_every_fault_names_a_proxy_the_lab_defines():
    names = {p["name"] for p in PROXIES}
    for fault in faults.FAULTS:
        assert (fault.proxy in names) == (fault.kind in ("toxic", "proxy")), fault


def test_a_latency_fault_adds_its_delay_and_off_removes_it(controller, toxiproxy):
    url, listen = toxiproxy
    row = controller.switch("db-slow", True, delay_ms=400)
    assert row["on"] and row["settings"] == {"rate": 1.0, "delay_ms": 400}
    (toxic,) = proxies(url)["pethistory-db"]["toxics"]
    assert (toxic["type"], toxic["stream"], toxic["attributes"]["latency"]) == ("latency", "downstream", 400)
    assert round_trip(listen["pethistory-db"]) >= 0.35
    assert round_trip(listen["pethistory-service"]) < 0.35   # the other link is untouched
    assert not controller.switch("db-slow", False)["on"]
    assert proxies(url)["pethistory-db"]["toxics"] == []


def test_on_again_replaces_the_toxic_with_the_new_settings(controller, toxiproxy):
    controller.switch("history-latency", True, delay_ms=100)
    row = controller.switch("history-latency", True, rate=0.5, delay_ms=250)
    assert row["settings"] == {"rate": 0.5, "delay_ms": 250}
    (toxic,) = proxies(toxiproxy[0])["pethistory-service"]["toxics"]
    assert toxic["toxicity"] == 0.5 and toxic["attributes"]["latency"] == 250


def test_petsite_timeout_holds_the_request_back(controller, toxiproxy):
    url, listen = toxiproxy
    controller.switch("petsite-timeout", True)
    (toxic,) = proxies(url)["pethistory-service"]["toxics"]
    assert (toxic["type"], toxic["stream"]) == ("timeout", "upstream")
    with socket.create_connection(("127.0.0.1", listen["pethistory-service"]), timeout=1.5) as s:
        s.sendall(b"ping")
        with pytest.raises(socket.timeout):
            s.recv(64)


def test_db_down_refuses_connections_until_off(controller, toxiproxy):
    url, listen = toxiproxy
    assert controller.switch("db-down", True)["on"]
    assert proxies(url)["pethistory-db"]["enabled"] is False
    with pytest.raises(OSError):
        round_trip(listen["pethistory-db"])
    controller.switch("db-down", False)
    assert round_trip(listen["pethistory-db"]) < 1


def test_the_flag_fault_writes_flagds_file_format(controller):
    row = controller.switch("history-5xx", True, rate=0.3)
    assert row["on"] and row["settings"] == {"rate": 0.3}
    with open(controller.flags_file) as f:
        doc = json.load(f)
    assert doc["$schema"] == faults.FLAGD_SCHEMA
    flag = doc["flags"][faults.FLAG]
    assert flag["state"] == "ENABLED" and flag["variants"][flag["defaultVariant"]] == 0.3
    controller.switch("history-5xx", False)
    with open(controller.flags_file) as f:
        flag = json.load(f)["flags"][faults.FLAG]
    assert flag["defaultVariant"] == "off" and flag["variants"]["off"] == 0.0


def test_clear_turns_everything_off(controller):
    controller.switch("db-slow", True)
    controller.switch("db-down", True)
    controller.switch("history-5xx", True)
    rows = controller.clear()
    assert [r["name"] for r in rows if r["on"]] == []
    assert {r["name"]: r["on"] for r in rows}["collector-down"] is None   # only Docker knows


@pytest.mark.parametrize("name,rate,delay,message", [
    ("db-slow", 0, None, "--rate must be"),
    ("db-slow", 1.5, None, "--rate must be"),
    ("db-slow", "half", None, "--rate must be"),
    ("db-slow", True, None, "--rate must be"),
    ("db-slow", None, -1, "--delay must be"),
    ("db-slow", None, 60001, "--delay must be"),
    ("db-slow", None, 1.5, "--delay must be"),
    ("db-down", 0.5, None, "takes no options, not --rate"),
    ("history-5xx", None, 100, "takes --rate, not --delay"),
    ("petsite-timeout", None, 100, "takes --rate, not --delay"),
])
def test_bad_settings_are_refused_with_a_message(name, rate, delay, message):
    with pytest.raises(faults.FaultError, match=message):
        faults.settings(faults.lookup(name), rate, delay)


def test_unknown_fault_names_the_known_ones():
    with pytest.raises(faults.FaultError, match="one of: db-slow, history-5xx"):
        faults.lookup("db-slwo")


def test_toxiproxy_not_answering_is_one_line(tmp_path):
    ctl = faults.Controller(f"http://127.0.0.1:{free_port()}", str(tmp_path / "flags.json"))
    with pytest.raises(LabError, match="does not answer"):
        ctl.status()


# --- the console's API ------------------------------------------------------------------------

@pytest.fixture
def console_url(toxiproxy, tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_TOXIPROXY_URL", toxiproxy[0])
    monkeypatch.setenv("LAB_FLAGS_FILE", str(tmp_path / "flags.json"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), console.Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    faults.Controller.from_env().clear()
    server.shutdown()


def post(url, data, ctype="application/json"):
    req = urllib.request.Request(url, data=data if isinstance(data, bytes) else json.dumps(data).encode(),
                                 method="POST", headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


@pytest.mark.parametrize("path,data,ctype,code,message", [
    ("/api/faults/db-slow", {"on": True}, "text/plain", 415, "send JSON"),
    ("/api/faults/db-slow", b"{not json", "application/json", 400, "not JSON"),
    ("/api/faults/db-slow", {"on": "yes"}, "application/json", 400, '{"on": true|false}'),
    ("/api/faults/db-slow", {"on": True, "latency": 3}, "application/json", 400, '{"on": true|false}'),
    ("/api/faults/db-slow", {"on": True, "rate": 2}, "application/json", 400, "--rate must be"),
    ("/api/faults/db-slow", {"on": False, "rate": 0.5}, "application/json", 400, "go with 'on'"),
    ("/api/faults/nope", {"on": True}, "application/json", 404, "unknown fault 'nope'"),
    ("/api/faults/collector-down", {"on": True}, "application/json", 400, "scripts/lab fault on collector-down"),
    ("/api/other", {}, "application/json", 404, "no such route"),
])
def test_console_refuses_bad_requests_with_a_json_message(console_url, path, data, ctype, code, message):
    got, body = post(console_url + path, data, ctype)
    assert (got, message in body["message"]) == (code, True), body


def test_console_switches_a_fault_and_lists_it(console_url, toxiproxy):
    code, row = post(console_url + "/api/faults/history-latency", {"on": True, "delay_ms": 150})
    assert code == 200 and row["on"] and row["settings"]["delay_ms"] == 150
    listed = json.load(urllib.request.urlopen(console_url + "/api/faults", timeout=10))["faults"]
    assert {r["name"]: r["on"] for r in listed}["history-latency"] is True
    assert proxies(toxiproxy[0])["pethistory-service"]["toxics"][0]["attributes"]["latency"] == 150
    code, body = post(console_url + "/api/faults/clear", {})
    assert code == 200 and not any(r["on"] for r in body["faults"])


def test_console_says_when_toxiproxy_does_not_answer(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_TOXIPROXY_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("LAB_FLAGS_FILE", str(tmp_path / "flags.json"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), console.Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        code, body = post(f"http://127.0.0.1:{server.server_address[1]}/api/faults/db-slow", {"on": True})
        assert code == 502 and "does not answer" in body["message"]
    finally:
        server.shutdown()


def test_a_console_without_the_drills_says_they_are_compose_only(monkeypatch):
    """kind's console sets neither variable: the page and the API say where the drills are
    instead of failing on a Toxiproxy address it was never given."""
    monkeypatch.delenv("LAB_TOXIPROXY_URL", raising=False)
    monkeypatch.delenv("LAB_FLAGS_FILE", raising=False)
    monkeypatch.setenv("LAB_OBSERVE_BACKEND", "aws")
    server = ThreadingHTTPServer(("127.0.0.1", 0), console.Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        code, body = post(base + "/api/faults/db-slow", {"on": True})
        assert code == 501 and "compose lab only" in body["message"]
        with pytest.raises(urllib.error.HTTPError) as listed:
            urllib.request.urlopen(base + "/api/faults", timeout=10)
        assert listed.value.code == 501 and "compose lab only" in json.load(listed.value)["message"]
        page = urllib.request.urlopen(base + "/", timeout=10).read().decode()
        section = page.split("id='faults-panel'")[1].split("</section>")[0]
        assert "compose lab only" in section and "class='error'" not in section
    finally:
        server.shutdown()


# --- `lab fault`'s refusals, before it asks anything --------------------------------------------

@pytest.mark.parametrize("args,message", [
    (["on"], "lab fault on NAME (one of: db-slow"),
    (["off"], "lab fault off NAME"),
    (["list", "db-slow"], "lab fault list takes no fault name"),
    (["clear", "--rate", "0.5"], "takes no --rate or --delay"),
    (["on", "nope"], "unknown fault 'nope'"),
    (["on", "db-down", "--rate", "0.5"], "takes no options, not --rate"),
    (["on", "db-slow", "--rate", "2"], "--rate must be"),
    (["off", "db-slow", "--delay", "5"], "go with 'on'"),
    (["on", "collector-down", "--delay", "5"], "takes no options, not --delay"),
])
def test_lab_fault_refuses_bad_input_in_one_line(args, message):
    proc = subprocess.run([str(LAB), "fault", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    (line,) = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and line.startswith("lab: error: ") and message in line, proc.stderr
