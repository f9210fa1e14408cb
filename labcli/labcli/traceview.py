"""`lab trace [TRACE_ID]`: one trace as a tree (the blog's trace of PetSite's "clear history",
the `transactions_delete` span): service, operation, duration, status and the database
statement of every span.

  local         Jaeger's query API (/api/traces): spans and their CHILD_OF references;
  emulated/aws  X-Ray's segment documents (GetTraceSummaries + BatchGetTraces): segments,
                their subsegments (nested or sent apart) and the parent_id links between them.
Status is OK, ERROR or FAULT as X-Ray marks a segment (error: 4xx, fault: 5xx); Jaeger has one
mark, the error tag or otel.status_code=ERROR, shown as ERROR.
Without TRACE_ID the newest trace of the window with a span (subsegment) named --operation is
shown. Ids are accepted in either form, W3C (32 hex) or X-Ray (1-8hex-24hex), on every backend.
"""
import json
import re
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field

from .awsapi import aws_errors
from .compose import LabError
from .endpoints import get_json
from .servicemap import flatten_segments, seg_ms, span_fault, span_tags

SERVICE = "PetAdoptionsHistory"
OPERATION = "transactions_delete"
SCAN_LIMIT = 500   # X-Ray: newest traces read while looking for --operation
STATEMENT_WIDTH = 100
_W3C = re.compile(r"^[0-9a-f]{32}$")
_XRAY = re.compile(r"^1-([0-9a-f]{8})-([0-9a-f]{24})$")


@dataclass
class SpanNode:
    service: str
    operation: str
    duration_ms: float
    status: str                  # OK | ERROR | FAULT
    statement: str | None = None  # the database statement of a database span
    children: list = field(default_factory=list)


def w3c_id(trace_id):
    """A trace id in either form -> 32 lower-case hex; LabError when it is neither."""
    tid = (trace_id or "").strip().lower()
    m = _XRAY.match(tid)
    if m:
        return m.group(1) + m.group(2)
    if _W3C.match(tid):
        return tid
    raise LabError(f"trace id {trace_id!r}: use 32 hex digits (W3C) or 1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy (X-Ray)")


def xray_id(trace_id):
    tid = w3c_id(trace_id)
    return f"1-{tid[:8]}-{tid[8:]}"


def _http_operation(method, url, fallback):
    """'METHOD /path' from a method and a URL (or path); fallback when there is no method."""
    if not method:
        return fallback
    path = re.sub(r"^[a-z]+://[^/]*", "", url or "", flags=re.I).split("?")[0]
    return f"{method} {path}" if path else method


def _statement_verb(statement, fallback):
    words = (statement or "").split()
    return words[0].upper() if words else fallback


# --- Jaeger ---------------------------------------------------------------------------------

def tree_from_jaeger(trace):
    """One trace of Jaeger's /api/traces `data` -> root SpanNodes, children by start time."""
    procs = {pid: p["serviceName"] for pid, p in trace.get("processes", {}).items()}
    spans = {s["spanID"]: s for s in trace.get("spans", [])}
    children, roots = defaultdict(list), []
    for span in sorted(spans.values(), key=lambda s: s.get("startTime", 0)):
        parent = next((r["spanID"] for r in span.get("references", []) if r.get("refType") == "CHILD_OF"), None)
        (children[parent] if parent in spans else roots).append(span)

    def node(span):
        tags = span_tags(span)
        service, operation = procs.get(span.get("processID"), "?"), span.get("operationName", "?")
        statement = tags.get("db.statement", tags.get("db.query.text"))
        if "db.system" in tags:   # the database is the node, as in X-Ray (a subsegment named after it)
            service = tags.get("db.name") or tags["db.system"]
        elif " " not in operation:   # an HTTP span named by its method only: add the path
            url = tags.get("http.url", tags.get("url.full", tags.get("http.target", tags.get("url.path"))))
            operation = _http_operation(tags.get("http.method", tags.get("http.request.method")), url, operation)
        return SpanNode(service, operation, span.get("duration", 0) / 1000.0,
                        "ERROR" if span_fault(tags) else "OK", statement,
                        [node(c) for c in children[span["spanID"]]])
    return [node(s) for s in roots]


