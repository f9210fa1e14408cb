"""`lab insights [QUERY]`: a CloudWatch Logs Insights query over the EMF log group
/metrics/PetAdoptionsHistory, as in the walkthrough (`filter transactions_history_count > 90`).

  aws       StartQuery + GetQueryResults: the real Logs Insights, whole language.
  emulated  the emulator's Insights supports almost nothing, so the events are read with
            FilterLogEvents and the query is evaluated here (logsquery.py: fields, display,
            filter, sort, limit; anything else is refused in one line).
  local     there is no log group (metrics go to Prometheus): Prometheus' raw samples of the
            metrics the query names become the events awsemf would have written (one per
            sample time and label set: the labels, pod_name and container_name among them, and
            each metric's value), and the query is evaluated over them as on emulated, so both
            backends answer with the same columns and rows.
"""
import json
import math
import re
import sys
import time

from .compose import LabError
from .logsquery import evaluate, parse
from .urls import table

DEFAULT_QUERY = ("fields @timestamp, transactions_history_count | filter transactions_history_count > 90 "
                 "| sort @timestamp desc | limit 20")
PROMETHEUS_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
CONTAINER = "pethistory"   # the container_name label the walkthrough's metrics carry


def run_emulated(client, query, start, end, group):
    parse(query)   # refuse unsupported queries before reading anything
    return evaluate(query, client.log_events(group, start, end))


def named_fields(steps):
    """The field names a parsed query reads: fields/display, sort keys, the filter's fields."""
    names = []

    def walk(node):
        if isinstance(node, tuple):
            if node[0] in ("field", "present"):
                names.append(node[1])
            else:
                for part in node[1:]:
                    walk(part)

    for command, arg in steps:
        if command in ("fields", "display"):
            names += arg
        elif command == "sort":
            names += [name for name, _ in arg]
        elif command == "filter":
            walk(arg)
    return names


def prometheus_selector(steps, seconds):
    """The PromQL range selector of the raw samples a query needs: the metrics it names (every
    metric of the container when it names none) over the last `seconds`."""
    metrics = sorted({n for n in named_fields(steps) if PROMETHEUS_NAME.fullmatch(n)})
    name = f'__name__=~"{"|".join(metrics)}",' if metrics else ""
    return f'{{{name}container_name="{CONTAINER}"}}[{max(1, round(seconds))}s]'


def _number(text):
    value = float(text)
    return int(value) if value.is_integer() else value


def emf_events(series):
    """Prometheus' matrix result (a range selector's raw samples) -> log events shaped as the
    awsemf exporter writes them: one event per sample time and label set, its message a JSON
    object of the labels and the value of each metric sampled then. NaN and infinities are left
    out, as awsemf drops them; so are the otel_scope_* labels, which Prometheus' exporter makes of
    the instrumentation scope and awsemf does not write."""
    docs = {}
    for s in series:
        labels = {k: v for k, v in s["metric"].items() if k != "__name__" and not k.startswith("otel_scope_")}
        key = tuple(sorted(labels.items()))
        for t, text in s["values"]:
            if not math.isfinite(float(text)):
                continue
            ms = round(float(t) * 1000)
            docs.setdefault((ms, key), dict(labels))[s["metric"]["__name__"]] = _number(text)
    return [{"timestamp": ms, "message": json.dumps(doc, sort_keys=True), "logStreamName": "prometheus"}
            for (ms, _), doc in sorted(docs.items())]


def run_local(prometheus, query, start, end):
    from .endpoints import get_json
    if not prometheus:
        raise LabError("Prometheus is not published (is the lab up with --backend local?)")
    selector = prometheus_selector(parse(query), end - start)
    data = get_json(prometheus, "/api/v1/query", {"query": selector, "time": end})
    return evaluate(query, emf_events(data["data"]["result"]))


def source(ep, group):
    """Where `run` reads its rows, for the header line."""
    if ep.backend == "local":
        return f"Prometheus {ep.prometheus}", "Prometheus samples as EMF events"
    if ep.backend == "emulated":
        return f"log group {group}", "log events, query evaluated by lab"
    return f"log group {group}", "Logs Insights"


def run_aws(client, query, start, end, group, timeout=60):
    query_id = client.start_query(group, query, start, end)
    deadline = time.monotonic() + timeout
    while True:
        out = client.query_results(query_id)
        if out["status"] in ("Complete", "Failed", "Cancelled", "Timeout"):
            break
        if time.monotonic() > deadline:
            raise LabError(f"Logs Insights query {query_id} still {out['status']} after {timeout}s")
        time.sleep(1)
    if out["status"] != "Complete":
        raise LabError(f"Logs Insights query {out['status'].lower()}")
    columns, rows = [], []
    for result in out["results"]:
        row = {f["field"]: f.get("value") for f in result if f["field"] != "@ptr"}
        for name in row:
            if name not in columns:
                columns.append(name)
        rows.append(row)
    return columns, [[r.get(c) for c in columns] for r in rows]


def run(ep, query, minutes, group):
    end = time.time()
    start = end - minutes * 60
    if ep.backend != "aws":
        parse(query)   # the local evaluator's limits first: one honest line
    if ep.backend == "local":
        return run_local(ep.prometheus, query, start, end)
    client = ep.aws_client()
    if ep.backend == "emulated":
        return run_emulated(client, query, start, end, group)
    return run_aws(client, query, start, end, group)


def cmd_insights(args):
    from .endpoints import LOG_GROUP, resolve
    query = args.query or DEFAULT_QUERY
    if args.minutes <= 0:
        raise LabError("--minutes must be more than 0")
    ep = resolve(args.backend)
    if ep.backend == "local" and args.log_group:
        raise LabError("--log-group: the local backend has no log groups (its rows come from Prometheus)")
    group = args.log_group or LOG_GROUP
    columns, rows = run(ep, query, args.minutes, group)
    if args.format == "json":
        print(json.dumps([dict(zip(columns, r)) for r in rows], indent=2))
    else:
        where, how = source(ep, group)
        print(f"# {query}\n# {where}, last {args.minutes:g} min, backend {ep.backend} ({how}): "
              f"{len(rows)} row(s)", file=sys.stderr)
        if rows:
            print(table([["" if v is None else v for v in r] for r in rows], headers=columns))
    return 0


def add_parser(sub):
    p = sub.add_parser("insights", help="a Logs Insights query over the EMF log group (default: history > 90); "
                                        "local: over Prometheus' samples")
    p.add_argument("query", nargs="?", help=f"default: {DEFAULT_QUERY}")
    p.add_argument("--minutes", type=float, default=60, help="time window (default 60)")
    p.add_argument("--log-group", help="emulated, aws: default /metrics/PetAdoptionsHistory")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--backend", choices=("local", "emulated", "aws"), help="default: the running lab's")
    p.set_defaults(func=cmd_insights)
