"""Everything a Flask app of the lab gets from telemetry: server spans, request logs, HTTP metrics."""
from __future__ import annotations

import logging
import os
import time

from flask import Flask, g, request
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.metrics import NoOpMeterProvider
from prometheus_flask_exporter import PrometheusMetrics

from labtelemetry.prometheus import Exposition
from labtelemetry.providers import Telemetry
from labtelemetry.server_spans import ServerSpans

access_log = logging.getLogger("access")

# Scrapes and health probes every few seconds would bury real traffic in traces and logs.
DEFAULT_EXCLUDED = "/metrics,/health/status"


def _excluded_paths() -> list[str]:
    raw = os.environ.get("OTEL_PYTHON_FLASK_EXCLUDED_URLS") or os.environ.get(
        "OTEL_PYTHON_EXCLUDED_URLS", DEFAULT_EXCLUDED
    )
    return [part.strip() for part in raw.split(",") if part.strip()]


def instrument_flask(app: Flask, telemetry: Telemetry, exposition: Exposition) -> None:
    """Instrument `app` once its routes are registered."""
    excluded = _excluded_paths()
    if telemetry.enabled:
        if os.environ.get("LABTELEMETRY_FLASK_SPANS", "").strip().lower() == "instrumentor":
            # The walkthrough's FlaskInstrumentor as is: the fallback, and the benchmark's "before".
            FlaskInstrumentor().instrument_app(
                app,
                tracer_provider=telemetry.tracer_provider,
                # HTTP metrics come from prometheus_flask_exporter below (the walkthrough's series).
                meter_provider=NoOpMeterProvider(),
                excluded_urls=",".join(excluded),
                # Read only by database instrumentations that add SQL comments: not enabled here.
                enable_commenter=False,
            )
        else:
            # The same SERVER span for ~600 k fewer instructions a request (server_spans.py).
            ServerSpans(app, telemetry.tracer_provider, excluded)
    # flask_http_request_duration_seconds / _total / _exceptions_total by endpoint, as the
    # walkthrough's PrometheusMetrics(app, group_by='endpoint'); rendered by our /metrics route.
    PrometheusMetrics(
        app,
        path=None,
        group_by="endpoint",
        registry=exposition.recorded,
        excluded_paths=[f"^{path}$" for path in excluded],
    )
    _log_requests(app, excluded)


def _log_requests(app: Flask, excluded: list[str]) -> None:
    quiet = set(excluded)

    @app.before_request
    def _start_timer():
        g.request_started = time.perf_counter()

    @app.after_request
    def _log(response):
        if request.path not in quiet:
            started = g.get("request_started", time.perf_counter())
            access_log.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "http_method": request.method,
                    "http_route": request.url_rule.rule if request.url_rule else None,
                    "http_status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                },
            )
        return response
