"""scripts/lab under bad conditions: bad arguments, no engine, a port already taken. One line on
stderr, non-zero exit, no traceback, and nothing half-started left behind."""
import os
import socket
import subprocess

import pytest

from labtest.checkout import LAB, ROOT
from labtest.lab_session import docker_engine_answers


def lab(*args, env=None, timeout=120):
    return subprocess.run([str(LAB), *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=timeout)


@pytest.mark.parametrize("args", [["up", "--timeout", "soon"], ["up", "--backend"], ["stop"], ["start"],
                                  ["logs", "collector", "--tail", "many"], ["down", "--everything"],
                                  ["up", "--build", "--no-build"]])
def test_bad_arguments_exit_2_with_usage_and_no_traceback(args):
    proc = lab(*args)
    assert proc.returncode == 2, proc
    assert "Traceback" not in proc.stderr and "error:" in proc.stderr


@pytest.mark.parametrize("args", [["up"], ["stop", "postgres"], ["start", "postgres"], ["status"]])
def test_no_engine_is_one_line_and_exit_1(args):
    proc = lab(*args, env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("lab: error:") and "Docker engine" in line


def project_containers():
    out = subprocess.run(["docker", "ps", "-a", "--filter", "label=com.docker.compose.project=petlab",
                          "--format", "{{.Names}} {{.State}}"], capture_output=True, text=True, check=True).stdout
    return sorted(out.splitlines())


@pytest.mark.e2e
def test_port_taken_is_one_line_and_starts_nothing():
    if not docker_engine_answers():
        pytest.skip("no Docker engine answers")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        before = project_containers()
        proc = lab("up", "--no-build", "--timeout", "60", env={"PETHISTORY_PORT": str(port)})
        after = project_containers()
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("lab: error:") and f"127.0.0.1:{port}" in last and "in use" in last
    assert after == before, "containers were created, started or stopped"
