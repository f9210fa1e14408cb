"""What every service's app factory starts with, and the health route every service answers alike."""
from __future__ import annotations

from typing import Callable

import flask
from flask import Blueprint, jsonify

from labservice.config import ServiceConfig
from labservice.db import Database, DatabaseUnavailable
from labservice.logs import configure_logging, log_requests
from labservice.repository import ping


# Probed every few seconds: neither traced (see each service's telemetry) nor logged per request.
QUIET_PATHS = frozenset({"/metrics", "/health/status"})


def start_app(import_name: str, config: ServiceConfig) -> flask.Flask:
    """JSON logs (one line per request), and a Flask app (`import_name`: the service's package)
    keeping JSON keys in order."""
    configure_logging(config.service_name, config.log_level)
    # Looked up now, not at import: zero-code instrumentation (PetSite) replaces flask.Flask.
    app = flask.Flask(import_name)
    app.json.sort_keys = False
    log_requests(app, QUIET_PATHS)
    return app


def add_health(bp: Blueprint, database: Callable[[], Database]) -> None:
    """GET /health/status on the service's blueprint; `database()` gives the request's pool."""

    @bp.get("/health/status")
    def health_status():
        try:
            database().run(ping)
        except DatabaseUnavailable as error:
            return jsonify(status="unavailable", database="unreachable", message=str(error)), 503
        return jsonify(status="ok", database="reachable")
