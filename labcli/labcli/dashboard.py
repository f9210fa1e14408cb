"""`lab dashboard`: the walkthrough's CloudWatch dashboard, kept in labcli/dashboards/ (package
data; the repository's dashboards/petadoptionshistory.json links to it).

  aws, emulated  PutDashboard (name PetAdoptionsHistory) with the file's body, region filled in.
  local          the same metric widgets drawn from Prometheus: sparklines in the terminal,
                 or --html FILE for a page of inline SVG charts.
Widgets name metrics by SEARCH expressions over {PetAdoptionsHistory,container_name,pod_name},
so the dashboard works for any pod name (EKS pods, or the compose service name).
"""
import json
import re
import sys
import time
from html import escape
from pathlib import Path

from .charts import sparkline, svg_line_chart
from .compose import LabError

DASHBOARD_FILE = "petadoptionshistory.json"  # in the package's dashboards/
DASHBOARD_NAME = "PetAdoptionsHistory"
SEARCH_METRIC = re.compile(r'MetricName="([^"]+)"')

# The PromQL that draws each CloudWatch metric (by metric name and statistic) in the local lab.
# Counters become per-minute increases, as EMF's deltas summed per 60 s period.
PROMQL = {
    ("transactions_history_count", "Maximum"): 'max by (pod_name) (transactions_history_count{container_name="pethistory"})',
    ("transactions_get_count_total", "Sum"): 'sum by (pod_name) (increase(transactions_get_count_total{container_name="pethistory"}[1m]))',
    ("flask_http_request_total", "Sum"): 'sum by (pod_name) (increase(flask_http_request_total{container_name="pethistory"}[1m]))',
    ("flask_http_request_duration_seconds", "Average"):
        'sum by (pod_name) (rate(flask_http_request_duration_seconds_sum{container_name="pethistory"}[1m]))'
        ' / sum by (pod_name) (rate(flask_http_request_duration_seconds_count{container_name="pethistory"}[1m]))',
    ("process_resident_memory_bytes", "Maximum"): 'max by (pod_name) (process_resident_memory_bytes{container_name="pethistory"})',
}


def load(path=None):
    """A dashboard body: the file at path, else the packaged one."""
    if path is None:
        # Beside this file, not importlib.resources: a labcli/ folder in the current directory
        # can stand in for the package there (a namespace package) and hide its data.
        return json.loads((Path(__file__).with_name("dashboards") / DASHBOARD_FILE).read_text())
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise LabError(f"dashboard file {path}: {err}")


def metric_widgets(body):
    """[(title, metric name, statistic)] of every metric widget."""
    out = []
    for widget in body.get("widgets", []):
        if widget.get("type") != "metric":
            continue
        props = widget["properties"]
        for entry in props.get("metrics", []):
            for item in entry:
                if isinstance(item, dict) and "expression" in item:
                    for name in SEARCH_METRIC.findall(item["expression"]):
                        out.append((props.get("title", name), name, props.get("stat", "Average")))
            if entry and isinstance(entry[0], str) and len(entry) > 1:   # ["Namespace", "Metric", dims...]
                out.append((props.get("title", entry[1]), entry[1], props.get("stat", "Average")))
    return out


def metric_names(body):
    return sorted({name for _, name, _ in metric_widgets(body)})


def with_region(body, region):
    body = json.loads(json.dumps(body))
    for widget in body.get("widgets", []):
        if "region" in widget.get("properties", {}):
            widget["properties"]["region"] = region
    return body


def prometheus_series(prometheus, promql, minutes, step=None):
    """[(label, [(t, value)])] from Prometheus' range API."""
    from .endpoints import get_json
    end = time.time()
    step = step or max(15, int(minutes * 60 / 60))
    data = get_json(prometheus, "/api/v1/query_range",
                    {"query": promql, "start": end - minutes * 60, "end": end, "step": step})
    series = []
    for result in data.get("data", {}).get("result", []):
        label = result["metric"].get("pod_name", "value")
        points = [(float(t), float(v)) for t, v in result["values"] if v not in ("NaN", "+Inf", "-Inf")]
        series.append((label, points))
    return series


def local_charts(prometheus, body, minutes):
    """[(title, metric, statistic, series)] for the metric widgets, from Prometheus."""
    charts = []
    for title, name, stat in metric_widgets(body):
        promql = PROMQL.get((name, stat))
        if promql is None:
            raise LabError(f"no PromQL for {name} ({stat}): add it to labcli/dashboard.py PROMQL")
        charts.append((title, name, stat, prometheus_series(prometheus, promql, minutes)))
    return charts


def html_page(charts, title="PetAdoptionsHistory (local dashboard)"):
    cells = "\n".join(f'<div class="cell">{svg_line_chart(t, s)}<p><code>{escape(n)}</code> ({escape(st)})</p></div>'
                      for t, n, st, s in charts)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
            "<style>body{font-family:Helvetica,Arial,sans-serif;margin:20px}.grid{display:flex;flex-wrap:wrap;gap:12px}"
            ".cell{border:1px solid #ddd;padding:6px}p{margin:2px 0;font-size:12px}</style></head>"
            f"<body><h1>{escape(title)}</h1><div class='grid'>{cells}</div></body></html>\n")


def cmd_dashboard(args):
    from .endpoints import resolve
    body = load(args.file)
    ep = resolve(args.backend)
    if ep.backend in ("aws", "emulated"):
        client = ep.aws_client()
        client.put_dashboard(args.name, json.dumps(with_region(body, ep.region)))
        print(f"lab: PutDashboard {args.name} ({len(body['widgets'])} widgets, metrics: "
              f"{', '.join(metric_names(body))}) -> {ep.backend} {ep.region}")
        if ep.backend == "aws":
            print(f"https://{ep.region}.console.aws.amazon.com/cloudwatch/home?region={ep.region}"
                  f"#dashboards/dashboard/{args.name}")
        return 0
    if not ep.prometheus:
        raise LabError("Prometheus is not published (is the lab up with --backend local?)")
    charts = local_charts(ep.prometheus, body, args.minutes)
    if args.html:
        Path(args.html).write_text(html_page(charts))
        print(f"lab: wrote {args.html} ({len(charts)} charts from Prometheus, last {args.minutes:g} min)", file=sys.stderr)
        return 0
    print(f"PetAdoptionsHistory dashboard, from Prometheus, last {args.minutes:g} min\n")
    for title, name, stat, series in charts:
        print(f"{title}  [{name}, {stat}]")
        if not series:
            print("  (no data yet: the collector scrapes every 20 s)")
        for label, points in series:
            values = [v for _, v in points]
            last = f"last {values[-1]:.4g}" if values else "(no data)"
            print(f"  {label:<14} {sparkline(values)}  {last}")
        print()
    return 0


def add_parser(sub):
    p = sub.add_parser("dashboard", help="deploy the CloudWatch dashboard (aws/emulated) or draw it from Prometheus (local)")
    p.add_argument("--file", help="dashboard body (default: dashboards/petadoptionshistory.json, as packaged)")
    p.add_argument("--name", default=DASHBOARD_NAME)
    p.add_argument("--minutes", type=float, default=30, help="local: time window (default 30)")
    p.add_argument("--html", help="local: write an HTML page of SVG charts here instead of printing sparklines")
    p.add_argument("--backend", choices=("local", "emulated", "aws"), help="default: the running lab's")
    p.set_defaults(func=cmd_dashboard)
