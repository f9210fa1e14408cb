"""bench/'s tools work: `bench/run --quick` prints the throughput ratio line and exits 0,
`bench/cpucost.py --gc` prints each variant's CPU and GC passes, and docker stats' memory figures
are read in the right units.

No timing is asserted: the figures depend on the machine and its load (see bench/README.md).
"""
import math
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
    # The targets summary says which figures this run had, and that quick figures are not for them.
    assert "## targets (bench/README.md): --quick run" in result.stdout
    assert re.search(r"^  throughput ratio instrumented/uninstrumented: \d\.\d+ \(target >= 0\.9\): (met|NOT met)$",
                     result.stdout, re.M), result.stdout
    assert "  lab memory under the default load (MiB): not measured in this run" in result.stdout


def test_cpucost_reports_cpu_and_gc_passes_per_variant():
    # The profiling tool of bench/README.md: each variant in its own child, GC passes with --gc.
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "cpucost.py"), "--requests", "50",
                             "--rounds", "1", "--gc"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r"^CPU per request: instrumented \d+ µs, uninstrumented \d+ µs", result.stdout, re.M), result.stdout
    gc_lines = re.findall(r"^    gc gen0: \d+ passes.*gen2: \d+ passes", result.stdout, re.M)
    assert len(gc_lines) == 2, result.stdout


def test_docker_memory_reads_docker_stats_units_as_mib():
    sys.path.insert(0, str(ROOT / "bench"))
    from docker_memory import mib

    assert mib("93.26MiB / 256MiB") == 93.26
    assert mib("1.5GiB") == 1536 and mib("512KiB") == 0.5 and mib("2097152B") == 2
    assert round(mib("100MB"), 2) == 95.37  # decimal megabytes
    assert math.isnan(mib("--")) and math.isnan(mib("12 parsecs"))
