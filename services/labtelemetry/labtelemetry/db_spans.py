"""The psycopg2 instrumentor's CLIENT span per statement, for less of the request's CPU.

`Psycopg2Instrumentor` (opentelemetry-instrumentation-psycopg2 0.66b1) opens each statement's span
through `start_as_current_span` (two context-manager layers) and then sets its attributes one call
at a time, each cleaned and locked again. `LeanPsycopg2Instrumentor` is that instrumentor with one
method replaced: the cursor's `traced_execution` passes the same attributes (computed by the same
helpers, from the same per-connection integration) when it starts the span, and activates it
directly. Name, kind, scope, attributes, status and exception events are unchanged;
services/pethistory/tests/test_db_spans.py compares the two statement by statement.
"""
from __future__ import annotations

import os
import time

import psycopg2
from opentelemetry import context, trace
from opentelemetry.instrumentation import dbapi
from opentelemetry.instrumentation.dbapi import _set_db_name, _set_db_statement, _set_db_system
from opentelemetry.instrumentation.psycopg2 import CursorTracer, DatabaseApiIntegration, Psycopg2Instrumentor
from opentelemetry.instrumentation.psycopg2.version import __version__
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import SpanKind
from psycopg2.extensions import cursor as pg_cursor

from labtelemetry.span_errors import record_escaped_exception

# The instrumentor's own name: spans carry its instrumentation scope.
SCOPE = "opentelemetry.instrumentation.psycopg2"


class _LeanCursorTracer(CursorTracer):
    def traced_execution(self, cursor, query_method, *args, **kwargs):
        integration = self._db_api_integration
        if self._commenter_enabled:  # SQL comments rewrite the statement: keep their exact path
            return super().traced_execution(cursor, query_method, *args, **kwargs)
        if not is_instrumentation_enabled():
            return query_method(*args, **kwargs)
        operation = self.get_operation_name(cursor, args)
        # What _populate_span sets, in the same order, given at start instead of one by one.
        mode = integration._sem_conv_opt_in_mode_db
        attributes = {}
        _set_db_system(attributes, integration.database_system, mode)
        _set_db_name(attributes, integration.database, mode)
        _set_db_statement(attributes, self.get_statement(cursor, args), mode)
        attributes.update(integration.span_attributes)
        if integration.capture_parameters and len(args) > 1:
            attributes["db.statement.parameters"] = str(args[1])
        span = integration._tracer.start_span(
            operation or integration.database or integration.name, kind=SpanKind.CLIENT, attributes=attributes
        )
        token = context.attach(trace.set_span_in_context(span))
        error = None
        started = time.perf_counter()
        try:
            return query_method(*args, **kwargs)
        except Exception as exc:
            error = exc
            record_escaped_exception(span, exc)
            raise
        finally:
            self._record_metrics(cursor, operation, started, error)
            context.detach(token)
            span.end()


def _lean_cursor_factory(db_api: DatabaseApiIntegration, base_factory: type[pg_cursor] | None):
    tracer = _LeanCursorTracer(db_api)

    class TracedCursorFactory(base_factory or pg_cursor):
        def execute(self, *args, **kwargs):
            return tracer.traced_execution(self, super().execute, *args, **kwargs)

        def executemany(self, *args, **kwargs):
            return tracer.traced_execution(self, super().executemany, *args, **kwargs)

        def callproc(self, *args, **kwargs):
            return tracer.traced_execution(self, super().callproc, *args, **kwargs)

    return TracedCursorFactory


class LeanDatabaseApiIntegration(DatabaseApiIntegration):
    """psycopg2's integration (connection attributes read once per connection), lean cursors."""

    def wrapped_connection(self, connect_method, args, kwargs):
        kwargs["cursor_factory"] = _lean_cursor_factory(self, kwargs.pop("cursor_factory", None))
        connection = connect_method(*args, **kwargs)
        self.get_connection_attributes(connection)
        return connection


class LeanPsycopg2Instrumentor(Psycopg2Instrumentor):
    """Psycopg2Instrumentor().instrument(tracer_provider=...) with LeanDatabaseApiIntegration."""

    _instance = None  # BaseInstrumentor keeps one instance per class: not the parent's

    def _instrument(self, **kwargs):
        dbapi.wrap_connect(
            SCOPE,
            psycopg2,
            "connect",
            self._DATABASE_SYSTEM,
            self._CONNECTION_ATTRIBUTES,
            version=__version__,
            tracer_provider=kwargs.get("tracer_provider"),
            db_api_integration_factory=LeanDatabaseApiIntegration,
            enable_commenter=kwargs.get("enable_commenter", False),
            commenter_options=kwargs.get("commenter_options", {}),
            enable_attribute_commenter=kwargs.get("enable_attribute_commenter", False),
            capture_parameters=kwargs.get("capture_parameters", False),
        )


def instrument_psycopg2(tracer_provider) -> None:
    """Trace every psycopg2 connection opened from now on in this process (once per process).

    LABTELEMETRY_DB_SPANS=instrumentor uses Psycopg2Instrumentor itself (the benchmark's before).
    """
    chosen = LeanPsycopg2Instrumentor
    if os.environ.get("LABTELEMETRY_DB_SPANS", "").strip().lower() == "instrumentor":
        chosen = Psycopg2Instrumentor
    # Either wraps psycopg2.connect, which the pools call lazily, so this precedes any connection.
    if not any(kind().is_instrumented_by_opentelemetry for kind in (Psycopg2Instrumentor, LeanPsycopg2Instrumentor)):
        chosen().instrument(tracer_provider=tracer_provider)
