"""`lab walkthrough`: the blog's walkthrough as a checklist, each step checked once against the
running lab (no waiting, so the command and the console's Walkthrough section, which shows the
same list, answer in seconds). A step is `done`, `not yet` (with the command to run next) or
`n/a` (not on this backend). The checks are `lab verify`'s (verify.py) where verify covers the
step, and the figure's own view otherwise (traceview, insights, metricsview, dashboard).
Every step has an anchor `#step-N-<slug>` in docs/walkthrough.md.
"""
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from . import cleanup, compose, dashboard, insights, metricsview, traceview, verify
from .compose import LabError
from .endpoints import LOG_GROUP, NAMESPACE, get_json, resolve
from .urls import table

DONE, NOT_YET, NA = "done", "not yet", "n/a"
DOC = "docs/walkthrough.md"
LOAD = "scripts/lab load -u 5 -t 1m"
# An X-Ray trace id starts with the epoch seconds of its creation: a trace id whose first 8 hex
# digits are a time of the last days was made by AwsXRayIdGenerator (a random W3C id is not).
XRAY_ID_AGE_S = 7 * 86400


@dataclass
class Lab:
    """What the checks read: the endpoints, the window, and the traces looked up once per run."""
    ep: object
    minutes: float = 15
    services: bool = True          # the container check needs Docker (not in the console)
    petsite: str | None = None     # PetSite's URL as the user types it, for the hints
    _traces: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def trace(self, operation):
        """(trace id as 32 hex, the service names in it, the trace) of the newest trace of
        operation in the window, or None; looked up once per run."""
        with self._lock:
            if operation not in self._traces:
                self._traces[operation] = self._find(operation)
            return self._traces[operation]

    def _find(self, operation):
        found = traceview.find_trace(self.ep, operation=operation, minutes=self.minutes)
        if found is None:
            return None
        hex32 = traceview.w3c_id(found)
        if self.ep.backend == "local":
            trace = traceview.jaeger_trace(self.ep.jaeger, hex32)
            names = {p["serviceName"] for p in trace["processes"].values()} if trace else set()
        else:
            trace = self.ep.aws_client().segment_documents([traceview.xray_id(hex32)])
            names = {d.get("name") for d in trace if d.get("type") != "subsegment"}
        return (hex32, names, trace) if trace else None

    def shown(self, hex32):
        """A trace id as the backend shows it."""
        return hex32 if self.ep.backend == "local" else traceview.xray_id(hex32)


@dataclass(frozen=True)
class Step:
    number: int
    slug: str
    title: str
    figures: tuple
    check: object     # (Lab) -> (status, detail)
    hint: object      # (Lab) -> the command to run when the step is not done yet

    @property
    def anchor(self):
        return f"#step-{self.number}-{self.slug}"

    @property
    def figure(self):
        if not self.figures:
            return "-"
        if len(self.figures) == 1:
            return f"Fig. {self.figures[0]}"
        return f"Figs. {self.figures[0]}-{self.figures[-1]}"


@dataclass
class Result:
    step: Step
    status: str
    detail: str
    next: str = ""

    def as_dict(self):
        s = self.step
        return {"step": s.number, "id": s.slug, "title": s.title, "figures": list(s.figures),
                "anchor": DOC + s.anchor, "status": self.status, "detail": self.detail, "next": self.next}


def _verdict(ok_detail):
    ok, detail = ok_detail
    return (DONE if ok else NOT_YET), detail


def _pethistory(lab):
    if not lab.ep.pethistory:
        raise LabError("pethistory is not published (compose.yaml)")
    return lab.ep.pethistory.rstrip("/")


def _petsite(lab):
    return (lab.petsite or lab.ep.petsite or "http://127.0.0.1:8000").rstrip("/")


# --- the checks, one per step -----------------------------------------------------------------

def lab_runs(lab):
    if lab.services:
        ok, detail = verify.check_services()
        if not ok:
            return NOT_YET, detail
    health = get_json(_pethistory(lab), "/health/status", timeout=5)
    if health.get("status") != "ok":
        return NOT_YET, f"pethistory /health/status: {health}"
    return DONE, ("the lab runs; Fig. 2 is the map before instrumentation: "
                  "PETHISTORY_OTEL_SDK_DISABLED=true scripts/lab up, then scripts/lab map --minutes 2")


def _from_petsite(found):
    """(ok, detail): the trace holds PetSite and the service, so the context was propagated."""
    hex32, names, _ = found
    if not {"PetSite", verify.SERVICE} <= names:
        return False, f"trace {hex32} holds {', '.join(sorted(names))}, not PetSite -> {verify.SERVICE}"
    return True, f"PetSite -> {verify.SERVICE}"


