"""What every step uses: where the repository is, how figures and progress are printed, medians."""
from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

from labcli.checkout import ROOT  # the lab checkout: $LAB_ROOT, else labcli's editable install's

GUNICORN_CONF = "services/pethistory/gunicorn.conf.py"  # relative to ROOT, the servers' cwd
TRANSACTIONS = "/petadoptionshistory/api/home/transactions"
CACHE = Path(os.environ.get("BENCH_CACHE", Path.home() / ".cache" / "petlab-bench"))


class BenchError(Exception):
    """A bad option or a missing prerequisite: printed as one short line, exit status 2."""


def check_checkout() -> None:
    """The servers run from the checkout (the service's gunicorn.conf.py is a file there)."""
    if ROOT is None or not (ROOT / GUNICORN_CONF).is_file():
        raise BenchError(f"no lab checkout with {GUNICORN_CONF} (LAB_ROOT={ROOT}): "
                         "install labcli with pip install -e, or set LAB_ROOT")


def log(message: str) -> None:
    """Progress: stderr."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def out(message: str = "") -> None:
    """Figures: stdout."""
    print(message, flush=True)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def median(values):
    values = [v for v in values if v == v]  # NaN: not measured in that round
    return statistics.median(values) if values else float("nan")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


# The lab's CLI: what scripts/lab runs (the labcli package, installed in the bench's venv too).
LAB_CLI = [sys.executable, "-m", "labcli"]
