"""The lab's console page (:8070), `python -m labcli.console`: the walkthrough's steps with their
status (journey.py, as `lab walkthrough` prints them), links to the UIs, the service map (inline
SVG), recent traces, the two walkthrough metrics as charts and the Logs Insights result, in one
page with no external assets. Stdlib only; it reads the backends with the rest of
labcli, configured by environment (see endpoints.py):
  LAB_OBSERVE_BACKEND  local | emulated | aws
  LAB_JAEGER_URL, LAB_PROMETHEUS_URL, LAB_AWS_ENDPOINT_URL   how the console reaches them
  LAB_PETHISTORY_URL   how it reaches the service (compose: pethistory:8080)
  LAB_LINKS            "label=url,label=url": the links shown (URLs as the browser sees them)
  LAB_TOXIPROXY_URL, LAB_FLAGS_FILE   the fault drills' Toxiproxy API and flag file (faults.py)
  CONSOLE_DASHBOARD    a dashboard body to draw instead of the packaged one
Routes: / (the page), /map.svg, /healthz; /api/faults (GET: every fault's state), POST
/api/faults/NAME {"on": true|false, "rate": 0.5, "delay_ms": 300}, POST /api/faults/clear. A POST
must be JSON (Content-Type application/json): a page of another origin cannot send one without
asking first (CORS), and this server never agrees.
"""
import html
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import dashboard, faults, insights, journey, mapdraw, servicemap
from .charts import svg_line_chart
from .compose import LabError
from .endpoints import LOG_GROUP, get_json, resolve

MINUTES = float(os.environ.get("CONSOLE_MINUTES", "15"))
METRICS = ("transactions_history_count", "transactions_get_count_total")
esc = html.escape


def link_items():
    """[(label, url)] of LAB_LINKS."""
    return [tuple(item.partition("=")[::2]) for item in filter(None, os.environ.get("LAB_LINKS", "").split(","))]


def links():
    out = [f'<li><a href="{esc(url)}">{esc(label)}</a> <code>{esc(url)}</code></li>' for label, url in link_items()]
    return "<ul>" + "".join(out) + "</ul>" if out else "<p>(no links configured)</p>"


def walkthrough(ep):
    """The steps and their status, from journey.py. No Docker here, so no container check; the
    hints name PetSite as the browser reaches it. With aws the checks need the user's credentials,
    so the steps are listed for `scripts/lab walkthrough` on their machine."""
    if ep.backend == "aws":
        results = [journey.Result(step, "", "") for step in journey.STEPS]
        intro = ("<p>Backend aws: this page holds no AWS credentials; on your machine "
                 "<code>scripts/lab walkthrough</code> checks each step with yours.</p>")
    else:
        petsite = dict(link_items()).get("PetSite")
        results = journey.run(ep, MINUTES, services=False, petsite=petsite)
        done = sum(r.status == journey.DONE for r in results)
        intro = (f"<p>{done} of {sum(r.status != journey.NA for r in results)} steps done "
                 f"(last {MINUTES:g} min; <code>scripts/lab walkthrough</code> prints the same).</p>")
    rows = "".join(
        f"<tr class='step' data-step='{r.step.number}' data-status='{esc(r.status)}'><td>{r.step.number}</td>"
        f"<td>{esc(r.step.title)}<br><code class='anchor'>{esc(journey.DOC + r.step.anchor)}</code></td>"
        f"<td>{esc(r.step.figure)}</td><td class='status'>{esc(r.status or '-')}</td>"
        f"<td>{'next: <code>' + esc(r.next) + '</code><br>' if r.next else ''}{esc(r.detail)}</td></tr>"
        for r in results)
    return (f"{intro}<table id='steps'><tr><th>step</th><th>title (in {journey.DOC})</th><th>figure</th>"
            f"<th>status</th><th>next / detail</th></tr>{rows}</table>")


