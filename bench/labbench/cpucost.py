"""CPU cost of one GET of the service, instrumented vs not, measured in-process (no HTTP client).

Each variant runs in its own child process (OTel's providers are process-wide): it builds the app
as gunicorn's worker does (`create_app()` from the environment, then `gc.freeze()`), then calls the
WSGI app N times on one thread and reports process CPU time per request, which counts the export
thread too and is far less disturbed by other work on the machine than wall-clock throughput. With
--cprofile the instrumented child also prints its cProfile top functions; with --gc every child
also prints the cyclic GC's passes (per generation: how many, their time per request, the longest;
a pass holds the GIL), and --no-freeze leaves the freeze out. With --instructions it counts
instructions per request under valgrind's callgrind instead (a child with N requests minus one
with none): the same count run after run, whatever else the machine is doing.

    bench/run is the benchmark; this is the tool used to find where the time goes:
    python -m labbench.cpucost [--requests 3000] [--rounds 3] [--cprofile] [--gc [--no-freeze]]

Starts its own PostgreSQL (100 rows) and OTLP receiver like bench/run.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from labtest.pgserver import PostgresServer

from labbench.common import ROOT, TRANSACTIONS, BenchError, load_average, median
from labbench.receiver import Receiver
from labbench.servers import UNTRACED_ENV, parse_variant, seed, service_env, traced_env

CHILD = [sys.executable, "-m", "labbench.cpucost", "--child"]
ENVIRON = {
    "REQUEST_METHOD": "GET", "PATH_INFO": TRANSACTIONS, "QUERY_STRING": "", "RAW_URI": TRANSACTIONS,
    "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8080", "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "50000", "HTTP_HOST": "127.0.0.1:8080",
    "HTTP_USER_AGENT": "wrk", "wsgi.url_scheme": "http", "wsgi.multithread": True,
    "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0), "SCRIPT_NAME": "",
}


# --- the child: one variant, in-process ---------------------------------------------------------


def one_get(app) -> None:
    environ = dict(ENVIRON, **{"wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr})
    status = []
    body = app(environ, lambda s, h, e=None: status.append(s))
    for _ in body:
        pass
    if hasattr(body, "close"):
        body.close()
    assert status[0].startswith("200"), status


def flush_spans() -> None:
    """Exports every finished span now (the SDK's provider; the no-op one has nothing to flush)."""
    from opentelemetry import trace

    flush = getattr(trace.get_tracer_provider(), "force_flush", None)
    if flush is not None:
        flush()


class GcPasses:
    """The cyclic GC's passes by generation while recording: seconds each."""

    def __init__(self):
        self.passes = {0: [], 1: [], 2: []}
        self._began = 0.0

    def __call__(self, phase, info):
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.passes[info["generation"]].append(time.perf_counter() - self._began)

    def summary(self, per: float) -> dict:
        return {g: {"passes": len(t), "us_per_request": sum(t) * per, "longest_ms": max(t, default=0) * 1e3}
                for g, t in self.passes.items()}


def print_profile(profiler) -> None:
    import pstats

    if os.environ.get("PDUMP"):
        profiler.dump_stats(os.environ["PDUMP"])
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream).sort_stats(os.environ.get("PSORT", "tottime"))
    stats.print_stats(int(os.environ.get("PTOP", "45")))
    print(stream.getvalue(), file=sys.stderr)


def child(requests: int, cprofile: bool, freeze: bool) -> None:
    import cProfile
    import gc

    from pethistory import create_app

    app = create_app()
    if freeze:  # as each gunicorn worker does once the app is loaded (labservice/gunicorn_conf.py)
        gc.freeze()
    for _ in range(300):  # warm-up
        one_get(app)
    flush_spans()
    profiler = cProfile.Profile() if cprofile else None
    if profiler:
        profiler.enable()
    passes = GcPasses()
    gc.callbacks.append(passes)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(requests):
        one_get(app)
    flush_spans()  # the export of these requests' spans counts too
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    gc.callbacks.remove(passes)
    if profiler:
        profiler.disable()
        print_profile(profiler)
    per = 1e6 / max(requests, 1)  # 0 requests: the --instructions baseline run
    print(json.dumps({"cpu_us": cpu * per, "wall_us": wall * per, "gc": passes.summary(per)}))


# --- the parent: the variants, each in its children ---------------------------------------------


def child_env(pg, extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **service_env(pg), **extra}