def traces(lab):
    found = lab.trace("transactions_get")
    if found is None:
        return NOT_YET, f"no transactions_get trace in the last {lab.minutes:g} min"
    hex32 = found[0]
    made = int(hex32[:8], 16)
    if not time.time() - XRAY_ID_AGE_S < made < time.time() + 300:
        return NOT_YET, f"trace id {hex32} is not an X-Ray id (its first 8 hex digits are no recent time)"
    ok, detail = _from_petsite(found)
    if not ok:
        return NOT_YET, detail
    return DONE, (f"trace {lab.shown(hex32)} (X-Ray id, made {time.strftime('%H:%M:%S', time.gmtime(made))} UTC), "
                  f"{detail} in one trace")


def spans(lab):
    found = lab.trace("transactions_get")
    if found is None:
        return NOT_YET, f"no transactions_get trace in the last {lab.minutes:g} min"
    hex32, _, trace = found
    if lab.ep.backend == "local":
        return _verdict(verify.jaeger_spans(trace, hex32))
    return _verdict(verify.xray_segments(trace, lab.shown(hex32)))


def metrics_endpoint(lab):
    url = _pethistory(lab) + "/metrics"
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            text = resp.read().decode()
    except urllib.error.HTTPError as err:
        return NOT_YET, f"{url}: HTTP {err.code} (the SDK off?)"
    except (urllib.error.URLError, OSError) as err:
        raise LabError(f"{url} does not answer ({getattr(err, 'reason', err)})")
    samples = {}   # the first sample of each: `name{labels} value` in the text format
    for line in text.splitlines():
        metric = line.split("{")[0].split(" ")[0]
        if metric in verify.METRICS and metric not in samples:
            samples[metric] = line.rsplit(None, 1)[-1]
    missing = [m for m in verify.METRICS if m not in samples]
    if missing:
        why = " (the counter appears with the first GET of the history)" if "transactions_get_count_total" in missing else ""
        return NOT_YET, f"{', '.join(missing)} not on {url}{why}"
    return DONE, ", ".join(f"{m} {samples[m]}" for m in verify.METRICS) + f" on {url}"


def collector_exports(lab):
    if lab.ep.backend == "local":
        return _verdict(verify.prometheus_metrics(lab.ep)())
    return _verdict(verify.emf(lab.ep.aws_client())())


def service_map(lab):
    return _verdict(verify.service_map(lab.ep, lab.minutes)())


def delete_trace(lab):
    found = lab.trace("transactions_delete")
    if found is None:
        return NOT_YET, f"no transactions_delete trace in the last {lab.minutes:g} min"
    ok, detail = _from_petsite(found)
    if not ok:
        return NOT_YET, detail
    return DONE, f"trace {lab.shown(found[0])}: {detail} (scripts/lab trace)"


def logs_insights(lab):
    columns, rows = insights.run(lab.ep, insights.DEFAULT_QUERY, lab.minutes, LOG_GROUP)
    if not rows:
        return NOT_YET, f"no transactions_history_count > 90 in the last {lab.minutes:g} min"
    value = rows[0][columns.index("transactions_history_count")] if "transactions_history_count" in columns else "?"
    return DONE, f"{len(rows)} row(s) with transactions_history_count > 90 (newest {value})"


def namespace_metrics(lab):
    names = {r.metric for r in metricsview.collect(lab.ep, lab.minutes)}
    missing = [m for m in verify.METRICS if m not in names]
    if missing:
        return NOT_YET, f"{', '.join(missing)} not in namespace {NAMESPACE} in the last {lab.minutes:g} min"
    return DONE, f"{len(names)} metrics in namespace {NAMESPACE}, both of the walkthrough's among them"


def dashboard_shown(lab):
    if lab.ep.backend == "local":
        charts = dashboard.local_charts(lab.ep.prometheus, dashboard.load(), lab.minutes)
        empty = [title for title, _, _, series in charts if not any(points for _, points in series)]
        if empty:
            return NOT_YET, f"no data in the last {lab.minutes:g} min for {', '.join(empty)}"
        return DONE, f"every widget's PromQL answers ({len(charts)} charts)"
    names = [d["DashboardName"] for d in lab.ep.aws_client().dashboards(dashboard.DASHBOARD_NAME)]
    if dashboard.DASHBOARD_NAME not in names:
        return NOT_YET, f"no dashboard {dashboard.DASHBOARD_NAME} (ListDashboards)"
    return DONE, f"dashboard {dashboard.DASHBOARD_NAME} exists (ListDashboards)"


