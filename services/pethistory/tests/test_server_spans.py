"""The service's SERVER spans (labtelemetry/server_spans.py) against FlaskInstrumentor's, request by
request: the same requests go to the service built both ways (LABTELEMETRY_FLASK_SPANS), and every
span of each trace must match (name, kind, scope, attributes, status, events, parenting)."""
from __future__ import annotations

import flask
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from conftest import TRANSACTIONS, seed
from labtelemetry import instrument_flask
from labtelemetry.prometheus import Exposition
from pethistory import create_app, repository
from pethistory.config import Config

TRACEPARENT = "00-6b06e51000000000000000000000abcd-00f067aa0ba902b7-01"
XRAY = "Root=1-6b06e510-00000000000000000000abce;Parent=53995c3f42cd8ad8;Sampled=1"
# Attributes of a SERVER span that name the client's socket (a new one per request).
VOLATILE = {"net.peer.port"}


def shape(spans):
    """What must match, with span ids replaced by positions (ids are random per run)."""
    spans = sorted(spans, key=lambda s: s.start_time)
    position = {s.context.span_id: i for i, s in enumerate(spans)}
    result = []
    for s in spans:
        parent = None
        if s.parent is not None:
            parent = ("remote", s.parent.span_id) if s.parent.is_remote else position[s.parent.span_id]
        result.append(
            {
                "name": s.name,
                "kind": s.kind,
                "scope": (s.instrumentation_scope.name, s.instrumentation_scope.version,
                          s.instrumentation_scope.schema_url),
                "attributes": {k: v for k, v in s.attributes.items()
                               if not (s.kind == SpanKind.SERVER and k in VOLATILE)},
                "status": (s.status.status_code, s.status.description),
                "events": [
                    (e.name, {k: v for k, v in e.attributes.items() if k != "exception.stacktrace"})
                    for e in s.events
                ],
                "parent": parent,
                "remote_trace": s.parent.trace_id if s.parent is not None and s.parent.is_remote else None,
            }
        )
    return result


def assert_same(lean, instrumentor):
    """Span by span and field by field, so a failure names what differs."""
    assert [s["name"] for s in lean] == [s["name"] for s in instrumentor]
    for ours, theirs in zip(lean, instrumentor):
        for field in theirs:
            assert ours[field] == theirs[field], f"{theirs['name']}: {field} differs"


@pytest.fixture
def both_ways(pg, telemetry, span_exporter, monkeypatch):
    """`run(request)` sends one request to each build of the app; returns both traces' shapes."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST", "X-Lab-Test")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_RESPONSE", "Content-Type")
    apps = {}
    for way in ("instrumentor", "lean"):
        monkeypatch.setenv("LABTELEMETRY_FLASK_SPANS", way)
        apps[way] = create_app(Config.from_env(pg.env()), telemetry)

    def run(method: str, path: str, **kwargs):
        answers, traces = {}, {}
        for way, app in apps.items():
            # The same two rows for each (outside a trace: this also opens the pool's connections).
            app.extensions["pethistory"].database.run(repository.delete_transaction_history)
            seed(app, 2)
            telemetry.tracer_provider.force_flush()
            span_exporter.clear()
            answers[way] = app.test_client().open(path, method=method, **kwargs)
            telemetry.tracer_provider.force_flush()
            traces[way] = shape(span_exporter.get_finished_spans())
        assert answers["lean"].status_code == answers["instrumentor"].status_code
        return traces["instrumentor"], traces["lean"]

    yield run
    for app in apps.values():
        app.extensions["pethistory"].database.close()


@pytest.mark.parametrize(
    "method, path, headers",
    [
        ("GET", TRANSACTIONS, {}),
        ("GET", TRANSACTIONS + "?x=1", {"User-Agent": "Locust/2.47.0", "X-Lab-Test": "a"}),
        ("DELETE", TRANSACTIONS, {}),
        ("GET", TRANSACTIONS, {"traceparent": TRACEPARENT}),
        ("GET", TRANSACTIONS, {"X-Amzn-Trace-Id": XRAY}),
        ("GET", TRANSACTIONS, {"traceparent": "00-zz-broken-01", "X-Amzn-Trace-Id": "Root=bad"}),
        ("GET", "/no/such/page", {}),
        ("POST", TRANSACTIONS, {}),
        ("PURGE", TRANSACTIONS, {}),
        ("GET", "/openapi.json", {}),
        ("GET", "/metrics", {}),
        ("GET", "/health/status", {}),
    ],
)
def test_same_spans_as_the_flask_instrumentor(both_ways, method, path, headers):
    instrumentor, lean = both_ways(method, path, headers=headers)
    assert_same(lean, instrumentor)


def test_the_comparison_sees_server_spans(both_ways):
    """Guards the test above against comparing two empty lists."""
    instrumentor, lean = both_ways("GET", TRANSACTIONS, headers={"traceparent": TRACEPARENT})
    server = lean[0]
    assert server["kind"] == SpanKind.SERVER and server["name"] == f"GET {TRANSACTIONS}"
    assert server["parent"] == ("remote", 0x00F067AA0BA902B7)
    assert server["attributes"]["http.status_code"] == 200
    assert [s["name"] for s in lean] == [s["name"] for s in instrumentor]
    assert len(lean) >= 3  # server, transactions_get, the query


def test_excluded_paths_make_no_span(both_ways):
    assert both_ways("GET", "/metrics") == ([], [])


@pytest.fixture
def bare_apps(telemetry, span_exporter, monkeypatch):
    """A Flask app with no error handlers, so exceptions reach the teardown as the server sees them."""

    def build(way: str) -> flask.Flask:
        monkeypatch.setenv("LABTELEMETRY_FLASK_SPANS", way)
        app = flask.Flask(f"bare_{way}")

        @app.get("/explode/<int:n>")
        def explode(n):
            raise ValueError(f"pet {n} exploded")

        @app.get("/copy")
        def copy():
            # A copied request context runs teardown too; it must not end the request's span.
            flask.copy_current_request_context(lambda: None)()
            return "ok"

        instrument_flask(app, telemetry, Exposition())
        return app

    return {way: build(way) for way in ("instrumentor", "lean")}


@pytest.mark.parametrize("path", ["/explode/7", "/copy"])
def test_exceptions_and_copied_contexts_as_the_instrumentor(bare_apps, telemetry, span_exporter, path):
    shapes = {}
    for way, app in bare_apps.items():
        span_exporter.clear()
        app.test_client().get(path)
        telemetry.tracer_provider.force_flush()
        shapes[way] = shape(span_exporter.get_finished_spans())
    assert_same(shapes["lean"], shapes["instrumentor"])
    server = shapes["lean"][0]
    if path.startswith("/explode"):
        assert server["status"] == (StatusCode.ERROR, "ValueError: pet 7 exploded")
        name, attributes = server["events"][0]
        assert name == "exception"
        assert (attributes["exception.type"], attributes["exception.message"]) == ("ValueError", "pet 7 exploded")
        assert server["attributes"]["http.status_code"] == 500
    else:
        assert server["status"][0] == StatusCode.UNSET
