"""A service under the real gunicorn, started as its Dockerfile starts it, on a free loopback
port. The service's packages must be installed in this interpreter's environment."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from .pgserver import free_port


class Gunicorn:
    """`python -m gunicorn -c <service_dir>/gunicorn.conf.py APP`; env is added to the process's."""

    def __init__(self, service_dir: Path, app: str, env: dict[str, str], tmp_path: Path):
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / "gunicorn.log"
        # OTEL_* of the test process are its own (a suite may configure its in-process SDK through
        # them): the service starts with only those `env` gives, as in its own container.
        full_env = {
            **{name: value for name, value in os.environ.items() if not name.startswith("OTEL_")},
            "PORT": str(self.port),
            "OTEL_TRACES_EXPORTER": "none",
            **env,
        }
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(service_dir / "gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{self.port}", app],
            cwd=service_dir, env=full_env, stdout=self._log, stderr=subprocess.STDOUT,
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_path.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start listening")

    def log_lines(self) -> list[str]:
        return self.log_path.read_text().splitlines()

    def json_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log_lines() if line.startswith("{")]

    def stop(self) -> int:
        """SIGTERM (unless it has exited already); its exit code."""
        if self.process.poll() is None:
            self.process.terminate()
        code = self.process.wait(timeout=30)
        self._log.close()
        return code
