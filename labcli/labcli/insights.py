"""`lab insights [QUERY]`: a CloudWatch Logs Insights query over the EMF log group
/metrics/PetAdoptionsHistory, as in the walkthrough (`filter transactions_history_count > 90`).

  aws       StartQuery + GetQueryResults: the real Logs Insights, whole language.
  emulated  the emulator's Insights supports almost nothing, so the events are read with
            FilterLogEvents and the query is evaluated here (logsquery.py: fields, display,
            filter, sort, limit; anything else is refused in one line).
  local     there is no log group (metrics go to Prometheus); the nearest PromQL is printed.
"""
import json
import sys
import time

from .compose import LabError
from .logsquery import evaluate, parse
from .urls import table

DEFAULT_QUERY = ("fields @timestamp, transactions_history_count | filter transactions_history_count > 90 "
                 "| sort @timestamp desc | limit 20")


def run_emulated(client, query, start, end, group):
    parse(query)   # refuse unsupported queries before reading anything
    return evaluate(query, client.log_events(group, start, end))


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
        raise LabError("the local backend has no log group (metrics go to Prometheus); try "
                       "--backend emulated, or in Prometheus: transactions_history_count > 90")
    client = ep.aws_client()
    if ep.backend == "emulated":
        return run_emulated(client, query, start, end, group)
    return run_aws(client, query, start, end, group)


def cmd_insights(args):
    from .endpoints import LOG_GROUP, resolve
    query = args.query or DEFAULT_QUERY
    ep = resolve(args.backend)
    columns, rows = run(ep, query, args.minutes, args.log_group or LOG_GROUP)
    if args.format == "json":
        print(json.dumps([dict(zip(columns, r)) for r in rows], indent=2))
    else:
        print(f"# {query}\n# log group {args.log_group or LOG_GROUP}, last {args.minutes:g} min, backend {ep.backend}: "
              f"{len(rows)} row(s)", file=sys.stderr)
        if rows:
            print(table([["" if v is None else v for v in r] for r in rows], headers=columns))
    return 0


def add_parser(sub):
    p = sub.add_parser("insights", help="a Logs Insights query over the EMF log group (default: history > 90)")
    p.add_argument("query", nargs="?", help=f"default: {DEFAULT_QUERY}")
    p.add_argument("--minutes", type=float, default=60, help="time window (default 60)")
    p.add_argument("--log-group", help="default /metrics/PetAdoptionsHistory")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--backend", choices=("local", "emulated", "aws"), help="default: the running lab's")
    p.set_defaults(func=cmd_insights)
