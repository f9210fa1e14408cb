"""What instrumentation costs (issue 8). Run through `bench/run`; see bench/README.md.

Starts a throw-away PostgreSQL (the service tests' pgserver module) with 100 rows, a real OTLP/gRPC
receiver, and side by side on loopback: the service under gunicorn instrumented (100 % sampling,
spans exported over OTLP gRPC), the same service with OTEL_SDK_DISABLED=true, and the workshop's
own setup (bench/workshop_app.py). Loads are alternated round by round and compared as ratios, so
load from other work on the machine hits every variant alike.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICE_DIR = ROOT / "services" / "pethistory"
LABTELEMETRY_DIR = ROOT / "services" / "labtelemetry"
sys.path.insert(0, str(SERVICE_DIR / "tests"))  # pgserver: the tests' throw-away PostgreSQL
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "scripts"))  # labcli: the lab lock the e2e tests take too

import docker_memory  # noqa: E402
import fixedrate  # noqa: E402
from labcli import lablock  # noqa: E402
from pgserver import PostgresServer, free_port  # noqa: E402

TRANSACTIONS = "/petadoptionshistory/api/home/transactions"
COLLECTOR_IMAGE = "public.ecr.aws/aws-observability/aws-otel-collector:v0.49.0"
CACHE = Path(os.environ.get("BENCH_CACHE", Path.home() / ".cache" / "petlab-bench"))
# Issue 8's targets, checked at the end of a run: (what, where in the figures, >= or <=, bound).
TARGETS = (
    ("throughput ratio instrumented/uninstrumented", ("throughput", "ratio_median"), ">=", 0.90),
    ("p99 added at the fixed rate (ms)", ("fixed_rate", "p99_added_ms"), "<=", 1.0),
    ("throughput instrumented/workshop", ("vs_workshop",), ">=", 6.0),
    ("lab memory under the default load (MiB)", ("lab_memory_load_mib",), "<=", 768),
    ("seconds from `lab up` to the first trace", ("first_trace_s",), "<=", 10),
)


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def out(message: str = "") -> None:
    print(message, flush=True)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def wait_port(port: int, process: subprocess.Popen | None, timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port}")


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} never answered 200")
        time.sleep(0.2)


# --- the OTLP receiver -------------------------------------------------------------------------


def docker_engine() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def collector_binary() -> tuple[Path | None, str]:
    """The ADOT collector twin binary: $BENCH_COLLECTOR_BIN, a cached copy, or copied out of the
    lab's collector image with `docker create` + `docker cp`."""
    explicit = os.environ.get("BENCH_COLLECTOR_BIN")
    if explicit:
        return Path(explicit), f"otelcol-twin ({explicit})"
    cached = CACHE / "otelcol-twin"
    if cached.is_file() and os.access(cached, os.X_OK):
        return cached, f"otelcol-twin (cached copy from {COLLECTOR_IMAGE}, {cached})"
    if not docker_engine():
        return None, "no Docker engine"
    have = subprocess.run(["docker", "image", "inspect", COLLECTOR_IMAGE], capture_output=True)
    if have.returncode != 0:
        return None, f"image {COLLECTOR_IMAGE} not present"
    created = subprocess.run(["docker", "create", COLLECTOR_IMAGE], capture_output=True, text=True)
    if created.returncode != 0:
        return None, f"docker create failed: {created.stderr.strip()}"
    container = created.stdout.strip()
    try:
        CACHE.mkdir(parents=True, exist_ok=True)
        copied = subprocess.run(["docker", "cp", f"{container}:/otelcol-twin", str(cached)],
                                capture_output=True, text=True)
        if copied.returncode != 0:
            return None, f"no /otelcol-twin in {COLLECTOR_IMAGE} ({copied.stderr.strip()})"
    finally:
        subprocess.run(["docker", "rm", container], capture_output=True)
    return cached, f"otelcol-twin (docker cp from {COLLECTOR_IMAGE})"


COLLECTOR_CONFIG = """\
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{port}
processors:
  batch: {{}}
exporters:
  debug:
    verbosity: basic
service:
  telemetry:
    logs:
      level: info
      sampling:
        enabled: false  # one log line per received batch: the bench counts the spans from them
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
"""


