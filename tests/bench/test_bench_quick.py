"""bench/run --quick works end to end: it prints the throughput ratio line and exits 0.

No timing is asserted: the figures depend on the machine and its load (see bench/README.md).
"""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_quick_prints_a_ratio_and_exits_0():
    result = subprocess.run([str(ROOT / "bench" / "run"), "--quick"], capture_output=True, text=True,
                            timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r"^RATIO throughput instrumented/uninstrumented: \d+\.\d+", result.stdout, re.M), result.stdout
    assert "OTLP receiver: " in result.stdout


def test_cpucost_reports_cpu_and_gc_passes_per_variant():
    # The profiling tool of bench/README.md: each variant in its own child, GC passes with --gc.
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "cpucost.py"), "--requests", "50",
                             "--rounds", "1", "--gc"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r"^CPU per request: instrumented \d+ µs, uninstrumented \d+ µs", result.stdout, re.M), result.stdout
    gc_lines = re.findall(r"^    gc gen0: \d+ passes.*gen2: \d+ passes", result.stdout, re.M)
    assert len(gc_lines) == 2, result.stdout
