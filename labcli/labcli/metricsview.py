"""`lab metrics [METRIC]`: what CloudWatch shows for the namespace PetAdoptionsHistory (the
blog's metrics view): each metric with its dimension set and latest value.

  emulated  the EMF events in /metrics/PetAdoptionsHistory, read as CloudWatch reads them (the
            emulator stores the events but makes no metrics of them): each event's
            `_aws.CloudWatchMetrics[]` names the namespace, the dimension sets and the metrics;
            the values, dimension values too, are the event's top-level fields.
  local     Prometheus: the series the collector's awsemf exporter would send, chosen by its
            metric declaration in collector/aws.yaml (EMF_DECLARATION below, a test keeps the
            two equal); a histogram's _bucket/_sum/_count are the one metric awsemf makes of them.
  aws       CloudWatch ListMetrics and GetMetricData.
LATEST is the Average over the newest minute with data (CloudWatch's default statistic on a
60 s period); a histogram's is Sum/Count. awsemf sends counters as per-scrape deltas, so the
emulated and aws values of a counter are increases; Prometheus (local) holds running totals.
"""
import json
import re
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass

from .awsapi import aws_errors
from .compose import LabError
from .endpoints import LOG_GROUP, NAMESPACE, get_json
from .urls import table

PERIOD_S = 60

# collector/aws.yaml, exporters.awsemf.metric_declarations[0], as written there.
EMF_DECLARATION = {
    "dimensions": [["pod_name", "container_name"]],
    "label_matchers": [{"label_names": ["container_name"], "regex": "^pethistory$"}],
    "metric_name_selectors": [
        "^transactions_get_count_total$",
        "^transactions_history_count$",
        "^process_.*",
        "^python_gc_.*",
        "^flask_http_request_.*",
        "^flask_exporter_info$",
        "^python_info$",
    ],
}

SOURCES = {"emulated": f"from the EMF events in {LOG_GROUP}",
           "local": "from Prometheus, as awsemf would send it",
           "aws": "from CloudWatch"}


@dataclass
class MetricRow:
    metric: str
    dimensions: dict
    value: float | None     # Average over the newest minute with data
    timestamp: float | None  # epoch seconds of the newest datapoint


def latest(samples):
    """[(t, sum, count)] -> (value, t): Sum/Count of the samples in the newest 60 s period."""
    if not samples:
        return None, None
    newest = max(t for t, _, _ in samples)
    period = [(s, c) for t, s, c in samples if t // PERIOD_S == newest // PERIOD_S]
    count = sum(c for _, c in period)
    return (sum(s for s, _ in period) / count if count else None), newest


def _rows(samples):
    """{(metric, ((dim, value), ...)): [(t, sum, count)]} -> sorted MetricRows."""
    rows = []
    for (metric, dims), points in sorted(samples.items()):
        value, at = latest(points)
        rows.append(MetricRow(metric, dict(dims), value, at))
    return rows


def _emf_samples(value):
    """An EMF metric value: a number, a list of numbers, or a statistic set {Sum, Count, ...}."""
    if isinstance(value, dict):
        return [(float(value.get("Sum", 0)), float(value.get("Count", 0)))]
    values = value if isinstance(value, list) else [value]
    return [(float(v), 1.0) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]


def rows_from_emf(events, namespace=NAMESPACE):
    """CloudWatch Logs events in EMF -> MetricRows of namespace (one per metric and dimension set)."""
    samples = defaultdict(list)
    for event in events:
        try:
            doc = json.loads(event["message"])
            directives = doc["_aws"]["CloudWatchMetrics"]
            t = float(doc["_aws"].get("Timestamp", event.get("timestamp"))) / 1000.0
        except (ValueError, KeyError, TypeError):
            continue   # not an EMF event: CloudWatch makes no metric of it either
        for directive in directives:
            if directive.get("Namespace") != namespace:
                continue
            for dimset in directive.get("Dimensions") or [[]]:
                if not all(name in doc for name in dimset):
                    continue
                dims = tuple(sorted((name, str(doc[name])) for name in dimset))
                for metric in directive.get("Metrics", []):
                    name = metric.get("Name")
                    if name in doc:
                        samples[(name, dims)] += [(t, s, c) for s, c in _emf_samples(doc[name])]
    return _rows(samples)


def _selected(name, declaration=EMF_DECLARATION):
    return any(re.search(p, name) for p in declaration["metric_name_selectors"])


def rows_from_prometheus(result, declaration=EMF_DECLARATION):
    """A Prometheus range-vector query result (matrix) -> the MetricRows awsemf would make."""
    names = {r["metric"].get("__name__", "") for r in result}
    histograms = {n[:-len("_bucket")] for n in names if n.endswith("_bucket")}
    # a histogram's series of one label set: {(name, labels): {t: [sum, count]}}
    stats = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0]))
    samples = defaultdict(list)
    for series in result:
        labels = dict(series["metric"])
        name = labels.pop("__name__", "")
        base, _, suffix = name.rpartition("_")
        if base in histograms:
            if suffix not in ("sum", "count"):
                continue   # the buckets: awsemf sends a histogram as its statistic set
            name = base
        if not _selected(name, declaration):
            continue
        for dimset in declaration["dimensions"]:
            if not all(d in labels for d in dimset):
                continue
            dims = tuple(sorted((d, labels[d]) for d in dimset))
            points = [(float(t), float(v)) for t, v in series["values"] if v not in ("NaN", "+Inf", "-Inf")]
            if name in histograms:
                key = (name, dims, tuple(sorted(labels.items())))
                for t, v in points:
                    stats[key][t][0 if suffix == "sum" else 1] = v
            else:
                samples[(name, dims)] += [(t, v, 1.0) for t, v in points]
    for (name, dims, _), by_t in stats.items():
        samples[(name, dims)] += [(t, s, c) for t, (s, c) in by_t.items()]
    return _rows(samples)