def terminate(process: subprocess.Popen, timeout: float, kill) -> None:
    """SIGTERM, then kill() if it has not exited after timeout seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill()
            process.wait()


def cpu_ticks(pid: int) -> int:
    """CPU time (clock ticks, every thread) used so far by a process and its direct children."""
    pids = [pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    ticks = 0
    for one in pids:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime + stime
        except (OSError, IndexError, ValueError):
            pass
    return ticks


class Receiver:
    """A real OTLP/gRPC receiver: the collector twin if it can be had, else bench/otlp_sink.py."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.log_path = workdir / "receiver.log"
        if os.environ.get("BENCH_RECEIVER") == "sink":
            binary, why = None, "BENCH_RECEIVER=sink"
        else:
            binary, why = collector_binary()
        self._log = open(self.log_path, "w")
        if binary is not None:
            config = workdir / "collector.yaml"
            config.write_text(COLLECTOR_CONFIG.format(port=self.port))
            command = [str(binary), f"--config={config}"]
            self.description = why
        else:
            command = [sys.executable, str(Path(__file__).with_name("otlp_sink.py")), str(self.port)]
            self.description = f"bench/otlp_sink.py, a grpcio OTLP sink ({why})"
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT,
                                         env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true"})
        wait_port(self.port, self.process, what="OTLP receiver")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        terminate(self.process, 10, self.process.kill)
        self._log.close()


# --- the servers under test -------------------------------------------------------------------


class Server:
    def __init__(self, name: str, command: list[str], env: dict[str, str], workdir: Path, cwd: Path):
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"{name}.log"
        self._log = open(self.log_path, "w")
        full_env = {**os.environ, **env, "PORT": str(self.port)}
        self.process = subprocess.Popen(
            [part.replace("{port}", str(self.port)) for part in command],
            cwd=cwd, env=full_env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_port(self.port, self.process, what=name)
        wait_http(self.url + TRANSACTIONS)

    def cpu_ticks(self) -> int:
        """CPU time (clock ticks) used so far by the server and its worker processes."""
        return cpu_ticks(self.process.pid)

    def stop(self) -> None:
        # gunicorn's workers are in the server's session: a stuck one goes with the group.
        terminate(self.process, 30, lambda: os.killpg(self.process.pid, signal.SIGKILL))
        self._log.close()


def service_env(pg: PostgresServer, workdir: Path, name: str) -> dict[str, str]:
    return {
        **pg.env(),
        "PYTHONPATH": os.pathsep.join([str(SERVICE_DIR), str(LABTELEMETRY_DIR)]),
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / f"metrics-{name}"),
        "LOG_LEVEL": "INFO",
    }


def gunicorn(name: str, env: dict[str, str], workdir: Path) -> Server:
    command = [sys.executable, "-m", "gunicorn", "-c", str(SERVICE_DIR / "gunicorn.conf.py"),
               "--bind", "127.0.0.1:{port}", "pethistory.wsgi:app"]
    return Server(name, command, env, workdir, SERVICE_DIR)


def seed(pg: PostgresServer, rows: int) -> None:
    env = {**os.environ, **pg.env(), "OTEL_SDK_DISABLED": "true",
           "PYTHONPATH": os.pathsep.join([str(SERVICE_DIR), str(LABTELEMETRY_DIR)])}
    subprocess.run([sys.executable, "-m", "flask", "--app", "pethistory:create_app()", "seed",
                    "--rows", str(rows)], env=env, cwd=SERVICE_DIR, check=True, capture_output=True)


# --- load -------------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(url: str, seconds: float, connections: int = 50, threads: int = 2) -> dict:
    result = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", url],
        capture_output=True, text=True, timeout=seconds + 60,
    )
    text = result.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if result.returncode != 0 or not rps:
        raise RuntimeError(f"wrk failed: {result.stderr or text}")
    stats = {"rps": float(rps.group(1)), "requests": int(re.search(r"(\d+) requests in", text).group(1))}
    for label in ("50", "99"):
        match = re.search(rf"^\s+{label}%\s+(\S+)", text, re.M)
        stats[f"p{label}_ms"] = _ms(match.group(1)) if match else float("nan")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket_errors = re.search(r"Socket errors: (.*)", text)
    stats["errors"] = int(errors.group(1)) if errors else 0
    if socket_errors:
        stats["socket_errors"] = socket_errors.group(1).strip()
    return stats