def map_svg(ep):
    if ep.backend == "aws":
        raise LookupError("backend aws: the console holds no AWS credentials; "
                          "on your machine: scripts/lab map --format svg -o map.svg")
    return mapdraw.to_svg(servicemap.collect(ep, MINUTES, limit=100), f"Service map, last {MINUTES:g} min")


def recent_traces(ep):
    rows = []
    if ep.backend == "local":
        end = time.time()
        for service in ("PetSite", "PetAdoptionsHistory"):
            data = get_json(ep.jaeger, "/api/traces", {"service": service, "limit": 10, "lookback": "custom",
                                                        "start": int((end - MINUTES * 60) * 1e6), "end": int(end * 1e6)})
            for t in data.get("data") or []:
                roots = [s for s in t["spans"] if not s.get("references")] or t["spans"]
                root = min(roots, key=lambda s: s["startTime"])
                procs = sorted({p["serviceName"] for p in t["processes"].values()})
                rows.append((root["startTime"] / 1e6, t["traceID"], root["operationName"], root["duration"] / 1000,
                             len(t["spans"]), ", ".join(procs)))
    else:
        client = ep.aws_client()
        ids = client.trace_ids(time.time() - MINUTES * 60, time.time())[-10:]
        for doc in client.segment_documents(ids):
            if doc.get("type") != "subsegment" and not doc.get("parent_id"):
                rows.append((doc["start_time"], doc["trace_id"], doc["name"] + " " + ((doc.get("http") or {}).get("request") or {}).get("method", ""),
                             (doc["end_time"] - doc["start_time"]) * 1000, "-", doc["name"]))
    seen, unique = set(), []
    for row in sorted(rows, reverse=True):
        if row[1] not in seen:
            seen.add(row[1])
            unique.append(row)
    body = "".join(f"<tr><td>{time.strftime('%H:%M:%S', time.gmtime(r[0]))}</td><td><code class='trace'>{esc(r[1])}</code></td>"
                   f"<td>{esc(r[2])}</td><td>{r[3]:.1f}</td><td>{r[4]}</td><td>{esc(r[5])}</td></tr>" for r in unique[:12])
    return ("<table id='traces'><tr><th>start (UTC)</th><th>trace id</th><th>root</th><th>ms</th><th>spans</th>"
            f"<th>services</th></tr>{body}</table>" if body else "<p>no traces yet: send traffic (scripts/lab load)</p>")


def metric_charts(ep):
    body = dashboard.load(os.environ.get("CONSOLE_DASHBOARD") or None)
    if ep.backend == "local":
        charts = [c for c in dashboard.local_charts(ep.prometheus, body, MINUTES) if c[1] in METRICS]
        return "".join(svg_line_chart(f"{t} [{n}]", s) for t, n, _, s in charts)
    events = ep.aws_client().log_events(LOG_GROUP, time.time() - MINUTES * 60)
    series = {m: {} for m in METRICS}
    for e in events:
        doc = json.loads(e["message"])
        for m in METRICS:
            if m in doc:
                series[m].setdefault(doc.get("pod_name", "?"), []).append((e["timestamp"] / 1000, float(doc[m])))
    return "".join(svg_line_chart(f"{m} (EMF)", sorted(series[m].items())) for m in METRICS)


def insights_result(ep):
    columns, rows = insights.run(ep, insights.DEFAULT_QUERY, 60, LOG_GROUP)
    where, how = insights.source(ep, LOG_GROUP)
    title = f"Logs Insights on {esc(where)} ({esc(how)}): <code>{esc(insights.DEFAULT_QUERY)}</code>"
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{esc(str(v))}</td>" for v in r) + "</tr>" for r in rows)
    return f"<p>{title}</p><table id='insights'><tr>{head}</tr>{body}</table><p class='count'>{len(rows)} row(s)</p>"