def _prometheus_query(declaration, minutes):
    """Every series of the declaration's labels, raw samples of the window (names are
    selected afterwards: awsemf matches a histogram by its own name, not its _bucket series)."""
    matchers = ",".join(f'{label}=~"{m["regex"]}"' for m in declaration["label_matchers"]
                        for label in m["label_names"])
    return f"{{{matchers}}}[{int(minutes * 60)}s]"


def rows_from_cloudwatch(client, minutes, namespace=NAMESPACE):
    end = time.time()
    with aws_errors("CloudWatch"):
        metrics = client.list_metrics(namespace)
        values = client.latest_values(namespace, metrics, end - minutes * 60, end, PERIOD_S)
    rows = [MetricRow(m["MetricName"], {d["Name"]: d["Value"] for d in m.get("Dimensions", [])}, v, t)
            for m, (t, v) in zip(metrics, values)]
    return sorted(rows, key=lambda r: (r.metric, sorted(r.dimensions.items())))


def collect(ep, minutes=15):
    """The namespace's metrics on ep's backend, as CloudWatch would list them ([] when none)."""
    if ep.backend == "local":
        if not ep.prometheus:
            raise LabError("Prometheus is not published (is the lab up with --backend local?)")
        data = get_json(ep.prometheus, "/api/v1/query", {"query": _prometheus_query(EMF_DECLARATION, minutes)})
        return rows_from_prometheus(data["data"]["result"])
    client = ep.aws_client()
    if ep.backend == "emulated":
        end = time.time()
        return rows_from_emf(client.log_events(LOG_GROUP, end - minutes * 60, end))
    return rows_from_cloudwatch(client, minutes)


def _hint(backend, minutes):
    where = {"emulated": f"no EMF events in {LOG_GROUP} in the last {minutes:g} min",
             "local": f"no pethistory series in Prometheus in the last {minutes:g} min",
             "aws": f"no metrics in namespace {NAMESPACE} with data in the last {minutes:g} min"}[backend]
    return f"{where}: is the collector running? scripts/lab verify"


def _number(value):
    if value is None:
        return "-"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.1f}" if abs(value) >= 1e6 else f"{value:.6g}"


def _at(t):
    return "-" if t is None else time.strftime("%H:%M:%S", time.gmtime(t))


def cmd_metricsview(args):
    from .endpoints import resolve
    try:
        wanted = re.compile(args.metric or "")
    except re.error as err:
        raise LabError(f"METRIC {args.metric!r} is not a regular expression: {err}")
    if args.minutes <= 0:
        raise LabError("--minutes must be more than 0")
    ep = resolve(args.backend)
    rows = collect(ep, args.minutes)
    if not rows:
        raise LabError(_hint(ep.backend, args.minutes))
    shown = [r for r in rows if wanted.search(r.metric)]
    if not shown:
        raise LabError(f"no metric matches {args.metric!r} (of {len({r.metric for r in rows})} in {NAMESPACE})")
    print(f"# namespace {NAMESPACE}, backend {ep.backend} ({SOURCES[ep.backend]}): "
          f"{len({r.metric for r in shown})} metrics", file=sys.stderr)
    if args.format == "json":
        print(json.dumps([asdict(r) for r in shown], indent=2))
    else:
        print(table([(r.metric, ", ".join(f"{k}={v}" for k, v in sorted(r.dimensions.items())),
                      _number(r.value), _at(r.timestamp)) for r in shown],
                    headers=("METRIC", "DIMENSIONS", "LATEST", "AT")))
    return 0


def add_parser(sub):
    p = sub.add_parser("metrics", help=f"the CloudWatch metrics of namespace {NAMESPACE}: names, dimensions, latest values")
    p.add_argument("metric", nargs="?", metavar="METRIC", help="only metrics whose name matches this regex")
    p.add_argument("--minutes", type=float, default=15, help="window to read (default 15)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--backend", choices=("local", "emulated", "aws"), help="default: the running lab's")
    p.set_defaults(func=cmd_metricsview)
