"""`lab map`: the service map (CloudWatch ServiceLens / X-Ray style) from the lab's traces.

Nodes are services, the database and other remote resources, each with its requests, errors
(4xx), faults (5xx or error status) and latency; edges are calls between them. Built from:
  local     Jaeger's query API (/api/traces), one span tree per trace;
  emulated  the emulator's X-Ray segment documents (moto answers GetServiceGraph empty, so the
            graph is built here from GetTraceSummaries + BatchGetTraces);
  aws       X-Ray's GetServiceGraph.
The builders are pure functions over recorded JSON (tests/lab/fixtures).
"""
import json
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from xml.sax.saxutils import escape

from .compose import LabError
from .urls import table

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

def _tags(span):
    return {t["key"]: t["value"] for t in span.get("tags", [])}


def _status(tags):
    code = tags.get("http.status_code", tags.get("http.response.status_code"))
    try:
        return int(code) if code is not None else None
    except (TypeError, ValueError):
        return None


def _span_fault(tags):
    return tags.get("error") in (True, "true") or tags.get("otel.status_code") == "ERROR"


def _remote_target(graph, tags):
    """Node for a CLIENT span that has no child span in another service."""
    if "db.system" in tags:
        name = tags.get("db.name") or tags["db.system"]
        graph.node(name, DATABASE, tags["db.system"])
        return name
    name = (tags.get("peer.service") or tags.get("server.address") or tags.get("net.peer.name")
            or tags.get("http.host") or "remote")
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
            service, tags = procs.get(span["processID"], "?"), _tags(span)
            ms = span.get("duration", 0) / 1000.0
            parent = spans.get(parent_of.get(sid))
            parent_service = procs.get(parent["processID"]) if parent else None
            if parent is None or parent_service != service:   # entry span of a service
                graph.node(service).add(ms, _status(tags), _span_fault(tags))
                if parent is not None:
                    ptags = _tags(parent)
                    use = (parent, ptags) if ptags.get("span.kind") == "client" else (span, tags)
                    graph.edge(parent_service, service).add(use[0].get("duration", 0) / 1000.0,
                                                            _status(use[1]), _span_fault(use[1]))
            if tags.get("span.kind") == "client":
                if not any(procs.get(c["processID"]) != service for c in children[sid]):
                    target = _remote_target(graph, tags)
                    graph.nodes[target]["stats"].add(ms, _status(tags), _span_fault(tags))
                    graph.edge(service, target).add(ms, _status(tags), _span_fault(tags))
    return graph


def _flatten(doc, parent_id, out):
    item = dict(doc)
    if parent_id and "parent_id" not in item:
        item["parent_id"] = parent_id
        item["type"] = "subsegment"
    out[item["id"]] = item
    for sub in doc.get("subsegments", []) or []:
        _flatten(sub, item["id"], out)


def _seg_status(doc):
    status = ((doc.get("http") or {}).get("response") or {}).get("status")
    return status, bool(doc.get("fault")), bool(doc.get("error"))


def _seg_ms(doc):
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
            _flatten(doc, None, items)

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
                graph.node(item["name"]).add(_seg_ms(item), status, fault, error)
                caller = items.get(item.get("parent_id"))
                if caller is not None and owner(caller) not in (None, item["name"]):
                    cstatus, cfault, cerror = _seg_status(caller)
                    graph.edge(owner(caller), item["name"]).add(_seg_ms(caller), cstatus, cfault, cerror)
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
            graph.node(item["name"], kind, system).add(_seg_ms(item), status, fault, error)
            graph.edge(source, item["name"]).add(_seg_ms(item), status, fault, error)
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


# --- rendering -----------------------------------------------------------------------------

def to_table(graph):
    data = graph.as_dict()
    if not data["nodes"]:
        return "(no traces in this window: send traffic, e.g. scripts/lab load, or widen --minutes)"
    nodes = table([(n["name"], n["type"] + (f" ({n['system']})" if n.get("system") else ""), n["requests"],
                    n["errors"], n["faults"], f"{n['latency_avg_ms']:.1f}") for n in data["nodes"]],
                  headers=("NODE", "TYPE", "REQUESTS", "ERRORS(4xx)", "FAULTS(5xx)", "AVG ms"))
    edges = table([(f"{e['source']} -> {e['target']}", e["requests"], e["errors"], e["faults"],
                    f"{e['latency_avg_ms']:.1f}") for e in data["edges"]],
                  headers=("EDGE", "CALLS", "ERRORS(4xx)", "FAULTS(5xx)", "AVG ms"))
    return nodes + "\n\n" + edges


def _label(name, node):
    s = node["stats"].as_dict()
    return f"{name}\\n{s['requests']} req, {s['latency_avg_ms']:.1f} ms avg\\n{s['errors']} err, {s['faults']} fault"


