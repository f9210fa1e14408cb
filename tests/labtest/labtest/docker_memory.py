"""Containers' memory as `docker stats` reports it, in MiB: bench/run's step (3), bench/soak and the e2e tests."""
from __future__ import annotations

import json
import re
import subprocess

# docker stats prints binary units (KiB, MiB, GiB); decimal ones are converted too, just in case.
_UNITS = {"B": 1 / 2**20, "KiB": 1 / 2**10, "MiB": 1, "GiB": 2**10,
          "kB": 1e3 / 2**20, "KB": 1e3 / 2**20, "MB": 1e6 / 2**20, "GB": 1e9 / 2**20}


def mib(text: str) -> float:
    """'93.26MiB' (or the used half of '93.26MiB / 256MiB') in MiB; NaN when unreadable."""
    match = re.fullmatch(r"([\d.]+)\s*([A-Za-z]+)", text.split("/")[0].strip())
    if not match or match.group(2) not in _UNITS:
        return float("nan")
    return float(match.group(1)) * _UNITS[match.group(2)]


def container_memory(containers) -> dict[str, float]:
    """{container name: MiB used} for these container names or ids (one `docker stats` call)."""
    containers = list(containers)
    if not containers:
        return {}
    out = subprocess.run(["docker", "stats", "--no-stream", "--format", "{{json .}}", *containers],
                         capture_output=True, text=True, timeout=60).stdout
    rows = (json.loads(line) for line in out.splitlines() if line.strip())
    return {row["Name"]: mib(row["MemUsage"]) for row in rows}