def fixed_side_by_side(variants: dict[str, "Server"], rounds: int, rate: float, seconds: float,
                       label: str, connections: int = 16) -> dict[str, list[dict]]:
    """Every variant at the same fixed rate at the same time (one event loop), round after round:
    background load from the machine then hits all of them alike, which alternation cannot ensure
    for a tail percentile."""
    names = list(variants)
    results: dict[str, list[dict]] = {name: [] for name in names}
    for r in range(rounds):
        urls = [variants[name].url + TRANSACTIONS for name in names]
        for name, stats in zip(names, asyncio.run(fixedrate.run_many(urls, rate, seconds, connections))):
            stats["load"] = load_average()
            results[name].append(stats)
            log(f"{label} round {r + 1}/{rounds} {name}: {json.dumps(stats)}")
    return results


def parse_variant(spec: str) -> tuple[str, dict[str, str]]:
    """`NAME:VAR=VALUE,VAR=VALUE` (a --variant option) as (NAME, {VAR: VALUE})."""
    name, _, assignments = spec.partition(":")
    return name, dict(item.split("=", 1) for item in assignments.split(",") if "=" in item)


def median(values):
    return statistics.median(values) if values else float("nan")


def alternate(variants: dict[str, Server], rounds: int, measure, label: str,
              receiver: Receiver | None = None) -> dict[str, list[dict]]:
    """Each round measures every variant once, in an order that rotates between rounds. With a
    receiver, its CPU during each round counts too (receiver_cpu_us: the collector's share of
    the machine, which a saturated 2-core run takes from the servers)."""
    results: dict[str, list[dict]] = {name: [] for name in variants}
    names = list(variants)
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            ticks = variants[name].cpu_ticks()
            receiver_ticks = cpu_ticks(receiver.process.pid) if receiver else 0
            stats = measure(variants[name].url + TRANSACTIONS)
            if "requests" in stats and stats["requests"]:
                per_request_us = 1e6 / os.sysconf("SC_CLK_TCK") / stats["requests"]
                stats["cpu_us"] = round((variants[name].cpu_ticks() - ticks) * per_request_us)
                if receiver:
                    stats["receiver_cpu_us"] = round((cpu_ticks(receiver.process.pid) - receiver_ticks) * per_request_us)
            stats["load"] = load_average()
            results[name].append(stats)
            log(f"{label} round {r + 1}/{rounds} {name}: {json.dumps(stats)}")
    return results


def receiver_cpu(us: float) -> str:
    return "-" if math.isnan(us) else f"{us:.0f} us"  # "-": no receiver ran (step 2)


def throughput_report(title: str, results: dict[str, list[dict]], base: str = "uninstrumented") -> dict:
    ratios = [i["rps"] / u["rps"] for i, u in zip(results["instrumented"], results[base])]
    summary = {
        "ratio_median": median(ratios),
        "ratios": [round(x, 3) for x in ratios],
        "rps": {name: median([s["rps"] for s in runs]) for name, runs in results.items()},
        "p50_ms": {name: median([s["p50_ms"] for s in runs]) for name, runs in results.items()},
        "p99_ms": {name: median([s["p99_ms"] for s in runs]) for name, runs in results.items()},
        "errors": {name: sum(s["errors"] for s in runs) for name, runs in results.items()},
        # Server CPU per request: steadier than req/s when other work shares the machine.
        "cpu_us": {name: median([s.get("cpu_us", float("nan")) for s in runs]) for name, runs in results.items()},
        "receiver_cpu_us": {name: median([s.get("receiver_cpu_us", float("nan")) for s in runs])
                            for name, runs in results.items()},
    }
    out(f"## {title}: wrk -t2 -c50, {len(ratios)} alternated rounds (medians)")
    out(f"  {'variant':<26} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'server CPU/req':>15}"
        f" {'receiver CPU/req':>17}")
    for name in results:
        out(f"  {name:<26} {summary['rps'][name]:>7.0f} {summary['p50_ms'][name]:>8.2f} "
            f"{summary['p99_ms'][name]:>8.2f} {summary['errors'][name]:>8} {summary['cpu_us'][name]:>12.0f} us"
            f" {receiver_cpu(summary['receiver_cpu_us'][name]):>17}")
    return summary


