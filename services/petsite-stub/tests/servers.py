"""Processes and fakes the tests run against: a service under gunicorn (as its Dockerfile starts
it) on a free loopback port, and a scripted stand-in for pethistory that records what it got."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pgserver import free_port

SERVICES = Path(__file__).resolve().parents[2]
LABTELEMETRY_DIR = SERVICES / "labtelemetry"


class Gunicorn:
    def __init__(self, service_dir: Path, app: str, env: dict[str, str], tmp_path: Path):
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / "gunicorn.log"
        full_env = {
            **os.environ,
            "PORT": str(self.port),
            "PYTHONPATH": os.pathsep.join([str(service_dir), str(LABTELEMETRY_DIR)]),
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
            "OTEL_TRACES_EXPORTER": "none",
            "WEB_CONCURRENCY": "1",
            **env,
        }
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(service_dir / "gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{self.port}", app],
            cwd=service_dir, env=full_env, stdout=self._log, stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30) -> None:
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

    def json_lines(self) -> list[dict]:
        lines = []
        for line in self.log_path.read_text().splitlines():
            if line.startswith("{"):
                lines.append(json.loads(line))
        return lines

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self._log.close()


class FakeHistory:
    """Answers pethistory's path as told (`status`, `body`, `delay` seconds; `first_statuses` are
    used up first, one per request) and keeps the headers of every request it received."""

    def __init__(self):
        self.status, self.body, self.delay = 200, b"[]", 0.0
        self.first_statuses: list[int] = []
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                fake.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers)})
                time.sleep(fake.delay)
                self.send_response(fake.first_statuses.pop(0) if fake.first_statuses else fake.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(fake.body)))
                self.end_headers()
                try:
                    self.wfile.write(fake.body)
                except BrokenPipeError:  # the client gave up (timeout tests)
                    pass

            do_GET = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
