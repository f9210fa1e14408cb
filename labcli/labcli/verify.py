"""`lab verify`: every signal, end to end, as a pass/fail table (non-zero exit on any failure).

  services  every container of the lab is running and healthy (names a stopped collector) and none
            was restarted by Docker (an emulator OOM-killed and restarted holds none of its data)
  trace     one request sent now (through PetSite when it runs, with a known trace id) reaches
            the trace backend with the service's server span, its custom span and a db span
  metrics   transactions_history_count and transactions_get_count_total are fresh, with
            pod_name and container_name (Prometheus; emulated/aws: the EMF events)
  emf       (emulated) EMF events in /metrics/PetAdoptionsHistory, namespace PetAdoptionsHistory
  map       the service map of the last minutes has PetSite, PetAdoptionsHistory and the
            database, with the edges PetSite -> PetAdoptionsHistory -> database
Each check is a fetch (one attempt -> (ok, detail)) that verify polls; `lab walkthrough`
(journey.py) runs the same fetches once.
"""
import json
import secrets
import sys
import time
import urllib.error
import urllib.request

from . import compose, servicemap, traceview
from .compose import LabError
from .endpoints import LOG_GROUP, NAMESPACE, get_json, resolve
from .urls import table

SERVICE = "PetAdoptionsHistory"
METRICS = ("transactions_history_count", "transactions_get_count_total")
API = "/petadoptionshistory/api/home/transactions"


class Check:
    def __init__(self, name):
        self.name, self.ok, self.detail = name, False, ""


def poll(fetch, seconds, interval=3):
    """fetch() -> (ok, detail); retried until ok or the deadline; returns the last result."""
    end = time.monotonic() + seconds
    while True:
        try:
            ok, detail = fetch()
        except LabError as err:
            ok, detail = False, str(err)
        if ok or time.monotonic() > end:
            return ok, detail
        time.sleep(interval)


def send_request(ep):
    """One traced GET of the history, through PetSite when it is published; returns the trace id."""
    trace_id = f"{int(time.time()):08x}{secrets.token_hex(12)}"
    parent = secrets.token_hex(8)
    headers = {"traceparent": f"00-{trace_id}-{parent}-01",
               "X-Amzn-Trace-Id": f"Root=1-{trace_id[:8]}-{trace_id[8:]};Parent={parent};Sampled=1"}
    urls = ([ep.petsite + "/pethistory"] if ep.petsite else []) + [ep.pethistory + API]
    for url in urls:   # PetSite first; pethistory directly when PetSite does not answer
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as resp:
                resp.read()
            return trace_id, url
        except (urllib.error.URLError, OSError) as err:
            last = f"request to {url} failed: {getattr(err, 'reason', err)}"
    raise LabError(last)


def check_services():
    down, containers = [], compose.containers()
    if not containers:
        return False, "the lab is not running (scripts/lab up)"
    for c in containers:
        state, health = c.get("State"), c.get("Health") or ""
        if state != "running" or health not in ("", "healthy"):
            down.append(f"{c.get('Service')} is {state}{'/' + health if health else ''}")
    if down:
        hint = "; start it: scripts/lab start " + down[0].split()[0]
        return False, "; ".join(down) + hint
    restarted = [f"{service} restarted {compose.restart_note(*fact)}"
                 for service, fact in sorted(compose.restarts(containers).items()) if compose.restart_note(*fact)]
    if restarted:
        return False, "; ".join(restarted) + ": what it held before is gone (scripts/lab logs SERVICE)"
    return True, "all running and healthy, none restarted"


def jaeger_spans(trace, trace_id):
    """(ok, detail) of one Jaeger trace: the service's server span, custom span and db span."""
    spans = trace["spans"]
    procs = {k: v["serviceName"] for k, v in trace["processes"].items()}
    mine = [s for s in spans if procs.get(s["processID"]) == SERVICE]
    tags = [{t["key"]: t["value"] for t in s.get("tags", [])} for s in mine]
    server = any(t.get("span.kind") == "server" for t in tags)
    custom = any(s["operationName"] in ("transactions_get", "transactions_delete") for s in mine)
    db = any(t.get("db.system") == "postgresql" for t in tags)
    missing = [n for n, ok in (("server span", server), ("custom span transactions_get", custom),
                               ("db span", db)) if not ok]
    if missing:
        return False, f"trace {trace_id}: missing {', '.join(missing)} of {SERVICE}"
    return True, f"trace {trace_id}: {len(spans)} spans ({', '.join(sorted(set(procs.values())))})"


def _jaeger_trace(ep, trace_id):
    def fetch():
        trace = traceview.jaeger_trace(ep.jaeger, trace_id)
        if trace is None:
            return False, f"trace {trace_id} not in Jaeger"
        return jaeger_spans(trace, trace_id)
    return fetch