def cleaned_up(lab):
    if lab.ep.backend != "aws":
        return NA, "nothing to clean up (scripts/lab down stops the lab)"
    left = cleanup.found(lab.ep.aws_client())
    if left:
        return NOT_YET, "still in your account: " + ", ".join(f"{kind} {name}" for kind, name, _ in left)
    return DONE, "nothing the lab created is left (traces and metrics expire on their own)"


STEPS = (
    Step(1, "before-instrumentation", "The lab runs; the map before instrumentation", (2,), lab_runs,
         lambda lab: "scripts/lab up"),
    Step(2, "tracing-sdk", "Traces with X-Ray ids, propagated from PetSite", (), traces,
         lambda lab: f"curl {_petsite(lab)}/pethistory"),
    Step(3, "instrumentors-and-custom-spans", "Flask and psycopg2 spans, the custom span", (), spans,
         lambda lab: f"curl {_petsite(lab)}/pethistory"),
    Step(4, "metrics-endpoint", "The counter and the gauge on /metrics", (), metrics_endpoint,
         lambda lab: f"curl {_petsite(lab)}/pethistory"),
    Step(5, "collector", "The collector exports the metrics (Prometheus, EMF)", (), collector_exports,
         lambda lab: "scripts/lab start collector (it scrapes every 20 s)"),
    Step(6, "service-map", "The service map after instrumentation", (3, 4, 5), service_map,
         lambda lab: LOAD),
    Step(7, "transactions-delete-trace", "The transactions_delete trace from PetSite", (6,), delete_trace,
         lambda lab: f"curl -X DELETE {_petsite(lab)}/pethistory/deletepetadoptionshistory"),
    Step(8, "logs-insights", "Logs Insights: transactions_history_count > 90", (7,), logs_insights,
         lambda lab: "scripts/lab adopt 100"),
    Step(9, "metrics-namespace", f"Metrics in the {NAMESPACE} namespace", (8,), namespace_metrics,
         lambda lab: LOAD),
    Step(10, "dashboard", "The dashboard", (9,), dashboard_shown,
         lambda lab: LOAD if lab.ep.backend == "local" else "scripts/lab dashboard"),
    Step(11, "clean-up", "Clean up", (), cleaned_up,
         lambda lab: "scripts/lab cleanup --yes"),
)


def _one_line(err):
    first = (str(err).strip().splitlines() or [""])[0]
    return first if isinstance(err, LabError) else f"{type(err).__name__}: {first}"


def evaluate(step, lab):
    try:
        status, detail = step.check(lab)
    except Exception as err:   # a check that cannot answer is a step not done yet, in one line
        status, detail = NOT_YET, _one_line(err)
    return Result(step, status, detail, step.hint(lab) if status == NOT_YET else "")


def run(ep, minutes=15, services=True, petsite=None):
    """Every step's Result, in the walkthrough's order; the checks run side by side."""
    lab = Lab(ep, minutes, services, petsite)
    with ThreadPoolExecutor(max_workers=6) as pool:
        return list(pool.map(lambda step: evaluate(step, lab), STEPS))


def render_table(results):
    rows = [(r.step.number, r.step.title, r.step.figure, r.status,
             f"next: {r.next}; {r.detail}" if r.next else r.detail) for r in results]
    return table(rows, headers=("STEP", "TITLE", "FIGURE", "STATUS", "NEXT/DETAIL"))


def cmd_journey(args):
    if args.minutes <= 0:
        raise LabError("--minutes must be more than 0")
    if not compose.running():   # the one failure: a progress report of steps not done exits 0
        raise LabError("the lab is not running (scripts/lab up)")
    ep = resolve(args.backend)
    results = run(ep, args.minutes)
    if args.format == "json":
        print(json.dumps([r.as_dict() for r in results], indent=2))
    else:
        done = sum(r.status == DONE for r in results)
        print(f"lab walkthrough: backend {ep.backend}, last {args.minutes:g} min: {done} of "
              f"{sum(r.status != NA for r in results)} steps done (the steps: {DOC})", file=sys.stderr)
        print(render_table(results))
    return 0


def add_parser(sub):
    p = sub.add_parser("walkthrough", help="the blog's walkthrough as a checklist: each step done or what to run next")
    p.add_argument("--minutes", type=float, default=15, help="window the checks read (default 15)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--backend", choices=("local", "emulated", "aws"), help="default: the running lab's")
    p.set_defaults(func=cmd_journey)