def fixed_report(title: str, rate: float, results: dict[str, list[dict]]) -> dict:
    diffs = [i["p99_ms"] - u["p99_ms"] for i, u in zip(results["instrumented"], results["uninstrumented"])]
    summary = {
        "rate": rate,
        "p99_added_ms": median(diffs),
        "p99_added_runs": [round(x, 3) for x in diffs],
        "p50_ms": {name: median([s["p50_ms"] for s in runs]) for name, runs in results.items()},
        "p99_ms": {name: median([s["p99_ms"] for s in runs]) for name, runs in results.items()},
        "achieved": {name: median([s["rate"] for s in runs]) for name, runs in results.items()},
        "errors": {name: sum(s["errors"] for s in runs) for name, runs in results.items()},
    }
    out(f"## {title}: fixed rate {rate:g} req/s each, side by side, {len(diffs)} rounds (medians)")
    out(f"  {'variant':<16} {'achieved':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>8}")
    for name in results:
        out(f"  {name:<16} {summary['achieved'][name]:>9.1f} {summary['p50_ms'][name]:>8.2f} "
            f"{summary['p99_ms'][name]:>8.2f} {summary['errors'][name]:>8}")
    return summary


# --- optional: the whole lab (--lab) ----------------------------------------------------------


def _tail(log, chars: int = 300) -> str:
    log.seek(0)
    return log.read().strip()[-chars:]


def lab_container_ids() -> list[str]:
    """The running containers of the lab's compose project."""
    return subprocess.run(["docker", "ps", "-q", "--filter", "label=com.docker.compose.project=petlab"],
                          capture_output=True, text=True).stdout.split()


def lab_memory() -> tuple[float, list[str]]:
    """The lab's containers' memory now (`docker stats`): total MiB and one line per container."""
    used = docker_memory.container_memory(lab_container_ids())
    lines = [f"  {name:<40} {value:.1f} MiB" for name, value in used.items()]
    return sum(value for value in used.values() if value == value), lines  # NaN: not counted


def memory_report(title: str, total: float, lines: list[str]) -> None:
    out(f"## (3) whole-lab memory {title}")
    for line in lines:
        out(line)
    out(f"  total {total:.0f} MiB")


def memory_under_load(lab: list[str], seconds: int) -> float | None:
    """The lab's peak memory while `scripts/lab load` (the default Locust load: 5 users, the
    workshop's traffic through PetSite) runs for `seconds`; its own Locust container counts too."""
    log_file = tempfile.TemporaryFile(mode="w+")
    load = subprocess.Popen([*lab, "load", "--duration", f"{seconds}s"], stdout=log_file,
                            stderr=subprocess.STDOUT, text=True)
    peak, peak_lines, samples = 0.0, [], 0
    time.sleep(min(10, seconds / 2))  # users started, first requests through
    while load.poll() is None:
        total, lines = lab_memory()
        samples += 1
        if total > peak:
            peak, peak_lines = total, lines
        time.sleep(2)
    if load.returncode != 0 or not samples:
        out(f"## (3) whole-lab memory under load: skipped: scripts/lab load failed "
            f"(exit {load.returncode}): {_tail(log_file)}")
        return None
    memory_report(f"under the default load (scripts/lab load, {seconds} s): peak of {samples} samples",
                  peak, peak_lines)
    return peak


def _first_trace(port: str, jaeger: str, started: float) -> float | None:
    """One GET to the service and one Jaeger query: seconds since `started` once a trace is there."""
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}{TRANSACTIONS}", timeout=2).read()
    except OSError:
        pass  # not listening yet, or 503 while PostgreSQL starts: that request is traced too
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{jaeger}/api/traces?service=PetAdoptionsHistory&limit=1", timeout=2
        ) as response:
            if json.load(response).get("data"):
                return time.monotonic() - started
    except (OSError, ValueError):
        pass
    return None


