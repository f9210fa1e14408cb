"""Processes and fakes the tests run against: a service under gunicorn (as its Dockerfile starts
it) on a free loopback port, and a scripted stand-in for pethistory that records what it got."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from labtest.gunicorn import Gunicorn as _Gunicorn

SERVICES = Path(__file__).resolve().parents[2]


class Gunicorn(_Gunicorn):
    """labtest.gunicorn.Gunicorn (shared with pethistory's tests) with one worker unless `env` says more."""

    def __init__(self, service_dir: Path, app: str, env: dict[str, str], tmp_path: Path):
        super().__init__(service_dir, app, {"WEB_CONCURRENCY": "1", **env}, tmp_path)


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
