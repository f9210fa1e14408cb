"""CPU cost of one GET of the service, instrumented vs not, measured in-process (no HTTP client).

Each variant runs in its own child process (OTel's providers are process-wide): it builds the app
as gunicorn's worker does (`create_app()` from the environment, then `gc.freeze()`), then calls the
WSGI app N times on one thread and reports process CPU time per request, which counts the export
thread too and is far less disturbed by other work on the machine than wall-clock throughput. With
--cprofile the instrumented child also prints its cProfile top functions; with --gc every child
also prints the cyclic GC's passes (per generation: how many, their time per request, the longest;
a pass holds the GIL), and --no-freeze leaves the freeze out (the "before" of that lever).

    bench/run is the benchmark; this is the tool used to find where the time goes:
    python bench/cpucost.py [--requests 3000] [--rounds 3] [--cprofile] [--gc [--no-freeze]]

Starts its own PostgreSQL (100 rows) and OTLP receiver like bench/run.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench  # noqa: E402


def child(requests: int, cprofile: bool, freeze: bool) -> None:
    import gc

    from pethistory import create_app

    app = create_app()
    if freeze:  # as each gunicorn worker does once the app is loaded (labservice/gunicorn_conf.py)
        gc.freeze()
    environ_base = {
        "REQUEST_METHOD": "GET", "PATH_INFO": bench.TRANSACTIONS, "QUERY_STRING": "", "RAW_URI": bench.TRANSACTIONS,
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8080", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "50000", "HTTP_HOST": "127.0.0.1:8080",
        "HTTP_USER_AGENT": "wrk", "wsgi.url_scheme": "http", "wsgi.multithread": True,
        "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0),
        "SCRIPT_NAME": "",
    }

    def call():
        environ = dict(environ_base, **{"wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr})
        status = []
        body = app(environ, lambda s, h, e=None: status.append(s))
        for _ in body:
            pass
        if hasattr(body, "close"):
            body.close()
        assert status[0].startswith("200"), status

    for _ in range(300):
        call()
    telemetry = app.extensions["telemetry"]
    if telemetry.tracer_provider is not None:
        telemetry.tracer_provider.force_flush()
    profiler = None
    if cprofile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    passes = {0: [], 1: [], 2: []}  # the cyclic GC's passes by generation: seconds each
    began = [0.0]

    def on_gc(phase, info):
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            passes[info["generation"]].append(time.perf_counter() - began[0])

    gc.callbacks.append(on_gc)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(requests):
        call()
    if telemetry.tracer_provider is not None:
        telemetry.tracer_provider.force_flush()  # the export of these requests' spans counts too
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    gc.callbacks.remove(on_gc)
    if profiler is not None:
        import pstats

        profiler.disable()
        if os.environ.get("PDUMP"):
            profiler.dump_stats(os.environ["PDUMP"])
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats(os.environ.get("PSORT", "tottime")).print_stats(int(os.environ.get("PTOP", "45")))
        print(stream.getvalue(), file=sys.stderr)
    per = 1e6 / max(requests, 1)  # 0 requests: the --instructions baseline run
    print(json.dumps({"cpu_us": cpu * per, "wall_us": wall * per, "gc": {
        generation: {"passes": len(times), "us_per_request": sum(times) * per,
                     "longest_ms": max(times, default=0) * 1e3}
        for generation, times in passes.items()}}))


def count_instructions(variants: dict[str, dict], requests: int, pg, workdir: Path, child_flags: list[str]) -> int:
    """Instructions per request of each variant: a child under callgrind with `requests` GETs
    minus one with none (same start-up, warm-up and final export), divided by `requests`."""
    counts = {}
    for name, extra in variants.items():
        env = {**os.environ, **bench.service_env(pg, workdir, f"{name}-cg"), **extra}
        os.makedirs(env["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
        totals = []
        for n in (0, requests):
            done = subprocess.run(
                ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                 sys.executable, __file__, "--child", "--requests", str(n), *child_flags],
                env=env, cwd=bench.SERVICE_DIR, capture_output=True, text=True)
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
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-exporter", action="store_true", help="instrumented, OTEL_TRACES_EXPORTER=none")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions per request under valgrind's callgrind instead of CPU "
                             "time: the same count run after run, whatever else the machine does")
    parser.add_argument("--gc", action="store_true",
                        help="also print the cyclic GC's passes per generation (count, time per request, longest)")
    parser.add_argument("--no-freeze", action="store_true",
                        help="leave out the gc.freeze() a gunicorn worker does after loading the app")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME:VAR=VALUE,...",
                        help="add an instrumented variant with these environment variables (repeatable)")
    args = parser.parse_args()
    if args.child:
        child(args.requests, args.cprofile, freeze=not args.no_freeze)
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="pethistory-profile-"))
    pg = bench.PostgresServer()
    receiver = None
    try:
        bench.seed(pg, 100)
        receiver = bench.Receiver(workdir)
        print(f"# receiver: {receiver.description}; load {bench.load_average()}")
        variants = {
            "instrumented": {"OTEL_SDK_DISABLED": "false",
                             "OTEL_TRACES_EXPORTER": "none" if args.no_exporter else "otlp",
                             "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint},
        }
        for spec in args.variant:
            name, extra = bench.parse_variant(spec)
            variants[f"instrumented-{name}"] = {**variants["instrumented"], **extra}
        variants["uninstrumented"] = {"OTEL_SDK_DISABLED": "true"}
        child_flags = ["--no-freeze"] if args.no_freeze else []
        if args.instructions:
            return count_instructions(variants, args.requests, pg, workdir, child_flags)
        results = {name: [] for name in variants}
        for r in range(args.rounds):
            for name, extra in variants.items():
                env = {**os.environ, **bench.service_env(pg, workdir, f"{name}{r}"), **extra}
                os.makedirs(env["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
                command = [sys.executable, __file__, "--child", "--requests", str(args.requests), *child_flags]
                if args.cprofile and name == "instrumented" and r == 0:
                    command.append("--cprofile")
                done = subprocess.run(command, env=env, cwd=bench.SERVICE_DIR, capture_output=True, text=True)
                if done.returncode != 0:
                    raise RuntimeError(done.stderr[-3000:])
                if "--cprofile" in command:
                    print(done.stderr[-12000:])
                stats = json.loads(done.stdout.strip().splitlines()[-1])
                results[name].append(stats)
                print(f"round {r + 1} {name:<28} cpu {stats['cpu_us']:7.0f} µs/request  "
                      f"wall {stats['wall_us']:7.0f} µs  (load {bench.load_average()})", flush=True)
                if args.gc:
                    print("    gc " + "; ".join(
                        f"gen{g}: {p['passes']} passes, {p['us_per_request']:.1f} µs/request, longest {p['longest_ms']:.2f} ms"
                        for g, p in stats["gc"].items()), flush=True)
        u = bench.median([s["cpu_us"] for s in results["uninstrumented"]])
        for name in results:
            if name.startswith("instrumented"):
                i = bench.median([s["cpu_us"] for s in results[name]])
                print(f"CPU per request: {name} {i:.0f} µs, uninstrumented {u:.0f} µs, "
                      f"added {i - u:.0f} µs; CPU ratio uninstrumented/{name} {u / i:.3f}")
        return 0
    finally:
        if receiver is not None:
            receiver.stop()
        pg.destroy()


if __name__ == "__main__":
    sys.exit(main())
