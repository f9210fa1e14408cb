"""A small fixed-rate HTTP/1.1 load generator (wrk2-style: latency counted from the intended send
time, so a stalled server is not hidden by "coordinated omission"). Debian has no wrk2.

    python -m labbench.fixedrate URL --rate 200 --duration 10 --connections 16

Prints one JSON object: sent, errors, achieved rate, latency percentiles in ms.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlsplit


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


async def _open(host: str, port: int):
    return await asyncio.open_connection(host, port)


async def _request(reader, writer, raw: bytes) -> tuple[int, bool]:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, close = None, lines[0].startswith("HTTP/1.0")
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection":
            close = value.strip().lower() == "close"
    if length is None:
        await reader.read()  # body until close
        close = True
    else:
        await reader.readexactly(length)
    return status, close


async def run_many(urls: list[str], rate: float, duration: float, connections: int) -> list[dict]:
    """Load every URL at `rate` at the same time: side by side, so each sees the same machine."""
    return list(await asyncio.gather(*(run(url, rate, duration, connections) for url in urls)))


async def run(url: str, rate: float, duration: float, connections: int) -> dict:
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or 80
    path = parts.path or "/"
    raw = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: keep-alive\r\n\r\n".encode()
    total = int(rate * duration)
    start = time.perf_counter() + 0.05
    next_index = 0
    latencies: list[float] = []
    errors = 0

    async def worker():
        nonlocal next_index, errors
        conn = None
        while True:
            index = next_index
            if index >= total:
                break
            next_index += 1
            intended = start + index / rate
            delay = intended - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                if conn is None:
                    conn = await _open(host, port)
                status, close = await asyncio.wait_for(_request(*conn, raw), timeout=10)
                if status != 200:
                    errors += 1
                if close:
                    conn[1].close()
                    conn = None
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError, IndexError):
                errors += 1
                if conn is not None:
                    conn[1].close()
                conn = None
            latencies.append((time.perf_counter() - intended) * 1000)
        if conn is not None:
            conn[1].close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return summary(latencies, errors, time.perf_counter() - start)


def summary(latencies: list[float], errors: int, elapsed: float) -> dict:
    latencies = sorted(latencies)
    return {
        "sent": len(latencies),
        "errors": errors,
        "rate": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50), 3),
        "p90_ms": round(percentile(latencies, 90), 3),
        "p99_ms": round(percentile(latencies, 99), 3),
        "max_ms": round(latencies[-1], 3) if latencies else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.url, args.rate, args.duration, args.connections))))


if __name__ == "__main__":
    main()
