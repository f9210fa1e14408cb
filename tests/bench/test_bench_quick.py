"""bench/'s tools work: `bench/run --quick` runs every step and prints figures that parse and
agree with each other (the ratio lines with the tables, each target's verdict with its figure and
bound), the profiling tool prints each variant's CPU and GC passes, bad options are one line and
exit 2, and docker stats' memory figures are read in the right units.

No timing is asserted: the figures depend on the machine and its load (see bench/README.md).
"""
import math
import os
import re
import subprocess
import sys

import pytest
from labcli.checkout import ROOT

from labtest.docker_memory import mib

NUMBER = r"-?\d+(?:\.\d+)?"
# bench/README.md's targets: label -> (sense, bound)
TARGETS = {
    "throughput ratio instrumented/uninstrumented": (">=", 0.75),
    "throughput instrumented/workshop": (">=", 4),
    "p99 added at 200 req/s (ms)": ("<=", 1),
    "lab memory under the default load (MiB)": ("<=", 512),
    "seconds from `lab up` to the first trace": ("<=", 10),
}


def bench(*args, timeout=600):
    env = {**os.environ, "BENCH_PYTHON": sys.executable}  # the bench runs with this venv
    return subprocess.run([str(ROOT / "bench" / "run"), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env)


@pytest.fixture(scope="module")
def quick():
    result = bench("--quick")
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def section(stdout: str, title: str) -> str:
    """The lines of the `## title...` section, up to the next `## ` line."""
    match = re.search(rf"^## {re.escape(title)}.*?\n(.*?)(?=^## |\Z)", stdout, re.M | re.S)
    assert match, f"no section {title!r} in:\n{stdout}"
    return match.group(1)


def wrk_table(text: str) -> dict[str, dict]:
    rows = re.findall(rf"^  (\S+) +(\d+) +({NUMBER}) +({NUMBER}) +(\d+) +(\d+ us|-) +(\d+ us|-)$", text, re.M)
    return {name: {"rps": int(rps), "p50": float(p50), "p99": float(p99), "non2xx": int(bad), "cpu": cpu}
            for name, rps, p50, p99, bad, cpu, _ in rows}


def fixed_table(text: str) -> dict[str, dict]:
    rows = re.findall(rf"^  (\S+) +({NUMBER}) +({NUMBER}) +({NUMBER}) +(\d+)$", text, re.M)
    return {name: {"rate": float(rate), "p50": float(p50), "p99": float(p99), "errors": int(errors)}
            for name, rate, p50, p99, errors in rows}


def figure(stdout: str, pattern: str) -> float:
    match = re.search(pattern, stdout, re.M)
    assert match, f"no line matching {pattern!r} in:\n{stdout}"
    return float(match.group(1))


def test_throughput_table_and_ratios_agree(quick):
    table = wrk_table(section(quick, "(1) GET throughput"))
    assert set(table) == {"instrumented", "uninstrumented", "workshop"}, quick
    assert all(row["rps"] > 0 and row["cpu"].endswith(" us") for row in table.values()), quick
    ratio = figure(quick, rf"^RATIO throughput instrumented/uninstrumented: ({NUMBER}) \(median of 1 rounds")
    assert ratio == pytest.approx(table["instrumented"]["rps"] / table["uninstrumented"]["rps"], rel=0.01)
    workshop = figure(quick, rf"^RATIO throughput instrumented/workshop: ({NUMBER})x$")
    assert workshop == pytest.approx(table["instrumented"]["rps"] / table["workshop"]["rps"], rel=0.02)
    figure(quick, rf"^CPU added by instrumentation: \+?({NUMBER}) us per request")
    assert re.search(r"^# OTLP receiver: .+, http://127\.0\.0\.1:\d+$", quick, re.M), quick


def test_p99_added_is_the_difference_of_the_fixed_rate_p99s(quick):
    table = fixed_table(section(quick, "(1) GET latency at a fixed rate"))
    assert set(table) == {"instrumented", "uninstrumented"}, quick
    added = figure(quick, rf"^P99 added by instrumentation at 200 req/s: \+?({NUMBER}) ms")
    assert added == pytest.approx(table["instrumented"]["p99"] - table["uninstrumented"]["p99"], abs=0.015)


def test_every_span_reached_the_receiver(quick):
    match = re.search(r"^SPANS received by the OTLP receiver: (\d+) of (\d+) expected", quick, re.M)
    assert match and int(match.group(2)) > 0, quick
    assert int(match.group(1)) >= int(match.group(2)), quick  # none sampled out or dropped


def test_with_the_collector_stopped_no_request_fails(quick):
    saturated = wrk_table(section(quick, "(2) GET throughput, collector stopped"))
    fixed = fixed_table(section(quick, "(2) GET latency at a fixed rate, collector stopped"))
    assert set(saturated) == set(fixed) == {"instrumented", "uninstrumented"}, quick
    assert all(row["non2xx"] == 0 for row in saturated.values()), quick
    assert all(row["errors"] == 0 for row in fixed.values()), quick
    assert saturated["instrumented"]["cpu"] != "-" and re.search(
        rf"^P99 added by instrumentation at 200 req/s, collector stopped: [+-]?{NUMBER} ms", quick, re.M)


def test_each_target_line_agrees_with_its_figure_bound_and_verdict(quick):
    lines = [line for line in section(quick, "targets (bench/README.md): --quick run").splitlines()
             if not line.startswith("# load average")]
    measured = {
        "throughput ratio instrumented/uninstrumented":
            figure(quick, rf"^RATIO throughput instrumented/uninstrumented: ({NUMBER})"),
        "throughput instrumented/workshop": figure(quick, rf"^RATIO throughput instrumented/workshop: ({NUMBER})x"),
        "p99 added at 200 req/s (ms)": figure(quick, rf"^P99 added by instrumentation at 200 req/s: \+?({NUMBER}) ms"),
    }
    seen = {}
    for line in lines:
        match = re.fullmatch(rf"  (.+?): (?:not measured in this run|({NUMBER}) \(target (>=|<=) ({NUMBER})\): "
                             r"(met|NOT met))", line)
        assert match, f"unparsed target line {line!r}"
        label, value, sense, bound, verdict = match.groups()
        seen[label] = value
        if value is None:
            continue
        assert (sense, float(bound)) == TARGETS[label], line
        met = float(value) >= float(bound) if sense == ">=" else float(value) <= float(bound)
        assert verdict == ("met" if met else "NOT met"), line
        assert float(value) == pytest.approx(measured[label], abs=0.006), line
    assert set(seen) == set(TARGETS), lines
    assert all(seen[label] is not None for label in measured), lines  # measured in this run
    assert seen["lab memory under the default load (MiB)"] is None  # no --lab
    assert "## (3) whole-lab memory: skipped: needs --lab" in quick


@pytest.mark.parametrize("args", [("--variant", "nocolon"), ("--variant", "x:NOEQUALS"),
                                  ("--variant", "instrumented:A=1"), ("--rounds", "0"),
                                  ("--variant", "a:X=1", "--variant", "a:Y=2")])
def test_bad_options_are_one_line_and_exit_2(args):
    result = bench(*args, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.strip().splitlines()[-1].startswith("bench/run: ")


def test_cpucost_reports_cpu_and_gc_passes_per_variant():
    # The profiling tool of bench/README.md: each variant in its own child, GC passes with --gc.
    result = subprocess.run([sys.executable, "-m", "labbench.cpucost", "--requests", "50", "--rounds", "1", "--gc"],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r"^CPU per request: instrumented \d+ µs, uninstrumented \d+ µs", result.stdout, re.M), result.stdout
    gc_lines = re.findall(r"^    gc gen0: \d+ passes.*gen2: \d+ passes", result.stdout, re.M)
    assert len(gc_lines) == 2, result.stdout


def test_docker_memory_reads_docker_stats_units_as_mib():
    assert mib("93.26MiB / 256MiB") == 93.26
    assert mib("1.5GiB") == 1536 and mib("512KiB") == 0.5 and mib("2097152B") == 2
    assert round(mib("100MB"), 2) == 95.37  # decimal megabytes
    assert math.isnan(mib("--")) and math.isnan(mib("12 parsecs"))
