"""`lab map`: the service map (CloudWatch ServiceLens / X-Ray style) from the lab's traces.

Nodes are services, the database and other remote resources, each with its requests, errors
(4xx), faults (5xx or error status) and latency; edges are calls between them. Built from:
  local     Jaeger's query API (/api/traces), one span tree per trace;
  emulated  the emulator's X-Ray segment documents (moto answers GetServiceGraph empty, so the
            graph is built here from GetTraceSummaries + BatchGetTraces);
  aws       X-Ray's GetServiceGraph.
The builders are pure functions over recorded JSON (tests/lab/fixtures); mapdraw.py draws the
result.
"""
import shutil
import subprocess
import sys
import time
import urllib.parse
from collections import defaultdict

from .compose import LabError

DATABASE, SERVICE, REMOTE = "database", "service", "remote"


class Stats:
    def __init__(self):
        self.count = self.errors = self.faults = 0
        self.total_ms = self.max_ms = 0.0

    def add(self, duration_ms, status=None, fault=False, error=False, count=1):
        self.count += count
        self.total_ms += duration_ms
        self.max_ms = max(self.max_ms, duration_ms / max(count, 1))
        if fault or (status is not None and status >= 500):
            self.faults += count
        elif error or (status is not None and 400 <= status < 500):
            self.errors += count

    def as_dict(self):
        avg = self.total_ms / self.count if self.count else 0.0
        return {"requests": self.count, "errors": self.errors, "faults": self.faults,
                "latency_avg_ms": round(avg, 2), "latency_max_ms": round(self.max_ms, 2)}


class Graph:
    def __init__(self):
        self.nodes = {}   # name -> {"type", "system", "stats"}
        self.edges = defaultdict(Stats)

    def node(self, name, kind=SERVICE, system=None):
        entry = self.nodes.setdefault(name, {"type": kind, "system": system, "stats": Stats()})
        if kind != SERVICE and entry["type"] == SERVICE and not entry["stats"].count:
            entry.update(type=kind, system=system)
        return entry["stats"]

    def edge(self, source, target):
        self.node(source)
        return self.edges[(source, target)]

    def as_dict(self):
        return {
            "nodes": [{"name": n, "type": v["type"], **({"system": v["system"]} if v["system"] else {}),
                       **v["stats"].as_dict()} for n, v in sorted(self.nodes.items())],
            "edges": [{"source": s, "target": t, **st.as_dict()} for (s, t), st in sorted(self.edges.items())],
        }


# --- builders ------------------------------------------------------------------------------

def span_tags(span):
    return {t["key"]: t["value"] for t in span.get("tags", [])}


def _status(tags):
    code = tags.get("http.status_code", tags.get("http.response.status_code"))
    try:
        return int(code) if code is not None else None
    except (TypeError, ValueError):
        return None


def span_fault(tags):
    return tags.get("error") in (True, "true") or tags.get("otel.status_code") == "ERROR"


def _remote_target(graph, tags):
    """Node for a CLIENT span that has no child span in another service."""
    if "db.system" in tags:
        name = tags.get("db.name") or tags["db.system"]
        graph.node(name, DATABASE, tags["db.system"])
        return name
    url = tags.get("url.full") or tags.get("http.url") or ""
    # The requests instrumentation's client spans name the host only inside the URL.
    name = (tags.get("peer.service") or tags.get("server.address") or tags.get("net.peer.name")
            or tags.get("http.host") or urllib.parse.urlsplit(url).hostname or "remote")
    graph.node(name, REMOTE)
    return name


