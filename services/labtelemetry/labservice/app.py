"""What every service's app factory starts with, and the routes every service answers the same way."""
from __future__ import annotations

from typing import Callable

from flask import Blueprint, Flask, Response, jsonify

from labservice.config import ServiceConfig
from labservice.db import DatabaseUnavailable
from labservice.repository import ping
from labtelemetry import Exposition, Telemetry, configure_logging, init_telemetry
from labtelemetry.db_spans import instrument_psycopg2


def start_app(import_name: str, config: ServiceConfig, telemetry: Telemetry | None) -> tuple[Flask, Telemetry, Exposition]:
    """JSON logs, telemetry (`telemetry`, or providers built from the OTEL_* variables), psycopg2
    spans, and a Flask app (`import_name`: the service's package) keeping the JSON keys in order."""
    configure_logging(config.service_name, config.log_level)
    telemetry = telemetry or init_telemetry(config.service_name)
    if telemetry.enabled:
        instrument_psycopg2(telemetry.tracer_provider)

    app = Flask(import_name)
    app.json.sort_keys = False
    app.extensions["telemetry"] = telemetry  # gunicorn's worker_exit flushes it
    return app, telemetry, Exposition()


def add_health_and_metrics(bp: Blueprint, services: Callable) -> None:
    """GET /health/status and GET /metrics on the service's blueprint; `services()` gives the
    request's `database` and `exposition`."""

    @bp.get("/health/status")
    def health_status():
        try:
            services().database.run(ping)
        except DatabaseUnavailable as error:
            return jsonify(status="unavailable", database="unreachable", message=str(error)), 503
        return jsonify(status="ok", database="reachable")

    @bp.get("/metrics")
    def metrics():
        body, content_type = services().exposition.render()
        return Response(body, content_type=content_type)