def jaeger_find(jaeger, operation, start, end, service=SERVICE):
    params = {"service": service, "operation": operation, "start": int(start * 1e6), "end": int(end * 1e6),
              "limit": 20, "lookback": "custom"}
    traces = get_json(jaeger, "/api/traces", params).get("data") or []
    if not traces:
        return None
    newest = max(traces, key=lambda t: min((s["startTime"] for s in t["spans"]), default=0))
    return newest["traceID"]


def jaeger_trace(jaeger, trace_id):
    try:
        data = get_json(jaeger, f"/api/traces/{w3c_id(trace_id)}").get("data") or []
    except LabError as err:
        if "HTTP 404" in str(err):
            return None
        raise
    return data[0] if data else None


# --- X-Ray ----------------------------------------------------------------------------------

def _xray_status(item):
    if item.get("fault"):
        return "FAULT"
    return "ERROR" if item.get("error") or item.get("throttle") else "OK"


def tree_from_segments(docs):
    """X-Ray segment documents of one trace (parsed) -> root SpanNodes, children by start time.
    A segment is its service's node; a subsegment is a node of the segment it belongs to,
    except an `sql` one, which is the database's (named as X-Ray names it)."""
    items = {}
    for doc in docs:
        flatten_segments(doc, None, items)
    children, roots = defaultdict(list), []
    for item in sorted(items.values(), key=lambda i: i.get("start_time", 0)):
        (children[item["parent_id"]] if item.get("parent_id") in items else roots).append(item)

    def node(item, owner):
        request = (item.get("http") or {}).get("request") or {}
        sql = item.get("sql") or {}
        statement = sql.get("sanitized_query")
        if item.get("type") != "subsegment":
            owner = item["name"]
            service, operation = owner, _http_operation(request.get("method"), request.get("url"), item["name"])
        elif sql:
            service, operation = item["name"], _statement_verb(statement, item["name"])
        else:
            service, operation = owner, _http_operation(request.get("method"), request.get("url"), item["name"])
        return SpanNode(service, operation, seg_ms(item), _xray_status(item), statement,
                        [node(c, owner) for c in children[item["id"]]])
    return [node(i, i["name"]) for i in roots]


def _operation_in(docs, operation):
    items = {}
    for doc in docs:
        flatten_segments(doc, None, items)
    return any(i.get("name") == operation for i in items.values())


def xray_find(client, operation, start, end):
    """The newest trace of [start, end] with a (sub)segment named operation: ids newest first
    (an X-Ray id starts with its epoch seconds), read five at a time."""
    ids = sorted(set(client.trace_ids(start, end)), key=lambda i: i.split("-")[1], reverse=True)[:SCAN_LIMIT]
    for i in range(0, len(ids), 5):
        docs = client.segment_documents(ids[i:i + 5])
        found = [d for d in docs if d.get("trace_id") and _operation_in([d], operation)]
        if found:
            return max(found, key=lambda d: d.get("start_time", 0))["trace_id"]
    return None


# --- the two calls other modules use ----------------------------------------------------------

def find_trace(ep, operation=OPERATION, minutes=15):
    """Id of the newest trace of the last minutes with a span named operation, or None."""
    end = time.time()
    start = end - minutes * 60
    if ep.backend == "local":
        return jaeger_find(_jaeger(ep), operation, start, end)
    with aws_errors("X-Ray"):
        return xray_find(ep.aws_client(), operation, start, end)


