"""Fixtures: a real PostgreSQL server, the app (one per test process, as under gunicorn) with an
in-memory span exporter and a flag file of its own, and the real gunicorn."""
from __future__ import annotations

from pathlib import Path

import pytest
import requests
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from labtest.gunicorn import Gunicorn
from labtest.pgserver import PostgresServer
from pethistory import create_app, repository
from pethistory.config import Config

SERVICE_DIR = Path(__file__).resolve().parents[1]
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
def flag_path(tmp_path_factory):
    """The app's flagd flag file: absent (every fault off) except while a test_faults test runs."""
    return tmp_path_factory.mktemp("flags") / "flags.json"


@pytest.fixture(scope="session")
def application(pg, span_exporter, flag_path):
    # One app per test process: OpenTelemetry's and OpenFeature's global providers, the psycopg2
    # instrumentation and prometheus_client's registry are process-wide, as in a gunicorn worker.
    flags = {"FLAGD_RESOLVER": "file", "FLAGD_OFFLINE_FLAG_SOURCE_PATH": str(flag_path), "FLAGD_DEADLINE_MS": "100"}
    app = create_app(Config.from_env({**pg.env(), "DB_CONNECT_TIMEOUT": "2", **flags}), span_exporter)
    yield app
    app.extensions["pethistory.database"].close()


@pytest.fixture
def app(application, span_exporter):
    """The app with an empty history and no spans recorded yet."""
    application.extensions["pethistory.database"].run(repository.delete_transaction_history)
    trace.get_tracer_provider().force_flush()
    span_exporter.clear()
    return application


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def spans(span_exporter):
    """Call to get the spans finished so far."""

    def finished():
        trace.get_tracer_provider().force_flush()
        return list(span_exporter.get_finished_spans())

    return finished


def seed(app, count: int) -> None:
    """Rows made by the test itself, outside any trace (so they add no spans)."""
    rows = [(f"pet{i:03d}", f"2026-01-{1 + i % 28:02d}", f"tx-{i}") for i in range(count)]
    app.extensions["pethistory.database"].run(lambda cursor: repository.insert_transaction_history(cursor, rows))


def pethistory_server(env: dict[str, str], tmp_path: Path) -> Gunicorn:
    """PetAdoptionsHistory under the production server (labtest.gunicorn)."""
    return Gunicorn(SERVICE_DIR, "pethistory.wsgi:app", env, tmp_path)


@pytest.fixture
def gunicorn_factory(pg, tmp_path):
    """start(**env) -> pethistory_server on the suite's database, stopped after the test."""
    started = []

    def start(**env) -> Gunicorn:
        server = pethistory_server({**pg.env(), **env}, tmp_path / f"g{len(started)}")
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
