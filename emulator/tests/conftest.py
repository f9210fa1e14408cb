"""A real emulator process (`python -m labemulator`, moto's server with the retention) on a free
127.0.0.1 port, and boto3 clients of it."""
import os
import socket
import subprocess
import sys
import time
import urllib.request

import boto3
import pytest

KEY = "testing"   # moto checks no signature


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emulator:
    def __init__(self, port, proc, log):
        self.url, self.proc, self.log = f"http://127.0.0.1:{port}", proc, log

    def client(self, service):
        return boto3.client(service, endpoint_url=self.url, region_name="eu-west-1",
                            aws_access_key_id=KEY, aws_secret_access_key=KEY)


def start(settings, log):
    """The emulator's output goes to a file: a pipe nobody reads would fill up (werkzeug logs
    every request) and stall the server."""
    port = free_port()
    env = {**os.environ, "MOTO_PORT": str(port), "EMULATOR_PRUNE_SECONDS": "1", **settings}
    proc = subprocess.Popen([sys.executable, "-m", "labemulator"], env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=2).read()
            return Emulator(port, proc, log)
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"the emulator did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)


@pytest.fixture
def emulator(request, tmp_path):
    """The emulator with the settings of the test's `settings` marker (EMULATOR_* variables)."""
    marker = request.node.get_closest_marker("settings")
    running = start(marker.kwargs if marker else {}, tmp_path / "emulator.log")
    yield running
    running.proc.terminate()
    running.proc.wait(10)
