"""The p99 added: the instrumented and the uninstrumented server at the same fixed rate at the
same time (one event loop), round after round; background load from the machine then hits both
alike, which alternation cannot ensure for a tail percentile."""
from __future__ import annotations

import asyncio
import json

from labbench import fixedrate
from labbench.common import TRANSACTIONS, load_average, log, median, out


def side_by_side(servers: dict, rounds: int, rate: float, seconds: float, label: str,
                 connections: int = 16) -> dict[str, list[dict]]:
    names = list(servers)
    results: dict[str, list[dict]] = {name: [] for name in names}
    urls = [servers[name].url + TRANSACTIONS for name in names]
    for r in range(rounds):
        for name, stats in zip(names, asyncio.run(fixedrate.run_many(urls, rate, seconds, connections))):
            stats["load"] = load_average()
            results[name].append(stats)
            log(f"{label} round {r + 1}/{rounds} {name}: {json.dumps(stats)}")
    return results


def summarize(rate: float, results: dict[str, list[dict]]) -> dict:
    diffs = [i["p99_ms"] - u["p99_ms"] for i, u in zip(results["instrumented"], results["uninstrumented"])]

    def med(key):
        return {name: median([s[key] for s in runs]) for name, runs in results.items()}

    return {
        "rate": rate,
        "p99_added_ms": median(diffs),
        "p99_added_runs": [round(x, 3) for x in diffs],
        "p50_ms": med("p50_ms"), "p99_ms": med("p99_ms"), "achieved": med("rate"),
        "errors": {name: sum(s["errors"] for s in runs) for name, runs in results.items()},
    }


def step(title: str, servers: dict, rounds: int, rate: float, seconds: float, label: str) -> tuple[dict, dict]:
    """Runs the rounds and prints the table and the P99 line: (summary, per-round results)."""
    results = side_by_side(servers, rounds, rate, seconds, label)
    summary = summarize(rate, results)
    out(f"## {title}: fixed rate {rate:g} req/s each, side by side, {rounds} rounds (medians)")
    out(f"  {'variant':<16} {'achieved':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>8}")
    for name in results:
        out(f"  {name:<16} {summary['achieved'][name]:>9.1f} {summary['p50_ms'][name]:>8.2f} "
            f"{summary['p99_ms'][name]:>8.2f} {summary['errors'][name]:>8}")
    return summary, results
