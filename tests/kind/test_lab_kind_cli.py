"""`scripts/lab kind up|down|status` on a machine without kind or kubectl: one line saying how to
get the missing tool, exit status 1. Needs kind on PATH for the kubectl cases
(LAB_KIND_E2E=required: fails without it, as the cluster test does)."""
import os
import shutil
import subprocess

import pytest

from conftest import ROOT
from labtest.commands import path_without

HOW = {"kind": "go install sigs.k8s.io/kind@v0.33.0", "kubectl": "https://kubernetes.io/docs/tasks/tools/"}
# (missing tool, action): down needs kind only.
CASES = [("kind", "up"), ("kind", "down"), ("kind", "status"), ("kubectl", "up"), ("kubectl", "status")]


@pytest.mark.parametrize("missing,action", CASES)
def test_lab_kind_without_its_tools_says_how_to_get_them(tmp_path, missing, action):
    hidden = {"kind", "kubectl"} if missing == "kind" else {"kubectl"}
    if "kind" not in hidden and shutil.which("kind") is None:
        if os.environ.get("LAB_KIND_E2E") == "required":
            pytest.fail("LAB_KIND_E2E=required but kind is not on PATH")
        pytest.skip("no kind on this machine's PATH to keep")
    proc = subprocess.run([str(ROOT / "scripts" / "lab"), "kind", action], capture_output=True, text=True,
                          env={**os.environ, "PATH": path_without(tmp_path, hidden.__contains__)}, timeout=60)
    (line,) = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and line.startswith(f"lab: error: {missing} not found on PATH: {HOW[missing]}"), proc.stderr
