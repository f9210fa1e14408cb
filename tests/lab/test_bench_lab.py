"""bench/run's whole-lab step (3) on the running lab (LAB_BACKEND=local): the lab's memory idle and
under the default Locust load (`scripts/lab load`), each container listed and summed. No figure is
asserted beyond its being there: memory targets are the benchmark's business (bench/README.md)."""
import os
import re
import subprocess

import pytest

from labtest.checkout import ROOT


def section(text, title):
    """The container lines and the total of the step-(3) section whose heading contains `title`."""
    match = re.search(rf"^## \(3\) [^\n]*{re.escape(title)}[^\n]*\n((?:  \S+\s+\S.*\n)*?)  total (\d+) MiB$",
                      text, re.M)
    assert match, f"no step (3) section {title!r} in:\n{text}"
    return match.group(1), int(match.group(2))


@pytest.mark.e2e
def test_bench_lab_only_reports_the_lab_memory_idle_and_under_the_default_load(local_lab):
    # The session holds the lab lock and the lab is up: step (4) (which needs a stopped lab) says
    # so and step (3) measures the running lab.
    result = subprocess.run([str(ROOT / "bench" / "run"), "--lab-only", "--quick"], cwd=ROOT,
                            env={**os.environ, "LAB_E2E_LOCK": ""}, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "skipped: the lab is already running" in result.stdout
    idle, idle_total = section(result.stdout, "idle")
    loaded, loaded_total = section(result.stdout, "under the default load")
    for containers in (idle, loaded):
        assert "petlab-pethistory-1" in containers and "petlab-collector-1" in containers
    assert idle_total > 0 and loaded_total > 0
    # Locust's headless run is a container of the lab while it runs, and counts.
    assert "loadgen-run" in loaded, loaded
