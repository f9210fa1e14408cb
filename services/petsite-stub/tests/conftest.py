"""Fixtures: a real PostgreSQL, a real PetAdoptionsHistory under gunicorn, and PetSite in-process
with its zero-code instrumentation keeping spans in memory (or under gunicorn too, for the browser)."""
from __future__ import annotations

import os

from labtest.dockerfile import stage_env

# The zero-code instrumentation's settings, as the image has them (Dockerfile, target petsite-stub),
# in the environment before OpenTelemetry is imported (its global propagator is read from it
# then); spans kept in this process (labtest.memory_exporter) instead of sent over OTLP.
os.environ.update({k: v for k, v in stage_env("petsite-stub").items() if k.startswith("OTEL_")})
os.environ["OTEL_TRACES_EXPORTER"] = "labtest_memory"

import psycopg2  # noqa: E402
import pytest  # noqa: E402
import requests  # noqa: E402
from opentelemetry import trace  # noqa: E402

from labtest import memory_exporter  # noqa: E402
from labtest.pgserver import PostgresServer, free_port  # noqa: E402
from petsite import create_app  # noqa: E402
from petsite.config import Config  # noqa: E402
from servers import SERVICES, FakeHistory, Gunicorn  # noqa: E402

PETSITE_DIR = SERVICES / "petsite-stub"
PETHISTORY_DIR = SERVICES / "pethistory"


@pytest.fixture(scope="session")
def pethistory(pg, tmp_path_factory):
    """The real service; its first health probe creates the workshop's tables."""
    server = Gunicorn(PETHISTORY_DIR, "pethistory.wsgi:app", pg.env(), tmp_path_factory.mktemp("pethistory"))
    assert requests.get(f"{server.url}/health/status", timeout=10).status_code == 200
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sql(pg):
    """sql(statement, params) -> rows (or None): the tests' own view of the database, untraced."""
    conn = psycopg2.connect(**{k: v for k, v in Config.from_env(pg.env()).dsn_kwargs().items()
                               if k != "options"})
    conn.autocommit = True

    def run(statement, params=()):
        with conn.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else None

    yield run
    conn.close()


@pytest.fixture(scope="session")
def pg():
    server = PostgresServer()
    yield server
    server.destroy()


@pytest.fixture
def spans():
    """Call to get the spans finished so far."""

    def finished():
        trace.get_tracer_provider().force_flush()
        return memory_exporter.finished()

    return finished


@pytest.fixture
def make_app(pg, pethistory, sql):
    """make_app(**env) -> a PetSite app on the test database, calling the real pethistory unless
    PETHISTORY_URL says otherwise; tables emptied and spans cleared first."""
    apps = []

    def make(**env):
        config = Config.from_env({**pg.env(), "PETHISTORY_URL": pethistory.url, **env})
        application = create_app(config)
        apps.append(application)
        return application

    sql("TRUNCATE transactions, transactions_history RESTART IDENTITY")
    flush = getattr(trace.get_tracer_provider(), "force_flush", None)  # none before the first app
    if flush:
        flush()
    memory_exporter.clear()
    yield make
    for application in apps:
        application.extensions["petsite"].database.close()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def fake_history():
    fake = FakeHistory()
    yield fake
    fake.close()


@pytest.fixture
def nothing_listening():
    """A loopback URL where no server listens (connection refused)."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="session")
def petsite_server(pg, pethistory, tmp_path_factory):
    """PetSite under gunicorn, as the Dockerfile starts it, calling the real pethistory."""
    env = {**pg.env(), "PETHISTORY_URL": pethistory.url}
    server = Gunicorn(PETSITE_DIR, "petsite.wsgi:app", env, tmp_path_factory.mktemp("petsite"))
    yield server
    server.stop()


def seed_history(sql, count: int) -> None:
    for i in range(count):
        sql("INSERT INTO transactions_history (pet_id, adoption_date, transaction_id) VALUES (%s, %s, %s)",
            (f"seed{i:03d}", "2026-01-02", f"tx-seed-{i}"))