def xray_segments(docs, xid):
    """(ok, detail) of one X-Ray trace's documents: the service's segment, custom and sql subsegments."""
    segs = [d for d in docs if d.get("name") == SERVICE and d.get("type") != "subsegment"]
    names = {d.get("name") for d in docs}
    db = any("sql" in d for d in docs)
    custom = bool(names & {"transactions_get", "transactions_delete"})
    missing = [n for n, ok in (("segment", segs), ("custom subsegment transactions_get", custom),
                               ("sql subsegment", db)) if not ok]
    if missing:
        return False, f"X-Ray trace {xid}: missing {', '.join(missing)} of {SERVICE}"
    return True, f"X-Ray trace {xid}: {len(docs)} documents"


def _xray_trace(ep, client, trace_id):
    xid = traceview.xray_id(trace_id)
    return lambda: xray_segments(client.segment_documents([xid]), xid)


def prometheus_metrics(ep):
    """A fetch: both metrics fresh in Prometheus with pod_name and container_name."""
    def fetch():
        found = []
        for name in METRICS:
            result = get_json(ep.prometheus, "/api/v1/query",
                              {"query": f'{name}{{container_name="pethistory"}}'})["data"]["result"]
            fresh = [r for r in result if r["metric"].get("pod_name") and time.time() - float(r["value"][0]) < 120]
            if not fresh:
                return False, f"{name} with pod_name/container_name not in Prometheus (collector scrape or export stopped?)"
            found.append(f"{name}={fresh[0]['value'][1]}")
        return True, ", ".join(found) + " (pod_name, container_name)"
    return fetch


def emf(client, window_s=90):
    """A fetch: EMF events of both metrics in the log group, namespace and dimensions set."""
    def fetch():
        events = client.log_events(LOG_GROUP, time.time() - window_s)
        docs = []
        for e in events:
            try:
                docs.append(json.loads(e["message"]))
            except ValueError:
                pass
        missing = []
        for name in METRICS:
            hits = [d for d in docs if name in d and d.get("pod_name") and d.get("container_name")
                    and any(dd.get("Namespace") == NAMESPACE for dd in d.get("_aws", {}).get("CloudWatchMetrics", []))]
            if not hits:
                missing.append(name)
        if missing:
            return False, (f"no EMF event with {', '.join(missing)} in {LOG_GROUP} in the last {window_s} s "
                           f"({len(events)} events; collector stopped?)")
        return True, f"{len(events)} EMF events in the last {window_s} s, namespace {NAMESPACE}, both metrics"
    return fetch


def service_map(ep, minutes):
    """A fetch: the map of the last minutes has PetSite -> PetAdoptionsHistory -> a database."""
    def fetch():
        graph = servicemap.collect(ep, minutes)
        dbs = [n for n, v in graph.nodes.items() if v["type"] == servicemap.DATABASE]
        missing = [n for n in ("PetSite", SERVICE) if n not in graph.nodes] + ([] if dbs else ["a database node"])
        edges = [("PetSite", SERVICE)] + [(SERVICE, d) for d in dbs[:1]]
        missing += [f"edge {s} -> {t}" for s, t in edges if (s, t) not in graph.edges]
        if missing:
            hint = " (no traffic through PetSite? scripts/lab load)" if "PetSite" in missing else ""
            return False, f"map of the last {minutes:g} min lacks {', '.join(missing)}{hint}"
        return True, f"PetSite -> {SERVICE} -> {dbs[0]} ({len(graph.nodes)} nodes, {len(graph.edges)} edges)"
    return fetch


def run_checks(ep, timeout=60, minutes=5, services=True):
    checks = []

    def record(name, ok_detail):
        c = Check(name)
        c.ok, c.detail = ok_detail
        checks.append(c)
        return c.ok

    if services:
        record("services", check_services())
    try:
        trace_id, url = send_request(ep)
    except LabError as err:
        record("request", (False, str(err)))
        return checks
    if ep.backend == "local":
        record("trace", poll(_jaeger_trace(ep, trace_id), timeout))
        record("metrics", poll(prometheus_metrics(ep), timeout))
    else:
        client = ep.aws_client()
        record("trace", poll(_xray_trace(ep, client, trace_id), timeout))
        record("metrics+emf", poll(emf(client), timeout))
    record("map", poll(service_map(ep, minutes), min(timeout, 30)))
    return checks


def cmd_verify(args):
    ep = resolve(args.backend)
    print(f"lab verify: backend {ep.backend}", file=sys.stderr)
    checks = run_checks(ep, args.timeout, args.minutes)
    print(table([(c.name, "PASS" if c.ok else "FAIL", c.detail) for c in checks], headers=("CHECK", "RESULT", "DETAIL")))
    failed = [c for c in checks if not c.ok]
    if failed:
        print(f"lab: verify failed: {'; '.join(f'{c.name}: {c.detail}' for c in failed)}", file=sys.stderr)
        return 1
    return 0


def add_parser(sub):
    p = sub.add_parser("verify", help="check every signal end to end (trace, metrics, EMF, map); non-zero on failure")
    p.add_argument("--timeout", type=float, default=60, help="seconds to wait for each signal (default 60)")
    p.add_argument("--minutes", type=float, default=5, help="window of the map check (default 5)")
    p.add_argument("--backend", choices=("local", "emulated", "aws"), help="default: the running lab's")
    p.set_defaults(func=cmd_verify)