def graph_from_jaeger(traces):
    """Jaeger /api/traces `data` (a list of traces) -> Graph."""
    graph = Graph()
    for trace in traces:
        procs = {pid: p["serviceName"] for pid, p in trace.get("processes", {}).items()}
        spans = {s["spanID"]: s for s in trace.get("spans", [])}
        children = defaultdict(list)
        parent_of = {}
        for span in spans.values():
            refs = [r["spanID"] for r in span.get("references", []) if r.get("refType") == "CHILD_OF"]
            if refs and refs[0] in spans:
                parent_of[span["spanID"]] = refs[0]
                children[refs[0]].append(span)
        for sid, span in spans.items():
            service, tags = procs.get(span["processID"], "?"), span_tags(span)
            ms = span.get("duration", 0) / 1000.0
            parent = spans.get(parent_of.get(sid))
            parent_service = procs.get(parent["processID"]) if parent else None
            if parent is None or parent_service != service:   # entry span of a service
                graph.node(service).add(ms, _status(tags), span_fault(tags))
                if parent is not None:
                    ptags = span_tags(parent)
                    use = (parent, ptags) if ptags.get("span.kind") == "client" else (span, tags)
                    graph.edge(parent_service, service).add(use[0].get("duration", 0) / 1000.0,
                                                            _status(use[1]), span_fault(use[1]))
            if tags.get("span.kind") == "client":
                if not any(procs.get(c["processID"]) != service for c in children[sid]):
                    target = _remote_target(graph, tags)
                    graph.nodes[target]["stats"].add(ms, _status(tags), span_fault(tags))
                    graph.edge(service, target).add(ms, _status(tags), span_fault(tags))
    return graph


def flatten_segments(doc, parent_id, out):
    item = dict(doc)
    if parent_id and "parent_id" not in item:
        item["parent_id"] = parent_id
        item["type"] = "subsegment"
    out[item["id"]] = item
    for sub in doc.get("subsegments", []) or []:
        flatten_segments(sub, item["id"], out)


def _seg_status(doc):
    status = ((doc.get("http") or {}).get("response") or {}).get("status")
    return status, bool(doc.get("fault")), bool(doc.get("error"))


def seg_ms(doc):
    return max(0.0, (doc.get("end_time", doc.get("start_time", 0)) - doc.get("start_time", 0)) * 1000.0)


def graph_from_segments(docs):
    """X-Ray segment documents (BatchGetTraces `Document`s, parsed) -> Graph.
    Segments are services; subsegments with namespace remote/aws or an `sql` block are calls;
    a call whose id is the parent_id of another service's segment is an edge to that service,
    otherwise an edge to a leaf node (the database for `sql`)."""
    graph, items = Graph(), {}
    by_trace = defaultdict(list)
    for doc in docs:
        by_trace[doc.get("trace_id")].append(doc)
    for trace_docs in by_trace.values():
        items = {}
        for doc in trace_docs:
            flatten_segments(doc, None, items)

        def owner(item, depth=0):
            while item is not None and item.get("type") == "subsegment" and depth < 100:
                item, depth = items.get(item.get("parent_id")), depth + 1
            return item["name"] if item is not None else None

        segment_children = defaultdict(list)
        for item in items.values():
            if item.get("type") != "subsegment" and item.get("parent_id"):
                segment_children[item["parent_id"]].append(item)
        for item in items.values():
            status, fault, error = _seg_status(item)
            if item.get("type") != "subsegment":
                graph.node(item["name"]).add(seg_ms(item), status, fault, error)
                caller = items.get(item.get("parent_id"))
                if caller is not None and owner(caller) not in (None, item["name"]):
                    cstatus, cfault, cerror = _seg_status(caller)
                    graph.edge(owner(caller), item["name"]).add(seg_ms(caller), cstatus, cfault, cerror)
                continue
            is_call = item.get("namespace") in ("remote", "aws", "sql") or "sql" in item
            if not is_call or segment_children.get(item["id"]):
                continue
            source = owner(item)
            if source is None:
                continue
            if "sql" in item or item.get("namespace") == "sql":
                kind, system = DATABASE, (item.get("sql") or {}).get("database_type")
            else:
                kind, system = (("AWS::" + item["name"]) if item.get("namespace") == "aws" else REMOTE), None
            graph.node(item["name"], kind, system).add(seg_ms(item), status, fault, error)
            graph.edge(source, item["name"]).add(seg_ms(item), status, fault, error)
    return graph


