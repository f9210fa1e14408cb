"""Steps (3) and (4), with --lab: the whole lab under Docker. (4) times `scripts/lab up` from a
stopped lab to the first trace in Jaeger, under the lab lock the e2e tests take too; (3) the
lab's memory (`docker stats`) idle and under the default load (`scripts/lab load`)."""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import urllib.request

from labcli import lablock

from labtest import docker_memory
from labbench.common import TRANSACTIONS, LAB_CLI, out
from labbench.receiver import docker_engine

UP_TIMEOUT = 180


def _tail(log, chars: int = 300) -> str:
    log.seek(0)
    return log.read().strip()[-chars:]


def container_ids() -> list[str]:
    """The running containers of the lab's compose project."""
    return subprocess.run(["docker", "ps", "-q", "--filter", "label=com.docker.compose.project=petlab"],
                          capture_output=True, text=True).stdout.split()


def memory() -> tuple[float, list[str]]:
    """The lab's containers' memory now: total MiB and one line per container."""
    used = docker_memory.container_memory(container_ids())
    lines = [f"  {name:<40} {value:.1f} MiB" for name, value in used.items()]
    return sum(value for value in used.values() if value == value), lines  # NaN: not counted


def memory_report(title: str, total: float, lines: list[str]) -> None:
    out(f"## (3) whole-lab memory {title}")
    for line in lines:
        out(line)
    out(f"  total {total:.0f} MiB")


def memory_under_load(seconds: int) -> float | None:
    """The lab's peak memory while `scripts/lab load` (the default Locust load: 5 users, the
    workshop's traffic through PetSite) runs for `seconds`; its own Locust container counts too."""
    log_file = tempfile.TemporaryFile(mode="w+")
    load = subprocess.Popen([*LAB_CLI, "load", "--duration", f"{seconds}s"], stdout=log_file,
                            stderr=subprocess.STDOUT, text=True)
    peak, peak_lines, samples = 0.0, [], 0
    time.sleep(min(10, seconds / 2))  # users started, first requests through
    while load.poll() is None:
        total, lines = memory()
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


def time_lab_up() -> dict | None:
    """Starts the lab; from that moment a GET to the service and a Jaeger query every 0.25 s,
    while `lab up` runs. {first_trace_s, lab_up_s}, or None when `lab up` failed."""
    port = os.environ.get("PETHISTORY_PORT", "8080")
    jaeger = os.environ.get("JAEGER_UI_PORT", "16686")
    started = time.monotonic()
    up_log = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe nobody reads while polling
    up = subprocess.Popen([*LAB_CLI, "up", "--backend", "local"], stdout=subprocess.DEVNULL, stderr=up_log, text=True)
    up_seconds = first = None
    while time.monotonic() < started + UP_TIMEOUT and (first is None or up_seconds is None):
        if up_seconds is None and up.poll() is not None:
            up_seconds = time.monotonic() - started
            if up.returncode != 0:
                out(f"## (4) lab up to first trace: skipped: scripts/lab up failed: {_tail(up_log)}")
                return None
        if first is None:
            first = _first_trace(port, jaeger, started)
        time.sleep(0.25)
    if up_seconds is None:
        up.kill()
    out(f"## (4) first trace in Jaeger {first:.1f} s after `scripts/lab up` started" if first
        else f"## (4) no trace reached Jaeger within {UP_TIMEOUT} s of lab up")
    out(f"      `scripts/lab up` returned (every container healthy) after {up_seconds:.1f} s" if up_seconds
        else f"      `scripts/lab up` did not return within {UP_TIMEOUT} s")
    return {"lab_up_s": round(up_seconds, 1) if up_seconds else None,
            "first_trace_s": round(first, 1) if first else None}


def _skipped(why3: str, why4: str) -> dict:
    out(f"## (3) whole-lab memory: skipped: {why3}")
    out(f"## (4) seconds from `scripts/lab up` to the first trace in Jaeger: skipped: {why4}")
    return {}


def steps(enabled: bool, quick: bool) -> dict:
    """Steps (4) then (3); (4) only from a stopped lab, which this then stops again."""
    if not enabled:
        return _skipped("needs --lab (and a Docker engine with the lab's images)", "needs --lab")
    if not docker_engine():
        return _skipped("no Docker engine answers (docker info)", "no Docker engine answers")
    result: dict = {}
    lock, started_here = None, False
    running = container_ids()
    if not running:
        try:
            lock = lablock.acquire(float(os.environ.get("BENCH_LAB_LOCK_WAIT", "300")))
        except TimeoutError as error:
            out(f"## (4) lab up to first trace: skipped: {error}")
            return result
        running = container_ids()
    try:
        if running:
            out("## (4) lab up to first trace: skipped: the lab is already running (time it from a stopped lab)")
        else:
            started_here = True
            timed = time_lab_up()
            if timed is None:
                return result
            result.update(timed)
        total, lines = memory()
        memory_report("(docker stats), idle", total, lines)
        result["lab_memory_mib"] = round(total)
        loaded = memory_under_load(20 if quick else 60)
        if loaded is not None:
            result["lab_memory_load_mib"] = round(loaded)
        return result
    finally:
        if started_here:
            subprocess.run([*LAB_CLI, "down"], capture_output=True, timeout=300)
        if lock is not None:
            lock.close()
