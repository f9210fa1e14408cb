"""The Flask instrumentor's SERVER span, for far less of the request's CPU.

`FlaskInstrumentor` (opentelemetry-instrumentation-flask 0.66b1) was two thirds of what tracing
cost a request (bench/README.md): it collects the request attributes twice and cleans each one
twice, rebuilds the full URL three times to match the excluded URLs, re-reads the header-capture
variables on every request and attaches two contexts. `ServerSpans` makes the same span from the
same helpers of opentelemetry-instrumentation-wsgi, each called once: same instrumentation scope,
name (`GET /route`, or the method alone when no route matched), kind, start time (before routing),
attributes, status, exception event and parent (X-Ray or W3C headers through the global
propagator). services/pethistory/tests/test_server_spans.py compares the two, request by request.
Measured (bench/cpucost.py --instructions): 597 k fewer instructions per request, of the 1,516 k
that tracing added with the instrumentor (bench/README.md).

Differences, on purpose: excluded URLs are matched against the path rather than the rebuilt URL
(the lab's patterns are paths), and the header-capture variables
(OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_*) are read once, at start.
"""
from __future__ import annotations

import os
import weakref
from time import time_ns

import flask
from opentelemetry import context, propagate, trace
from opentelemetry.instrumentation import wsgi as otel_wsgi
from opentelemetry.instrumentation._semconv import _get_schema_url, _StabilityMode
from opentelemetry.instrumentation.flask import get_default_span_name
from opentelemetry.instrumentation.flask.version import __version__ as flask_instrumentation_version
from opentelemetry.instrumentation.propagators import get_global_response_propagator
from opentelemetry.semconv.trace import SpanAttributes
from opentelemetry.trace import SpanKind
from opentelemetry.util.http import (
    OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST,
    OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_RESPONSE,
    ExcludeList,
)

from labtelemetry.span_errors import record_escaped_exception

# The instrumentor's scope, so exported spans say which instrumentation's conventions they follow.
SCOPE = "opentelemetry.instrumentation.flask"

_STARTED = "labtelemetry.server_span.start_ns"
_STATE = "labtelemetry.server_span.state"


class ServerSpans:
    """One SERVER span per request of `app`, except for paths matching `excluded` (regexes)."""

    def __init__(self, app: flask.Flask, tracer_provider, excluded: list[str]):
        self._tracer = trace.get_tracer(
            SCOPE, flask_instrumentation_version, tracer_provider, schema_url=_get_schema_url(_StabilityMode.DEFAULT)
        )
        self._excluded = ExcludeList(excluded) if excluded else None
        self._capture_request = bool(os.environ.get(OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST))
        self._capture_response = bool(os.environ.get(OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_RESPONSE))
        self._wsgi_app = app.wsgi_app
        app.wsgi_app = self._wsgi
        # First, as the instrumentor does: the span covers the other before_request hooks.
        app.before_request_funcs.setdefault(None, []).insert(0, self._start)
        app.teardown_request(self._end)

    def _wsgi(self, environ, start_response):
        if self._excluded is not None and self._excluded.url_disabled(environ.get("PATH_INFO", "")):
            return self._wsgi_app(environ, start_response)
        # Taken before routing, as the instrumentor does: the span covers URL matching.
        environ[_STARTED] = time_ns()

        def traced_start_response(status, response_headers, *args):
            state = environ.get(_STATE)
            propagator = get_global_response_propagator()
            if propagator:
                propagator.inject(response_headers, setter=otel_wsgi.default_response_propagation_setter)
            if state is not None:
                span = state[0]
                otel_wsgi.add_response_attributes(span, status, response_headers)
                if self._capture_response and span.is_recording():
                    span.set_attributes(otel_wsgi.collect_custom_response_headers_attributes(response_headers))
            return start_response(status, response_headers, *args)

        return self._wsgi_app(environ, traced_start_response)

    def _start(self) -> None:
        request = flask.request._get_current_object()
        environ = request.environ
        started = environ.get(_STARTED)
        if started is None:  # excluded, or a request context made without the WSGI app
            return
        attributes = otel_wsgi.collect_request_attributes(environ)
        if request.url_rule is not None:
            attributes[SpanAttributes.HTTP_ROUTE] = request.url_rule.rule
        if self._capture_request:
            attributes.update(otel_wsgi.collect_custom_request_headers_attributes(environ))
        parent = propagate.extract(environ, getter=otel_wsgi.wsgi_getter)
        span = self._tracer.start_span(
            get_default_span_name(),
            parent,
            kind=SpanKind.SERVER,
            attributes=attributes,
            start_time=started,
        )
        token = context.attach(trace.set_span_in_context(span, parent))
        # The request context that started the span ends it (copied contexts run teardown too).
        request_ctx = weakref.ref(flask.globals.request_ctx._get_current_object())
        environ[_STATE] = (span, token, request_ctx)

    def _end(self, exc: BaseException | None) -> None:
        environ = flask.request.environ
        state = environ.get(_STATE)
        if state is None:
            return
        span, token, request_ctx = state
        if request_ctx() is not flask.globals.request_ctx._get_current_object():
            return
        del environ[_STATE]
        if exc is not None:
            record_escaped_exception(span, exc)
        span.end()
        context.detach(token)
