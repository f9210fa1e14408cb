"""Fixtures: a real PostgreSQL server, the app with an in-memory span exporter, a real gunicorn."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from labtelemetry import init_telemetry
from pethistory import create_app, repository
from pethistory.config import Config
from pgserver import PostgresServer, free_port

SERVICE_DIR = Path(__file__).resolve().parents[1]
LABTELEMETRY_DIR = SERVICE_DIR.parent / "labtelemetry"
TRANSACTIONS = "/petadoptionshistory/api/home/transactions"


@pytest.fixture(scope="session")
def pg():
    server = PostgresServer()
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def span_exporter():
    return InMemorySpanExporter()


@pytest.fixture(scope="session")
def telemetry(span_exporter):
    # One SDK per test process: OTel's global providers and psycopg2's wrapping are process-wide.
    return init_telemetry("PetAdoptionsHistory", environ={}, span_exporter=span_exporter)


@pytest.fixture
def app(pg, telemetry, span_exporter):
    application = create_app(Config.from_env(pg.env()), telemetry)
    database = application.extensions["pethistory"].database
    database.run(repository.delete_transaction_history)
    telemetry.tracer_provider.force_flush()
    span_exporter.clear()
    yield application
    database.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def spans(telemetry, span_exporter):
    """Call to get the spans finished so far."""

    def finished():
        telemetry.tracer_provider.force_flush()
        return list(span_exporter.get_finished_spans())

    return finished


def seed(app, count: int) -> None:
    """Rows made by the test itself, outside any trace (so they add no spans)."""
    rows = [(f"pet{i:03d}", f"2026-01-{1 + i % 28:02d}", f"tx-{i}") for i in range(count)]
    app.extensions["pethistory"].database.run(
        lambda cursor: repository.insert_transaction_history(cursor, rows)
    )


class Gunicorn:
    """The production server, started as the Dockerfile starts it, on a free loopback port."""

    def __init__(self, env: dict[str, str], tmp_path: Path):
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / "gunicorn.log"
        full_env = {
            **os.environ,
            "PORT": str(self.port),
            "PYTHONPATH": os.pathsep.join([str(SERVICE_DIR), str(LABTELEMETRY_DIR)]),
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
            "OTEL_TRACES_EXPORTER": "none",
            **env,
        }
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(SERVICE_DIR / "gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{self.port}", "pethistory.wsgi:app"],
            cwd=SERVICE_DIR, env=full_env, stdout=self._log, stderr=subprocess.STDOUT,
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

    def stop(self) -> int:
        self.process.terminate()
        code = self.process.wait(timeout=30)
        self._log.close()
        return code


@pytest.fixture
def gunicorn_factory(pg, tmp_path):
    started = []

    def start(**env) -> Gunicorn:
        server = Gunicorn({**pg.env(), **env}, tmp_path / f"g{len(started)}")
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.stop()


@pytest.fixture
def session_http():
    with requests.Session() as http:
        yield http
