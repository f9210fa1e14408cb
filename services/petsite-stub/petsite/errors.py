"""Every error of the JSON API is JSON with a message; the page renders its own (see pages.py)."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from petsite.adoptions import InvalidAdoption
from petsite.db import DatabaseUnavailable
from petsite.history import HistoryUnavailable

log = logging.getLogger(__name__)


def _body(status: int, error: str, message: str):
    return jsonify(status=status, error=error, message=message)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        response = _body(error.code or 500, error.name, error.description or error.name)
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, error.code

    @app.errorhandler(InvalidAdoption)
    def invalid(error: InvalidAdoption):
        return _body(400, "Bad Request", str(error)), 400

    @app.errorhandler(HistoryUnavailable)
    def history_unavailable(error: HistoryUnavailable):
        log.warning("pethistory call failed: %s", error.message)
        name = "Bad Gateway" if error.status == 502 else "Service Unavailable"
        return _body(error.status, name, error.message), error.status

    @app.errorhandler(DatabaseUnavailable)
    def database_unavailable(error: DatabaseUnavailable):
        log.warning("database unavailable: %s", error)
        response = _body(503, "Service Unavailable", f"database unavailable: {error}")
        response.headers["Retry-After"] = "5"
        return response, 503

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.error("unhandled error", exc_info=error)
        return _body(500, "Internal Server Error", "the server hit an unexpected error"), 500
