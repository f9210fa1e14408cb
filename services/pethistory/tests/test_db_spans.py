"""The service's database spans (labtelemetry/db_spans.py) against Psycopg2Instrumentor's: the same
statements on a connection opened each way, every span compared field by field."""
from __future__ import annotations

import psycopg2
import pytest
from opentelemetry.instrumentation.psycopg2 import DatabaseApiIntegration, Psycopg2Instrumentor
from opentelemetry.instrumentation.psycopg2.version import __version__
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import SpanKind, StatusCode
from psycopg2 import sql

from labtelemetry.db_spans import SCOPE, LeanDatabaseApiIntegration
from test_server_spans import assert_same, shape

# psycopg2.connect itself, whichever instrumentation wrapped it in this test process.
RAW_CONNECT = getattr(psycopg2.connect, "__wrapped__", psycopg2.connect)


def statements(cursor):
    cursor.execute("SELECT 1")
    cursor.execute("/* a leading comment */ SELECT %s", (2,))
    cursor.execute(sql.SQL("SELECT {}").format(sql.Literal(3)))
    cursor.execute("CREATE TEMP TABLE t (n int)")
    cursor.executemany("INSERT INTO t VALUES (%s)", [(1,), (2,)])
    cursor.callproc("now")


def failing(cursor):
    cursor.execute("SELECT * FROM no_such_table")


@pytest.fixture
def both_ways(pg, telemetry, span_exporter):
    """`run(work)`: `work(cursor)` on a connection traced each way, inside a parent span."""
    dsn = {"host": "127.0.0.1", "port": pg.port, "dbname": pg.env()["DB_NAME"],
           "user": pg.env()["DB_USER"], "password": pg.env().get("DB_PASSWORD", "")}

    def run(work):
        traces, errors = {}, {}
        for way, integration in (("instrumentor", DatabaseApiIntegration), ("lean", LeanDatabaseApiIntegration)):
            connection = integration(
                SCOPE, "postgresql", connection_attributes=Psycopg2Instrumentor._CONNECTION_ATTRIBUTES,
                version=__version__, tracer_provider=telemetry.tracer_provider,
            ).wrapped_connection(RAW_CONNECT, (), dict(dsn))
            telemetry.tracer_provider.force_flush()
            span_exporter.clear()
            try:
                with telemetry.tracer.start_as_current_span("parent"), connection.cursor() as cursor:
                    work(cursor)
            except psycopg2.Error as error:
                errors[way] = type(error)
            finally:
                connection.close()
            telemetry.tracer_provider.force_flush()
            traces[way] = shape(span_exporter.get_finished_spans())
        assert errors.get("lean") == errors.get("instrumentor")
        return traces["instrumentor"], traces["lean"]

    return run


def test_same_spans_as_the_psycopg2_instrumentor(both_ways):
    instrumentor, lean = both_ways(statements)
    assert_same(lean, instrumentor)
    names = [s["name"] for s in lean]
    assert names == ["parent", "SELECT", "SELECT", "SELECT", "CREATE", "INSERT", "now"], names
    query = lean[1]
    assert query["kind"] == SpanKind.CLIENT and query["parent"] == 0
    assert query["attributes"]["db.system"] == "postgresql"
    assert {"db.name", "db.statement", "db.user", "net.peer.name", "net.peer.port"} <= set(query["attributes"])


def test_a_failing_statement_is_recorded_as_the_instrumentor_does(both_ways):
    instrumentor, lean = both_ways(failing)
    assert_same(lean, instrumentor)
    query = lean[1]
    assert query["status"][0] == StatusCode.ERROR
    assert query["events"][0][0] == "exception"


def test_suppressed_statements_make_no_spans(both_ways):
    def quiet(cursor):
        with suppress_instrumentation():
            cursor.execute("SELECT 1")

    instrumentor, lean = both_ways(quiet)
    assert [s["name"] for s in lean] == [s["name"] for s in instrumentor] == ["parent"]