def faults_panel(_ep):
    try:
        controller = faults.Controller.from_env()
    except faults.NoDrills as err:   # kind: no Toxiproxy, no flag volume
        return f"<p>{esc(str(err))}</p>"
    rows = []
    for r in controller.status():   # collector-down's state: only `lab fault` knows it
        name = esc(r["name"])
        state = "?" if r["on"] is None else ("ON " + ", ".join(f"{k} {v:g}" for k, v in r["settings"].items())
                                              if r["on"] else "off")
        inputs = "".join(f"<input id='{o}-{name}' size='5' placeholder='{o}'> " for o in r["options"])
        buttons = (f"<code>scripts/lab fault on|off {name}</code>" if r["kind"] == "container" else
                   f"{inputs}<button onclick=\"fault('{name}',true)\">on</button> "
                   f"<button onclick=\"fault('{name}',false)\">off</button>")
        rows.append(f"<tr class='fault' data-fault='{name}' data-on='{esc(str(r['on']).lower())}'><td><code>{name}</code></td>"
                    f"<td class='state'>{esc(state)}</td><td>{esc(r['summary'])}<br><small>{esc(r['shows'])}</small></td>"
                    f"<td>{buttons}</td></tr>")
    script = ("<script>function fault(name,on){var b={on:on};['rate','delay'].forEach(function(o){"
              "var e=document.getElementById(o+'-'+name);if(on&&e&&e.value){b[o==='delay'?'delay_ms':o]=Number(e.value)}});"
              "fetch('/api/faults/'+name,{method:'POST',headers:{'Content-Type':'application/json'},body:JSON.stringify(b)})"
              ".then(function(r){return r.json().then(function(j){if(!r.ok){alert(j.message)}location.reload()})})}"
              "function clearFaults(){fetch('/api/faults/clear',{method:'POST',headers:{'Content-Type':'application/json'},"
              "body:'{}'}).then(function(){location.reload()})}</script>")
    return ("<p>Switch one on, send traffic (Locust), then find it in the map and the traces "
            "(docs/drills.md). <button onclick='clearFaults()'>all off</button></p>"
            f"<table id='faults'><tr><th>fault</th><th>state</th><th>what breaks, where it shows</th><th></th></tr>"
            f"{''.join(rows)}</table>{script}")


def panel(pid, title, render, ep):
    try:
        content = render(ep)
    except Exception as err:   # one panel failing must not take the page down
        content = f"<p class='error'>{esc(type(err).__name__)}: {esc(str(err))}</p>"
    return f"<section id='{pid}'><h2>{title}</h2>{content}</section>"


def aws_notice(ep):
    """The aws backend's data is in the user's account; this container holds neither boto3 nor
    credentials (only the collector gets them), so it points to where the data can be read."""
    home = f"https://{ep.region}.console.aws.amazon.com/cloudwatch/home?region={ep.region}"
    places = [("X-Ray service map and traces", f"{home}#xray:service-map/map"),
              ("CloudWatch Logs Insights (log group /metrics/PetAdoptionsHistory)", f"{home}#logsV2:logs-insights"),
              ("CloudWatch dashboards", f"{home}#dashboards:")]
    items = "".join(f'<li><a href="{esc(url)}">{esc(label)}</a></li>' for label, url in places)
    return ("<p>Backend aws: traces and metrics are in your AWS account (region "
            f"<code>{esc(ep.region)}</code>). This page holds no AWS credentials; on your machine "
            "<code>scripts/lab map</code>, <code>insights</code>, <code>dashboard</code> and <code>verify</code> "
            f"read them with yours (boto3), or open the AWS consoles:</p><ul>{items}</ul>")