def tree(ep, trace_id):
    """Root SpanNodes of one trace ([] when the backend does not have it)."""
    if ep.backend == "local":
        trace = jaeger_trace(_jaeger(ep), trace_id)
        return tree_from_jaeger(trace) if trace else []
    with aws_errors("X-Ray"):
        return tree_from_segments(ep.aws_client().segment_documents([xray_id(trace_id)]))


def _jaeger(ep):
    if not ep.jaeger:
        raise LabError("Jaeger is not published (is the lab up with --backend local?)")
    return ep.jaeger


# --- drawing ----------------------------------------------------------------------------------

def walk(nodes):
    for n in nodes:
        yield n
        yield from walk(n.children)


def _one_line(statement):
    text = " ".join(statement.split())
    return text if len(text) <= STATEMENT_WIDTH else text[:STATEMENT_WIDTH - 1] + "…"


def draw(roots):
    """Indented lines with box-drawing connectors, one per span."""
    lines = []

    def line(n, lead, branch):
        cells = [n.service, n.operation, f"{n.duration_ms:.1f} ms", n.status]
        if n.statement:
            cells.append(_one_line(n.statement))
        lines.append(lead + branch + "  ".join(cells))
        below = lead + ("   " if branch == "└─ " else "│  " if branch else "")
        for i, c in enumerate(n.children):
            line(c, below, "└─ " if i == len(n.children) - 1 else "├─ ")

    for root in roots:
        line(root, "", "")
    return "\n".join(lines)


def header(trace_id, backend, roots):
    spans = sum(1 for _ in walk(roots))
    total = max((r.duration_ms for r in roots), default=0.0)
    return f"trace {trace_id} (backend {backend}, {spans} spans, {total:.1f} ms)"


def _not_found_hint(operation, minutes, petsite):
    site = (petsite or "http://127.0.0.1:8000").rstrip("/")
    return (f"no trace with {operation} in the last {minutes:g} min: clear the history through PetSite "
            f"(curl -X DELETE {site}/pethistory/deletepetadoptionshistory) or scripts/lab load")


def cmd_traceview(args):
    from .endpoints import resolve
    if args.trace_id:
        w3c_id(args.trace_id)   # a malformed id fails before any backend is asked
    if args.minutes <= 0:
        raise LabError("--minutes must be more than 0")
    ep = resolve(args.backend)
    trace_id = args.trace_id or find_trace(ep, args.operation, args.minutes)
    if trace_id is None:
        raise LabError(_not_found_hint(args.operation, args.minutes, ep.petsite))
    shown = w3c_id(trace_id) if ep.backend == "local" else xray_id(trace_id)
    roots = tree(ep, trace_id)
    if not roots:
        raise LabError(f"trace {shown} is not in the {ep.backend} backend (yet: traces arrive within seconds; "
                       f"or it is older than the backend keeps)")
    if args.format == "json":
        print(json.dumps({"trace_id": shown, "backend": ep.backend, "spans": sum(1 for _ in walk(roots)),
                          "duration_ms": max(r.duration_ms for r in roots), "roots": [asdict(r) for r in roots]},
                         indent=2))
    else:
        print(header(shown, ep.backend, roots))
        print(draw(roots))
    return 0


def add_parser(sub):
    p = sub.add_parser("trace", help=f"one trace as a tree (default: the newest with {OPERATION}, PetSite's clear history)")
    p.add_argument("trace_id", nargs="?", metavar="TRACE_ID", help="W3C (32 hex) or X-Ray (1-xxxxxxxx-yyyy...) id")
    p.add_argument("--operation", default=OPERATION,
                   help=f"without TRACE_ID: the newest trace with a span of this name (default {OPERATION})")
    p.add_argument("--minutes", type=float, default=15, help="window searched without TRACE_ID (default 15)")
    p.add_argument("--format", choices=("tree", "json"), default="tree")
    p.add_argument("--backend", choices=("local", "emulated", "aws"), help="default: the running lab's")
    p.set_defaults(func=cmd_traceview)