def count_instructions(variants: dict[str, dict], requests: int, pg, flags: list[str]) -> None:
    """Instructions per request of each variant: a child under callgrind with `requests` GETs
    minus one with none (same start-up, warm-up and final export), divided by `requests`."""
    counts = {}
    for name, extra in variants.items():
        env = child_env(pg, extra)
        totals = []
        for n in (0, requests):
            done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                                   *CHILD, "--requests", str(n), *flags],
                                  env=env, cwd=ROOT, capture_output=True, text=True)
            collected = re.search(r"Collected : (\d+)", done.stderr)
            if done.returncode != 0 or not collected:
                raise RuntimeError(done.stderr[-3000:])
            totals.append(int(collected.group(1)))
        counts[name] = (totals[1] - totals[0]) / requests
        print(f"{name:<28} {counts[name] / 1e3:8.0f} k instructions/request", flush=True)
    base = counts["uninstrumented"]
    for name, count in counts.items():
        if name != "uninstrumented":
            print(f"INSTRUCTIONS added: {name} {(count - base) / 1e3:+.0f} k per request "
                  f"(ratio uninstrumented/{name} {base / count:.3f})")


def gc_line(stats: dict) -> str:
    return "    gc " + "; ".join(
        f"gen{g}: {p['passes']} passes, {p['us_per_request']:.1f} µs/request, longest {p['longest_ms']:.2f} ms"
        for g, p in stats["gc"].items())


def cpu_rounds(args, variants: dict[str, dict], pg, flags: list[str]) -> dict[str, list[dict]]:
    results = {name: [] for name in variants}
    for r in range(args.rounds):
        for name, extra in variants.items():
            command = [*CHILD, "--requests", str(args.requests), *flags]
            if args.cprofile and name == "instrumented" and r == 0:
                command.append("--cprofile")
            done = subprocess.run(command, env=child_env(pg, extra), cwd=ROOT,
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(done.stderr[-3000:])
            if "--cprofile" in command:
                print(done.stderr[-12000:])
            stats = json.loads(done.stdout.strip().splitlines()[-1])
            results[name].append(stats)
            print(f"round {r + 1} {name:<28} cpu {stats['cpu_us']:7.0f} µs/request  "
                  f"wall {stats['wall_us']:7.0f} µs  (load {load_average()})", flush=True)
            if args.gc:
                print(gc_line(stats), flush=True)
    return results


def print_cpu(results: dict[str, list[dict]]) -> None:
    u = median([s["cpu_us"] for s in results["uninstrumented"]])
    for name in results:
        if name != "uninstrumented":
            i = median([s["cpu_us"] for s in results[name]])
            print(f"CPU per request: {name} {i:.0f} µs, uninstrumented {u:.0f} µs, "
                  f"added {i - u:.0f} µs; CPU ratio uninstrumented/{name} {u / i:.3f}")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m labbench.cpucost", description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=3000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--cprofile", action="store_true", help="print the instrumented child's profile")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--no-exporter", action="store_true", help="instrumented, OTEL_TRACES_EXPORTER=none")
    p.add_argument("--instructions", action="store_true",
                   help="count instructions per request under valgrind's callgrind instead of CPU time")
    p.add_argument("--gc", action="store_true",
                   help="also print the cyclic GC's passes per generation (count, time per request, longest)")
    p.add_argument("--no-freeze", action="store_true",
                   help="leave out the gc.freeze() a gunicorn worker does after loading the app")
    p.add_argument("--variant", action="append", default=[], metavar="NAME:VAR=VALUE,...",
                   help="add an instrumented variant with these environment variables (repeatable)")
    args = p.parse_args(argv)
    if args.requests < (0 if args.child else 1) or args.rounds < 1:
        p.error("--requests and --rounds must be positive")
    return args


def measure(args) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="pethistory-profile-"))
    pg = PostgresServer()
    receiver = None
    try:
        seed(pg, 100)
        receiver = Receiver(workdir)
        print(f"# receiver: {receiver.description}; load {load_average()}")
        instrumented = {**traced_env(receiver.endpoint),
                        **({"OTEL_TRACES_EXPORTER": "none"} if args.no_exporter else {})}
        variants = {"instrumented": instrumented}
        for name, extra in map(parse_variant, args.variant):
            variants[name] = {**instrumented, **extra}
        variants["uninstrumented"] = UNTRACED_ENV
        flags = ["--no-freeze"] if args.no_freeze else []
        if args.instructions:
            count_instructions(variants, args.requests, pg, flags)
        else:
            print_cpu(cpu_rounds(args, variants, pg, flags))
    finally:
        if receiver is not None:
            receiver.stop()
        pg.destroy()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child:
        child(args.requests, args.cprofile, freeze=not args.no_freeze)
        return 0
    try:
        measure(args)
    except BenchError as error:
        print(f"cpucost: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