def lab_steps(args) -> dict:
    result: dict = {}
    if not args.lab:
        out("## (3) whole-lab memory: skipped: needs --lab (and a Docker engine with the lab's images)")
        out("## (4) seconds from `scripts/lab up` to the first trace in Jaeger: skipped: needs --lab")
        return result
    if not docker_engine():
        out("## (3) whole-lab memory: skipped: no Docker engine answers (docker info)")
        out("## (4) lab up to first trace: skipped: no Docker engine answers")
        return result
    lab = [sys.executable, str(ROOT / "scripts" / "lab")]
    port = os.environ.get("PETHISTORY_PORT", "8080")
    jaeger = os.environ.get("JAEGER_UI_PORT", "16686")
    running = lab_container_ids()
    started_here = False
    lock = None
    if not running:
        try:
            lock = lablock.acquire(float(os.environ.get("BENCH_LAB_LOCK_WAIT", "300")))
        except TimeoutError as error:
            out(f"## (4) lab up to first trace: skipped: {error}")
            return result
        running = lab_container_ids()
    if running:
        out("## (4) lab up to first trace: skipped: the lab is already running (time it from a stopped lab)")
    else:
        # Traffic and Jaeger queries from the moment `lab up` starts: what a user sees first.
        started = time.monotonic()
        up_log = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe nobody reads while polling
        up = subprocess.Popen([*lab, "up", "--backend", "local"], stdout=subprocess.DEVNULL, stderr=up_log, text=True)
        up_seconds = first = None
        while time.monotonic() < started + 180 and (first is None or up_seconds is None):
            if up_seconds is None and up.poll() is not None:
                up_seconds = time.monotonic() - started
                if up.returncode != 0:
                    out(f"## (4) lab up to first trace: skipped: scripts/lab up failed: {_tail(up_log)}")
                    subprocess.run([*lab, "down"], capture_output=True, timeout=300)
                    lock.close() if lock is not None else None
                    return result
            if first is None:
                first = _first_trace(port, jaeger, started)
            time.sleep(0.25)
        if up_seconds is None:
            up.kill()
        started_here = True
        result["lab_up_s"] = round(up_seconds, 1) if up_seconds else None
        result["first_trace_s"] = round(first, 1) if first else None
        out(f"## (4) first trace in Jaeger {first:.1f} s after `scripts/lab up` started" if first
            else "## (4) no trace reached Jaeger within 180 s of lab up")
        out(f"      `scripts/lab up` returned (every container healthy) after {up_seconds:.1f} s" if up_seconds
            else "      `scripts/lab up` did not return within 180 s")
    total, lines = lab_memory()
    memory_report("(docker stats), idle", total, lines)
    result["lab_memory_mib"] = round(total)
    loaded = memory_under_load(lab, 20 if args.quick else 60)
    if loaded is not None:
        result["lab_memory_load_mib"] = round(loaded)
    if started_here:
        subprocess.run([*lab, "down"], capture_output=True, timeout=300)
    if lock is not None:
        lock.close()
    return result


def targets_report(figures: dict, quick: bool) -> None:
    out("## targets (bench/README.md)" + (": --quick run, its figures are not meant for them" if quick else ""))
    for label, path, sense, bound in TARGETS:
        value = figures
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            out(f"  {label}: not measured in this run")
            continue
        met = value >= bound if sense == ">=" else value <= bound
        out(f"  {label}: {value:.3g} (target {sense} {bound:g}): {'met' if met else 'NOT met'}")