def page():
    ep = resolve()
    sections = [panel("walkthrough", "Walkthrough", walkthrough, ep),
                f"<section id='links'><h2>Lab UIs</h2>{links()}</section>",
                panel("faults-panel", "Fault drills", faults_panel, ep)]
    if ep.backend == "aws":
        sections.append(f"<section id='aws'><h2>AWS</h2>{aws_notice(ep)}</section>")
    else:
        sections += [panel("map", "Service map", map_svg, ep), panel("metrics", "Metrics", metric_charts, ep),
                     panel("insights-panel", "Insights", insights_result, ep),
                     panel("recent", "Recent traces", recent_traces, ep)]
    return ("<!doctype html><html><head><meta charset='utf-8'><title>PetAdoptionsHistory lab console</title><style>"
            "body{font-family:Helvetica,Arial,sans-serif;margin:16px;color:#222}section{margin-bottom:18px}"
            "h1{font-size:20px}h2{font-size:15px;border-bottom:1px solid #ddd}table{border-collapse:collapse;font-size:12px}"
            "td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}.error{color:#b00}svg.chart{margin-right:8px}"
            "tr[data-status='done'] td.status{color:#070}tr[data-status='not yet'] td.status{color:#b60}"
            f"</style></head><body><h1>PetAdoptionsHistory lab console <small>(backend {esc(ep.backend)})</small></h1>"
            + "".join(sections) + "</body></html>")


class Handler(BaseHTTPRequestHandler):
    def _send(self, code, ctype, body):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json(self, code, doc):
        return self._send(code, "application/json", json.dumps(doc) + "\n")

    def do_POST(self):
        if not self.path.startswith("/api/faults/"):
            return self._json(404, {"message": f"no such route: POST {self.path}"})
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            return self._json(415, {"message": "send JSON (Content-Type: application/json)"})
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= 4096:
            return self._json(400, {"message": "a body of at most 4096 bytes, with its Content-Length"})
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self._json(400, {"message": "the body is not JSON"})
        name = self.path[len("/api/faults/"):]
        try:
            if name == "clear":
                return self._json(200, {"faults": faults.Controller.from_env().clear()})
            if name not in faults.BY_NAME:
                return self._json(404, {"message": f"unknown fault {name!r} (one of: {', '.join(faults.BY_NAME)})"})
            if not isinstance(body, dict) or not isinstance(body.get("on"), bool) or set(body) - {"on", "rate", "delay_ms"}:
                return self._json(400, {"message": 'send {"on": true|false} and optionally "rate" and "delay_ms"'})
            row = faults.Controller.from_env().switch(name, body["on"], body.get("rate"), body.get("delay_ms"))
            print(json.dumps({"msg": f"fault {name} {'on' if row['on'] else 'off'}", "settings": row["settings"],
                              "service": "console"}), file=sys.stderr)
            return self._json(200, row)
        except faults.FaultError as err:
            return self._json(400, {"message": str(err)})
        except faults.NoDrills as err:
            return self._json(501, {"message": str(err)})
        except LabError as err:   # Toxiproxy did not answer
            return self._json(502, {"message": str(err)})

    def do_GET(self):
        if self.path == "/api/faults":
            try:
                return self._json(200, {"faults": faults.Controller.from_env().status()})
            except faults.NoDrills as err:
                return self._json(501, {"message": str(err)})
            except LabError as err:
                return self._json(502, {"message": str(err)})
        if self.path == "/healthz":
            return self._send(200, "text/plain", "ok\n")
        if self.path == "/map.svg":
            try:
                return self._send(200, "image/svg+xml", map_svg(resolve()))
            except Exception as err:
                return self._send(503, "text/plain", f"{err}\n")
        if self.path in ("/", "/index.html"):
            return self._send(200, "text/html; charset=utf-8", page())
        return self._send(404, "text/plain", "not found\n")

    def log_message(self, fmt, *args):
        sys.stderr.write(json.dumps({"msg": fmt % args, "service": "console"}) + "\n")


def main():
    try:
        port = int(os.environ.get("PORT", "8070"))
    except ValueError:
        sys.exit(f"console: PORT must be a number, not {os.environ['PORT']!r}")
    try:   # faults are off when the lab starts: a flag left on by an earlier lab is cleared
        faults.Controller.from_env().write_flag(0)
    except faults.NoDrills as err:
        print(f"console: {err}", file=sys.stderr)
    except OSError as err:
        print(f"console: fault flags not writable ({err}): the history-5xx drill is unavailable", file=sys.stderr)
    print(f"console on :{port}", file=sys.stderr)
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
