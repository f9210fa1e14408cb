"""Child processes: waiting until they listen or answer, stopping them, their CPU time."""
from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path


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
    """CPU time (clock ticks, every thread) used so far by a process and its direct children
    (gunicorn's master and workers)."""
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


def us_per_tick_and_request(requests: int) -> float:
    """Microseconds per request that one clock tick of CPU time is worth over `requests`."""
    return 1e6 / os.sysconf("SC_CLK_TCK") / requests
