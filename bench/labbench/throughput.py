"""Throughput under saturation (steps 1 and 2): the alternated wrk rounds summed up per variant
(medians), and the ratios against the uninstrumented server, round by round."""
from __future__ import annotations

import math

from labbench.common import median, out

BASE = "uninstrumented"


def per_round_ratios(results: dict[str, list[dict]], name: str, base: str = BASE) -> list[float]:
    """req/s of `name` over `base` in each round (the two ran seconds apart)."""
    return [a["rps"] / b["rps"] for a, b in zip(results[name], results[base]) if b["rps"]]


def summarize(results: dict[str, list[dict]]) -> dict:
    def med(key):
        return {name: median([s.get(key, float("nan")) for s in runs]) for name, runs in results.items()}

    ratios = per_round_ratios(results, "instrumented")
    return {
        "ratio_median": median(ratios),
        "ratios": [round(x, 3) for x in ratios],
        "rps": med("rps"), "p50_ms": med("p50_ms"), "p99_ms": med("p99_ms"),
        "errors": {name: sum(s["errors"] for s in runs) for name, runs in results.items()},
        # Server CPU per request: steadier than req/s when other work shares the machine.
        "cpu_us": med("cpu_us"),
        "receiver_cpu_us": med("receiver_cpu_us"),
    }


def _us(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f} us"  # "-": not measured (no receiver ran)


def print_table(title: str, summary: dict, rounds: int) -> None:
    out(f"## {title}: wrk -t2 -c50, {rounds} alternated rounds (medians)")
    out(f"  {'variant':<26} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'server CPU/req':>15}"
        f" {'receiver CPU/req':>17}")
    for name in summary["rps"]:
        out(f"  {name:<26} {summary['rps'][name]:>7.0f} {summary['p50_ms'][name]:>8.2f} "
            f"{summary['p99_ms'][name]:>8.2f} {summary['errors'][name]:>8} {_us(summary['cpu_us'][name]):>15}"
            f" {_us(summary['receiver_cpu_us'][name]):>17}")


def print_ratios(results: dict[str, list[dict]], label: str = "") -> dict[str, float]:
    """RATIO lines: every service variant over the uninstrumented server (median of the rounds)."""
    ratios = {}
    for name in results:
        if name in (BASE, "workshop"):
            continue
        per_round = per_round_ratios(results, name)
        ratios[name] = median(per_round)
        out(f"RATIO throughput {name}/{BASE}{label}: {ratios[name]:.3f} "
            f"(median of {len(per_round)} rounds: {[round(x, 3) for x in per_round]})")
    return ratios


def print_cpu(summary: dict) -> None:
    cpu, receiver = summary["cpu_us"], summary["receiver_cpu_us"]
    out(f"CPU added by instrumentation: {cpu['instrumented'] - cpu[BASE]:+.0f} us per request "
        f"(server processes; CPU ratio {BASE}/instrumented {cpu[BASE] / cpu['instrumented']:.3f})")
    out(f"CPU of the OTLP receiver: {receiver['instrumented'] - receiver[BASE]:+.0f} us per instrumented "
        f"request (same machine; its export of the previous round's last batch lands in the next round)")


def vs_workshop(results: dict[str, list[dict]]) -> float | None:
    if "workshop" not in results:
        return None
    ratio = median(per_round_ratios(results, "instrumented", base="workshop"))
    out(f"RATIO throughput instrumented/workshop: {ratio:.2f}x")
    return ratio
