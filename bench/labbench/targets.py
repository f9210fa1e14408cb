"""Issue 8's targets (bench/README.md), printed at the end of bench/run: this run's figure, the
bound, met or NOT met. The verdict judges the figure as printed, so the line is consistent."""
from __future__ import annotations

from labbench.common import out

FIXED_RATE = 200  # req/s: the rate the p99 target is stated at

# (what, where in the figures, >= or <=, bound, format of the figure)
TARGETS = (
    ("throughput ratio instrumented/uninstrumented", ("throughput", "ratio_median"), ">=", 0.75, ".3f"),
    ("throughput instrumented/workshop", ("vs_workshop",), ">=", 4, ".2f"),
    (f"p99 added at {FIXED_RATE} req/s (ms)", ("fixed_rate", "p99_added_ms"), "<=", 1.0, ".2f"),
    ("lab memory under the default load (MiB)", ("lab_memory_load_mib",), "<=", 512, ".0f"),
    ("seconds from `lab up` to the first trace", ("first_trace_s",), "<=", 10, ".1f"),
)


def figure(figures: dict, path: tuple[str, ...]):
    value = figures
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def verdict(value: float, sense: str, bound: float, fmt: str) -> tuple[str, bool]:
    """(the figure as printed, met?)"""
    shown = f"{value:{fmt}}"
    return shown, float(shown) >= bound if sense == ">=" else float(shown) <= bound


def report(figures: dict, quick: bool) -> None:
    out("## targets (bench/README.md)" + (": --quick run, its figures are not meant for them" if quick else ""))
    for label, path, sense, bound, fmt in TARGETS:
        value = figure(figures, path)
        if path[0] == "fixed_rate" and value is not None and figures["fixed_rate"]["rate"] != FIXED_RATE:
            value = None  # measured at another --rate: not the target's figure
        if value is None or value != value:  # not run, or NaN
            out(f"  {label}: not measured in this run")
            continue
        shown, met = verdict(value, sense, bound, fmt)
        out(f"  {label}: {shown} (target {sense} {bound:g}): {'met' if met else 'NOT met'}")
