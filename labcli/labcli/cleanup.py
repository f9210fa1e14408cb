"""`lab cleanup [--yes]`: the walkthrough's clean-up step. Lists what the lab created in the
account (aws) or the emulator (emulated): the CloudWatch dashboard `lab dashboard` deploys and
the EMF log group the collector writes, with its stored bytes and retention; deletes them only
with --yes. X-Ray traces and CloudWatch metrics cannot be deleted: they expire on their own.
The collector recreates the log group at its next export while the lab runs (scripts/lab down
first to keep it gone).
"""
import sys

from .awsapi import aws_errors
from .dashboard import DASHBOARD_NAME
from .endpoints import LOG_GROUP, NAMESPACE
from .urls import table

EXPIRE_NOTE = ("X-Ray traces cannot be deleted: they expire 30 days after they were recorded.\n"
               f"CloudWatch metrics (namespace {NAMESPACE}) cannot be deleted either: they stop being "
               "listed 2 weeks after their last data point.")


def _size(n):
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024


def found(client):
    """[(kind, name, detail)] of what the lab created that is there now."""
    items = []
    with aws_errors("CloudWatch"):
        dashboards, groups = client.dashboards(DASHBOARD_NAME), client.log_groups(LOG_GROUP)
    for d in dashboards:
        if d["DashboardName"] == DASHBOARD_NAME:
            items.append(("CloudWatch dashboard", DASHBOARD_NAME, _size(d.get("Size") or 0)))
    for g in groups:
        if g["logGroupName"] == LOG_GROUP:
            days = g.get("retentionInDays")
            retention = f"retention {days} days" if days else "retention never expire"
            items.append(("CloudWatch log group", LOG_GROUP, f"stored {_size(g.get('storedBytes') or 0)}, {retention}"))
    return items


def delete(client, items):
    for kind, name, _ in items:
        with aws_errors("CloudWatch"):
            if kind == "CloudWatch dashboard":
                client.delete_dashboards([name])
            else:
                client.delete_log_group(name)
        print(f"deleted {kind} {name}")


def cmd_cleanup(args):
    from .endpoints import resolve
    ep = resolve(args.backend)
    if ep.backend == "local":
        print("backend local: nothing in AWS to clean up")
        return 0
    where = f"backend {ep.backend}, region {ep.region}" + (f", emulator {ep.aws}" if ep.backend == "emulated" else "")
    client = ep.aws_client()
    items = found(client)
    if not items:
        print(f"{where}: nothing the lab created is there (no dashboard {DASHBOARD_NAME}, no log group {LOG_GROUP})")
        print(EXPIRE_NOTE)
        return 0
    print(f"{where}: what the lab created\n")
    print(table(items, headers=("KIND", "NAME", "DETAIL")))
    print()
    if not args.yes:
        print(EXPIRE_NOTE)
        print("run again with --yes to delete them")
        return 0
    delete(client, items)
    print(EXPIRE_NOTE)
    print("the collector recreates the log group at its next export while the lab runs "
          "(scripts/lab down first to keep it gone)", file=sys.stderr)
    return 0


def add_parser(sub):
    p = sub.add_parser("cleanup", help="list (and with --yes delete) what the lab created in AWS: "
                                       "dashboard, EMF log group")
    p.add_argument("--yes", action="store_true", help="delete them (default: only list them)")
    p.add_argument("--backend", choices=("local", "emulated", "aws"), help="default: the running lab's")
    p.set_defaults(func=cmd_cleanup)
