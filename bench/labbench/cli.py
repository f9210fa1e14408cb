"""bench/run (`python -m labbench`): its options and the order of the steps. See bench/README.md."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from labtest.pgserver import PostgresServer

from labbench import lab, latency, load, servers, targets, throughput, workshop
from labbench.common import BenchError, check_checkout, cpu_model, load_average, log, out
from labbench.receiver import Receiver


def parse_args(argv) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/run", description="What instrumentation costs (bench/README.md).")
    p.add_argument("--quick", action="store_true", help="a few seconds per step (smoke test)")
    p.add_argument("--rounds", type=int, help="alternated wrk rounds per step (default 10, quick 1)")
    p.add_argument("--seconds", type=float, help="seconds per wrk run (default 3, quick 2)")
    p.add_argument("--rate", type=float, default=targets.FIXED_RATE, help="fixed request rate, req/s (default 200)")
    p.add_argument("--lab", action="store_true", help="also measure the whole lab (Docker)")
    p.add_argument("--no-workshop", action="store_true", help="skip the workshop's stack")
    p.add_argument("--variant", action="append", default=[], metavar="NAME:VAR=VALUE,...",
                   help="add an instrumented server with these environment variables (repeatable), e.g. "
                        "one-worker:WEB_CONCURRENCY=1,GUNICORN_THREADS=8,DB_POOL_SIZE=8")
    p.add_argument("--fixed-only", action="store_true", help="only step (1)'s fixed-rate rounds")
    p.add_argument("--throughput-only", action="store_true", help="only step (1)'s wrk rounds")
    p.add_argument("--lab-only", action="store_true", help="only the whole-lab steps (3) and (4) (implies --lab)")
    p.add_argument("--json", help="also write the figures to this file")
    p.add_argument("--keep", action="store_true", help="keep the work directory (every server's log)")
    args = p.parse_args(argv)
    for option in ("rounds", "seconds", "rate"):
        if getattr(args, option) is not None and getattr(args, option) <= 0:
            p.error(f"--{option} must be positive")
    if args.fixed_only and args.throughput_only:
        p.error("--fixed-only and --throughput-only exclude each other")
    args.variants = [servers.parse_variant(spec) for spec in args.variant]
    if len({name for name, _ in args.variants}) != len(args.variants):
        raise BenchError("--variant: each NAME once")
    # Many short alternated slices: other work on a shared machine changes from second to second.
    args.rounds = args.rounds or (1 if args.quick else 10)
    args.seconds = args.seconds or (2 if args.quick else 3)
    args.fixed_rounds, args.fixed_seconds = (1, 2) if args.quick else (5, 10)
    return args


def start(args, stack: contextlib.ExitStack, workdir: Path, figures: dict) -> tuple[dict, Receiver]:
    """PostgreSQL with 100 rows, the receiver, the servers; each stopped when the stack closes."""
    pg = PostgresServer()
    stack.callback(pg.destroy)
    servers.seed(pg, 100)
    receiver = Receiver(workdir)
    stack.callback(receiver.stop)
    figures["receiver"] = receiver.description
    out(f"# OTLP receiver: {receiver.description}, {receiver.endpoint}")
    started = servers.start_service_variants(pg, workdir, receiver.endpoint, args.variants,
                                             lambda server: stack.callback(server.stop))
    for server in started.values():
        out(f"# {server.name}: {servers.settings(server)}" + ("" if server.traced else ", OTEL_SDK_DISABLED=true"))
    if not args.no_workshop and not args.fixed_only:
        started["workshop"] = workshop.start(pg, workdir)
        stack.callback(started["workshop"].stop)
    return started, receiver


def saturated(args, running: dict, receiver: Receiver, figures: dict) -> int:
    """Step (1) under wrk: the table, the ratios, the CPU; GETs the traced servers answered."""
    results = load.alternate(running, args.rounds, args.seconds, "throughput", receiver)
    summary = throughput.summarize(results)
    figures["throughput"] = summary
    throughput.print_table("(1) GET throughput", summary, args.rounds)
    figures["ratios"] = throughput.print_ratios(results)
    throughput.print_cpu(summary)
    figures["vs_workshop"] = throughput.vs_workshop(results)
    return sum(s["requests"] for name in results if running[name].traced for s in results[name])


def fixed(args, pair: dict, figures: dict, key: str, title: str) -> int:
    """The fixed-rate rounds and the P99 line; GETs the instrumented server answered."""
    summary, results = latency.step(title, pair, args.fixed_rounds, args.rate, args.fixed_seconds, key)
    figures[key] = summary
    out(f"P99 added by instrumentation at {args.rate:g} req/s{', collector stopped' if 'down' in key else ''}: "
        f"{summary['p99_added_ms']:+.2f} ms (rounds {summary['p99_added_runs']})")
    return sum(s["sent"] - s["errors"] for s in results["instrumented"])


def spans_check(receiver: Receiver, served: int, figures: dict) -> None:
    """Nothing dropped: 3 spans for every GET a traced server answered, after the batch delays."""
    expected, deadline = 3 * served, time.monotonic() + 15
    while (receiver.spans() or 0) < expected and time.monotonic() < deadline:
        time.sleep(0.5)
    received = receiver.spans()
    figures["spans"] = {"expected": expected, "received": received}
    out(f"SPANS received by the OTLP receiver: {received} of {expected} expected "
        f"(3 per GET served by the instrumented servers)")


def collector_down(args, pair: dict, receiver: Receiver, figures: dict) -> None:
    """Step (2): the receiver stopped, export fails; requests must not fail nor slow down."""
    receiver.stop()
    log("OTLP receiver stopped: export now fails")
    time.sleep(1)
    results = load.alternate(pair, args.rounds, args.seconds, "collector down")
    summary = throughput.summarize(results)
    figures["collector_down"] = summary
    throughput.print_table("(2) GET throughput, collector stopped", summary, args.rounds)
    throughput.print_ratios(results, ", collector stopped")
    fixed(args, pair, figures, "collector_down_fixed", "(2) GET latency at a fixed rate, collector stopped")


def service_steps(args, workdir: Path, figures: dict) -> None:
    with contextlib.ExitStack() as stack:
        running, receiver = start(args, stack, workdir, figures)
        pair = {name: running[name] for name in ("instrumented", "uninstrumented")}
        served = load.warm_up(running, 1 if args.quick else 3)
        if args.fixed_only:
            fixed(args, pair, figures, "fixed_rate", "(1) GET latency at a fixed rate")
            return
        served += saturated(args, running, receiver, figures)
        if args.throughput_only:
            return
        served += fixed(args, pair, figures, "fixed_rate", "(1) GET latency at a fixed rate")
        spans_check(receiver, served, figures)
        collector_down(args, pair, receiver, figures)


def run(args) -> None:
    figures: dict = {"machine": {"nproc": os.cpu_count(), "cpu": cpu_model(), "load_start": load_average()}}
    out(f"# bench: {os.cpu_count()} CPUs ({figures['machine']['cpu']}), load {load_average()}")
    if not args.lab_only:
        check_checkout()
        if not shutil.which("wrk"):
            raise BenchError("wrk not found (bench/run installs Debian's wrk)")
        workdir = Path(tempfile.mkdtemp(prefix="pethistory-bench-"))
        log(f"work directory {workdir}")
        try:
            service_steps(args, workdir, figures)
        finally:
            if args.keep:
                log(f"kept {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
    if not (args.fixed_only or args.throughput_only):
        figures.update(lab.steps(args.lab or args.lab_only, args.quick))
    figures["machine"]["load_end"] = load_average()
    targets.report(figures, args.quick)
    out(f"# load average at the end: {load_average()}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


def main(argv=None) -> int:
    try:
        run(parse_args(argv))
    except BenchError as error:
        print(f"bench/run: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:  # a server, the receiver or wrk failed: what it said
        print(f"bench/run: {error}", file=sys.stderr)
        return 1
    return 0
