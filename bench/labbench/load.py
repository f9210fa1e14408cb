"""Saturating load: wrk runs, their parsing, and rounds alternated between the variants."""
from __future__ import annotations

import json
import re
import subprocess

from labbench.common import TRANSACTIONS, load_average, log
from labbench.procs import cpu_ticks, us_per_tick_and_request

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def duration_ms(text: str) -> float:
    """wrk's '812.00us', '3.16ms', '1.02s' in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(text: str) -> dict:
    """wrk --latency's report as {rps, requests, p50_ms, p99_ms, errors[, socket_errors]}."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    requests = re.search(r"(\d+) requests in", text)
    if not rps or not requests:
        raise ValueError("no Requests/sec in wrk's output")
    stats = {"rps": float(rps.group(1)), "requests": int(requests.group(1))}
    for label in ("50", "99"):
        match = re.search(rf"^\s+{label}%\s+(\S+)", text, re.M)
        stats[f"p{label}_ms"] = duration_ms(match.group(1)) if match else float("nan")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    stats["errors"] = int(errors.group(1)) if errors else 0
    socket_errors = re.search(r"Socket errors: (.*)", text)
    if socket_errors:
        stats["socket_errors"] = socket_errors.group(1).strip()
    return stats


def wrk(url: str, seconds: float, connections: int = 50, threads: int = 2) -> dict:
    result = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", url],
        capture_output=True, text=True, timeout=seconds + 60,
    )
    try:
        if result.returncode != 0:
            raise ValueError(f"exit {result.returncode}")
        return parse_wrk(result.stdout)
    except ValueError as error:
        raise RuntimeError(f"wrk failed ({error}): {result.stderr or result.stdout}") from None


def measure_round(server, seconds: float, receiver=None) -> dict:
    """One wrk run on one server, with the server's CPU per request (and the receiver's, if any,
    during the same run: its share of the machine, which a saturated run takes from the servers)."""
    ticks = server.cpu_ticks()
    receiver_ticks = cpu_ticks(receiver.pid) if receiver else 0
    stats = wrk(server.url + TRANSACTIONS, seconds)
    if stats["requests"]:
        per = us_per_tick_and_request(stats["requests"])
        stats["cpu_us"] = round((server.cpu_ticks() - ticks) * per)
        if receiver:
            stats["receiver_cpu_us"] = round((cpu_ticks(receiver.pid) - receiver_ticks) * per)
    stats["load"] = load_average()
    return stats


def alternate(servers: dict, rounds: int, seconds: float, label: str, receiver=None) -> dict[str, list[dict]]:
    """Each round measures every server once, in an order that rotates between rounds: other
    work on a shared machine changes from second to second, and each round's ratio compares
    slices a few seconds apart."""
    results: dict[str, list[dict]] = {name: [] for name in servers}
    names = list(servers)
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            stats = measure_round(servers[name], seconds, receiver)
            results[name].append(stats)
            log(f"{label} round {r + 1}/{rounds} {name}: {json.dumps(stats)}")
    return results


def warm_up(servers: dict, seconds: float) -> int:
    """One wrk run per server (imports, pools, caches); returns the GETs the traced ones answered."""
    served = 0
    for server in servers.values():
        requests = wrk(server.url + TRANSACTIONS, seconds)["requests"]
        served += requests if server.traced else 0
    return served