def _summary(stats, summary):
    count = summary.get("TotalCount", 0) or 0
    if count:
        stats.add((summary.get("TotalResponseTime", 0) or 0) * 1000.0, count=count)
        stats.errors += (summary.get("ErrorStatistics") or {}).get("TotalCount", 0) or 0
        stats.faults += (summary.get("FaultStatistics") or {}).get("TotalCount", 0) or 0


def graph_from_service_graph(services):
    """X-Ray GetServiceGraph `Services` -> Graph."""
    graph = Graph()
    names = {s["ReferenceId"]: s.get("Name", "?") for s in services}
    for svc in services:
        stype = svc.get("Type", "")
        if stype == "client":     # X-Ray's "Clients" node: callers without a segment
            continue
        kind = (DATABASE if stype.startswith("Database") or stype.startswith("AWS::RDS")
                else REMOTE if stype == "remote" else SERVICE)
        _summary(graph.node(names[svc["ReferenceId"]], kind, stype or None), svc.get("SummaryStatistics") or {})
        for edge in svc.get("Edges", []):
            target = names.get(edge.get("ReferenceId"))
            if target:
                _summary(graph.edge(names[svc["ReferenceId"]], target), edge.get("SummaryStatistics") or {})
    return graph


# --- collection ----------------------------------------------------------------------------

def jaeger_traces(jaeger, start, end, limit=300):
    from .endpoints import get_json
    services = get_json(jaeger, "/api/services").get("data") or []
    seen = {}
    for service in services:
        if service in ("jaeger", "jaeger-all-in-one"):
            continue
        params = {"service": service, "start": int(start * 1e6), "end": int(end * 1e6),
                  "limit": limit, "lookback": "custom"}
        for trace in get_json(jaeger, "/api/traces", params).get("data") or []:
            seen[trace["traceID"]] = trace
    return list(seen.values())


def collect(ep, minutes, limit=300):
    end = time.time()
    start = end - minutes * 60
    if ep.backend == "local":
        if not ep.jaeger:
            raise LabError("Jaeger is not published (is the lab up with --backend local?)")
        return graph_from_jaeger(jaeger_traces(ep.jaeger, start, end, limit))
    client = ep.aws_client()
    if ep.backend == "emulated":
        ids = client.trace_ids(start, end)[-limit:]
        return graph_from_segments(client.segment_documents(ids))
    return graph_from_service_graph(client.service_graph(start, end))


def cmd_map(args):
    from .endpoints import resolve
    from .mapdraw import render  # mapdraw reads this module's node kinds

    ep = resolve(args.backend)
    graph = collect(ep, args.minutes)
    text = render(graph, args.format)
    if args.output and args.format == "dot" and not args.output.endswith(".dot"):
        kind = args.output.rsplit(".", 1)[-1]
        if shutil.which("dot"):
            subprocess.run(["dot", f"-T{kind}", "-o", args.output], input=text, text=True, check=True)
            print(f"lab: wrote {args.output} (graphviz)", file=sys.stderr)
            return 0
        args.output += ".dot"
        print(f"lab: graphviz is not installed (apt-get install -y graphviz); wrote the DOT text to {args.output} "
              f"(or use --format svg, which needs nothing)", file=sys.stderr)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
        print(f"lab: wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
        if args.format == "dot" and not shutil.which("dot") and sys.stdout.isatty():
            print("# render it: apt-get install -y graphviz; scripts/lab map --format dot | dot -Tsvg > map.svg",
                  file=sys.stderr)
    return 0


def add_parser(sub):
    p = sub.add_parser("map", help="the service map (nodes, edges, database) from recent traces")
    p.add_argument("--minutes", type=float, default=15, help="window of traces to read (default 15)")
    p.add_argument("--format", choices=("table", "json", "dot", "svg"), default="table")
    p.add_argument("--output", "-o", help="write to this file (with --format dot and a .svg/.png name: rendered by graphviz)")
    p.add_argument("--backend", choices=("local", "emulated", "aws"), help="default: the running lab's")
    p.set_defaults(func=cmd_map)