# --- main -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench/run", description="What instrumentation costs.")
    parser.add_argument("--quick", action="store_true", help="a few seconds per step (smoke test)")
    parser.add_argument("--rounds", type=int, help="alternated wrk rounds per step (default 10, quick 1)")
    parser.add_argument("--seconds", type=float, help="seconds per wrk run (default 3, quick 2)")
    parser.add_argument("--rate", type=float, default=200, help="fixed request rate, req/s (default 200)")
    parser.add_argument("--lab", action="store_true", help="also measure the whole lab (Docker)")
    parser.add_argument("--no-workshop", action="store_true", help="skip the workshop's setup")
    parser.add_argument("--sdk-encoder", action="store_true",
                        help="add a variant exporting with the SDK's OTLP encoder (the export lever's before)")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME:VAR=VALUE,...",
                        help="add an instrumented server with these environment variables (repeatable)")
    parser.add_argument("--fixed-only", action="store_true",
                        help="only step (1)'s fixed-rate rounds (for comparing latency settings)")
    parser.add_argument("--throughput-only", action="store_true",
                        help="only step (1)'s wrk rounds (for comparing server settings)")
    parser.add_argument("--lab-only", action="store_true",
                        help="only the whole-lab steps (3) and (4) (implies --lab)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args()
    if args.lab_only:
        args.lab = True
        figures = lab_steps(args)
        targets_report(figures, args.quick)
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
        return 0
    # Many short alternated slices: other work on a shared machine changes from second to second,
    # and each round's ratio compares slices a few seconds apart.
    rounds = args.rounds or (1 if args.quick else 10)
    seconds = args.seconds or (2 if args.quick else 3)
    fixed_rounds = 1 if args.quick else 5
    fixed_seconds = 2 if args.quick else 10

    workdir = Path(tempfile.mkdtemp(prefix="pethistory-bench-"))
    figures: dict = {"machine": {"nproc": os.cpu_count(), "cpu": cpu_model(), "load_start": load_average()}}
    pg = receiver = None
    servers: dict[str, Server] = {}
    try:
        out(f"# bench: {os.cpu_count()} CPUs ({figures['machine']['cpu']}), load {load_average()}")
        out(f"# gunicorn WEB_CONCURRENCY={os.environ.get('WEB_CONCURRENCY', '2')} "
            f"GUNICORN_THREADS={os.environ.get('GUNICORN_THREADS', '4')} (gunicorn.conf.py defaults unless set)")
        log(f"work directory {workdir}")
        pg = PostgresServer()
        seed(pg, 100)
        receiver = Receiver(workdir)
        figures["receiver"] = receiver.description
        out(f"# OTLP receiver: {receiver.description}, {receiver.endpoint}")
        servers["instrumented"] = gunicorn("instrumented", {
            **service_env(pg, workdir, "instrumented"),
            "OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_TRACES_SAMPLER": "always_on",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        }, workdir)
        if args.sdk_encoder:  # the export lever's "before": same service, the SDK's OTLP encoder
            servers["instrumented-sdk-encoder"] = gunicorn("instrumented-sdk-encoder", {
                **service_env(pg, workdir, "instrumented-sdk-encoder"),
                "OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "always_on",
                "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "LABTELEMETRY_OTLP_ENCODER": "sdk",
            }, workdir)
        for spec in args.variant:  # NAME:VAR=VALUE,VAR=VALUE: another instrumented server
            name, extra = parse_variant(spec)
            servers[f"instrumented-{name}"] = gunicorn(f"instrumented-{name}", {
                **service_env(pg, workdir, f"instrumented-{name}"),
                "OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "always_on",
                "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, **extra,
            }, workdir)
        servers["uninstrumented"] = gunicorn("uninstrumented", {
            **service_env(pg, workdir, "uninstrumented"), "OTEL_SDK_DISABLED": "true",
        }, workdir)
        if not args.no_workshop:
            servers["workshop"] = Server(
                "workshop", [sys.executable, str(Path(__file__).with_name("workshop_app.py"))],
                pg.env(), workdir, ROOT)
        served = 0  # GETs the instrumented servers answered while the receiver ran: 3 spans each
        for name, server in servers.items():  # warm-up: imports, pools, caches
            warm = wrk(server.url + TRANSACTIONS, 1 if args.quick else 3)
            served += warm["requests"] if name.startswith("instrumented") else 0

        # (1) throughput and latency under saturation, then p99 at a fixed rate below it
        if args.fixed_only:
            pair = {k: servers[k] for k in ("instrumented", "uninstrumented")}
            results = fixed_side_by_side(pair, fixed_rounds, args.rate, fixed_seconds, "fixed rate")
            summary = fixed_report("(1) GET latency at a fixed rate", args.rate, results)
            out(f"P99 added by instrumentation at {args.rate:g} req/s: {summary['p99_added_ms']:+.2f} ms "
                f"(runs {summary['p99_added_runs']})")
            return 0
        results = alternate(servers, rounds, lambda url: wrk(url, seconds), "throughput", receiver)
        served += sum(s["requests"] for name in results if name.startswith("instrumented") for s in results[name])
        summary = throughput_report("(1) GET throughput", results)
        figures["throughput"] = summary
        out(f"RATIO throughput instrumented/uninstrumented: {summary['ratio_median']:.3f} "
            f"(median of {rounds} rounds: {summary['ratios']})")
        cpu = summary["cpu_us"]
        out(f"CPU added by instrumentation: {cpu['instrumented'] - cpu['uninstrumented']:+.0f} us per request "
            f"(server processes; CPU ratio uninstrumented/instrumented {cpu['uninstrumented'] / cpu['instrumented']:.3f})")
        rcpu = summary["receiver_cpu_us"]
        out(f"CPU of the OTLP receiver: {rcpu['instrumented'] - rcpu['uninstrumented']:+.0f} us per instrumented request "
            f"(same machine; its export of the previous round's last batch lands in the next round)")
        if "instrumented-sdk-encoder" in results:
            sdk = [i["rps"] / u["rps"] for i, u in zip(results["instrumented-sdk-encoder"], results["uninstrumented"])]
            figures["sdk_encoder_ratio"] = median(sdk)
            out(f"RATIO throughput instrumented-sdk-encoder/uninstrumented: {median(sdk):.3f} "
                f"(median of {rounds} rounds: {[round(x, 3) for x in sdk]})")
        if "workshop" in results:
            vs = [i["rps"] / w["rps"] for i, w in zip(results["instrumented"], results["workshop"])]
            figures["vs_workshop"] = median(vs)
            out(f"RATIO throughput instrumented/workshop: {median(vs):.2f}x")
        pair = {k: servers[k] for k in ("instrumented", "uninstrumented")}
        if args.throughput_only:
            return 0
        results = fixed_side_by_side(pair, fixed_rounds, args.rate, fixed_seconds, "fixed rate")
        served += sum(s["sent"] - s["errors"] for s in results["instrumented"])
        summary = fixed_report("(1) GET latency at a fixed rate", args.rate, results)
        figures["fixed_rate"] = summary
        out(f"P99 added by instrumentation at {args.rate:g} req/s: {summary['p99_added_ms']:+.2f} ms "
            f"(runs {summary['p99_added_runs']})")
        # Nothing dropped: every span of every GET reached the receiver (after the batch delays).
        expected, deadline = 3 * served, time.monotonic() + 15
        while (receiver_spans(receiver) or 0) < expected and time.monotonic() < deadline:
            time.sleep(0.5)
        received = receiver_spans(receiver)
        figures["spans"] = {"expected": expected, "received": received}
        out(f"SPANS received by the OTLP receiver: {received} of {expected} expected "
            f"(3 per GET served by the instrumented server)")

        # (2) the same with the collector gone: export fails, requests must not slow down
        receiver.stop()
        log("OTLP receiver stopped: export now fails")
        time.sleep(1)
        results = alternate(pair, rounds, lambda url: wrk(url, seconds), "collector down")
        summary = throughput_report("(2) GET throughput, collector stopped", results)
        figures["collector_down"] = summary
        out(f"RATIO throughput instrumented/uninstrumented, collector stopped: {summary['ratio_median']:.3f} "
            f"(median of {rounds} rounds: {summary['ratios']})")
        results = fixed_side_by_side(pair, fixed_rounds, args.rate, fixed_seconds, "fixed rate down")
        summary = fixed_report("(2) GET latency at a fixed rate, collector stopped", args.rate, results)
        figures["collector_down_fixed"] = summary
        out(f"P99 added at {args.rate:g} req/s, collector stopped: {summary['p99_added_ms']:+.2f} ms")
        figures.update(lab_steps(args))
        figures["machine"]["load_end"] = load_average()
        targets_report(figures, args.quick)
        out(f"# load average at the end: {load_average()}")
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
        return 0
    finally:
        for server in servers.values():
            server.stop()
        if receiver is not None:
            receiver.stop()
        if pg is not None:
            pg.destroy()
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def receiver_spans(receiver: Receiver) -> int | None:
    """Spans the receiver has logged so far (collector debug exporter, or the sink's own lines)."""
    text = receiver.log_path.read_text(errors="replace")
    if "otlp_sink" in receiver.description:
        counts = re.findall(r"received (\d+) spans", text)
        return int(counts[-1]) if counts else None
    counts = re.findall(r'"spans": (\d+)', text)
    return sum(int(c) for c in counts) if counts else None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    sys.exit(main())