def to_dot(graph):
    lines = ["digraph servicemap {", "  rankdir=LR;", '  node [shape=box, style="rounded,filled", fillcolor="#eef4fb", fontname="Helvetica"];']
    for name, node in sorted(graph.nodes.items()):
        shape = "cylinder" if node["type"] == DATABASE else "box"
        color = "#fde2e1" if node["stats"].faults else ("#eef4fb" if node["type"] == SERVICE else "#f3f0e8")
        lines.append(f'  "{name}" [label="{_label(name, node)}", shape={shape}, fillcolor="{color}"];')
    for (s, t), st in sorted(graph.edges.items()):
        d = st.as_dict()
        lines.append(f'  "{s}" -> "{t}" [label="{d["requests"]} calls\\n{d["latency_avg_ms"]:.1f} ms"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _layers(graph):
    """Longest-path layer of every node (callers left of callees); cycles are cut."""
    layer = {n: 0 for n in graph.nodes}
    for _ in range(len(graph.nodes)):
        changed = False
        for (s, t) in graph.edges:
            if s != t and layer[t] < layer[s] + 1 and layer[s] + 1 < len(graph.nodes):
                layer[t], changed = layer[s] + 1, True
        if not changed:
            break
    return layer


def to_svg(graph, title="Service map"):
    """A self-contained SVG (no fonts or scripts fetched): left-to-right layers, like dot."""
    W, H, GX, GY, M = 210, 74, 90, 30, 20
    layer = _layers(graph)
    columns = defaultdict(list)
    for name in sorted(graph.nodes):
        columns[layer[name]].append(name)
    pos = {}
    for col, names in columns.items():
        for row, name in enumerate(names):
            pos[name] = (M + col * (W + GX), M + 24 + row * (H + GY))
    width = M * 2 + max([c for c in columns] + [0]) * (W + GX) + W
    height = M * 2 + 24 + max([len(v) for v in columns.values()] + [1]) * (H + GY)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" role="img">',
           f"<title>{escape(title)}</title>",
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
           f'<text x="{M}" y="{M + 6}" font-size="14" font-weight="bold">{escape(title)}</text>']
    if not graph.nodes:
        out.append(f'<text x="{M}" y="{M + 40}" font-size="12">no traces in this window</text>')
    for (s, t), st in sorted(graph.edges.items()):
        (x1, y1), (x2, y2) = pos[s], pos[t]
        d = st.as_dict()
        ax, ay, bx, by = x1 + W, y1 + H / 2, x2, y2 + H / 2
        if layer[t] <= layer[s]:   # back edge / same layer: go under
            ax, ay, bx, by = x1 + W / 2, y1 + H, x2 + W / 2, y2 + H
        color = "#c0392b" if d["faults"] else "#555"
        out.append(f'<path class="edge" data-source="{escape(s)}" data-target="{escape(t)}" '
                   f'd="M{ax:.0f},{ay:.0f} C{(ax + bx) / 2:.0f},{ay:.0f} {(ax + bx) / 2:.0f},{by:.0f} {bx:.0f},{by:.0f}" '
                   f'fill="none" stroke="{color}" stroke-width="1.6" marker-end="url(#arrow)"/>')
        out.append(f'<text x="{(ax + bx) / 2:.0f}" y="{(ay + by) / 2 - 6:.0f}" font-size="10" text-anchor="middle" '
                   f'fill="#333">{d["requests"]} calls · {d["latency_avg_ms"]:.1f} ms</text>')
    for name, node in sorted(graph.nodes.items()):
        x, y = pos[name]
        s = node["stats"].as_dict()
        fill = "#fde2e1" if s["faults"] else ("#eef4fb" if node["type"] == SERVICE else "#f3f0e8")
        out.append(f'<g class="node" data-name="{escape(name)}" data-type="{escape(node["type"])}">')
        if node["type"] == DATABASE:
            out.append(f'<path d="M{x},{y + 8} v{H - 16} a{W / 2},8 0 0,0 {W},0 v-{H - 16} a{W / 2},8 0 0,0 -{W},0 '
                       f'a{W / 2},8 0 0,0 {W},0" fill="{fill}" stroke="#6b6b6b"/>')
        else:
            out.append(f'<rect x="{x}" y="{y}" width="{W}" height="{H}" rx="10" fill="{fill}" stroke="#4a6fa5"/>')
        kind = node["type"] + (f" · {node['system']}" if node.get("system") else "")
        out.append(f'<text x="{x + W / 2}" y="{y + 24}" font-size="13" font-weight="bold" text-anchor="middle">{escape(name)}</text>')
        out.append(f'<text x="{x + W / 2}" y="{y + 40}" font-size="10" text-anchor="middle" fill="#555">{escape(kind)}</text>')
        out.append(f'<text x="{x + W / 2}" y="{y + 56}" font-size="10" text-anchor="middle">{s["requests"]} req · '
                   f'{s["latency_avg_ms"]:.1f} ms · {s["errors"]} err · {s["faults"]} fault</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def render(graph, fmt):
    if fmt == "json":
        return json.dumps(graph.as_dict(), indent=2) + "\n"
    if fmt == "dot":
        return to_dot(graph)
    if fmt == "svg":
        return to_svg(graph)
    return to_table(graph) + "\n"


def cmd_map(args):
    from .endpoints import resolve
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
