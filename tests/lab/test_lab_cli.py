"""scripts/lab fails in one line (no traceback, non-zero exit) on bad input or no engine."""
import os
import subprocess
import sys

import pytest

from collector_layers import ROOT

LAB = ROOT / "scripts" / "lab"


def lab(*args, env=None):
    return subprocess.run([sys.executable, str(LAB), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=60)


@pytest.mark.parametrize("args", [["up", "--backend", "nowhere"], ["frobnicate"], ["logs"], []])
def test_bad_arguments_exit_2_without_traceback(args):
    proc = lab(*args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("args", [["status"], ["up", "--backend", "local"], ["down"], ["logs", "collector"]])
def test_unreachable_engine_is_a_one_line_error(args):
    proc = lab(*args, env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("lab: error:") and "Docker engine" in line


def test_missing_docker_client_is_a_one_line_error(tmp_path):
    proc = lab("status", env={"PATH": str(tmp_path)})
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert "docker not found" in line


def test_help_lists_every_subcommand():
    out = lab("--help").stdout
    for command in ("up", "down", "status", "logs", "stop", "start"):
        assert command in out
