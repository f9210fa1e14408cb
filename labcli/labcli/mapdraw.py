"""Drawing a service map (servicemap.Graph): a table, Graphviz DOT, a self-contained SVG, JSON."""
import json
from collections import defaultdict
from xml.sax.saxutils import escape

from .servicemap import DATABASE, SERVICE
from .urls import table


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
