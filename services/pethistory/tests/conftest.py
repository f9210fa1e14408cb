"""Fixtures: a real PostgreSQL server, the app with an in-memory span exporter, a real gunicorn."""
from __future__ import annotations

from pathlib import Path

import pytest
import requests

from harness import Gunicorn as _Gunicorn
from harness import pg, span_exporter, spans  # noqa: F401 (fixtures)
from labtelemetry import init_telemetry
from pethistory import create_app, repository
from pethistory.config import Config

SERVICE_DIR = Path(__file__).resolve().parents[1]
TRANSACTIONS = "/petadoptionshistory/api/home/transactions"


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


def seed(app, count: int) -> None:
    """Rows made by the test itself, outside any trace (so they add no spans)."""
    rows = [(f"pet{i:03d}", f"2026-01-{1 + i % 28:02d}", f"tx-{i}") for i in range(count)]
    app.extensions["pethistory"].database.run(
        lambda cursor: repository.insert_transaction_history(cursor, rows)
    )


class Gunicorn(_Gunicorn):
    """PetAdoptionsHistory under the production server (harness.Gunicorn)."""

    def __init__(self, env: dict[str, str], tmp_path: Path):
        super().__init__(SERVICE_DIR, "pethistory.wsgi:app", env, tmp_path)


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
