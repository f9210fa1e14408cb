"""Every error the service answers is JSON with a message; never an HTML page or a stack trace."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from pethistory.db import DatabaseUnavailable

log = logging.getLogger(__name__)


def _body(status: int, error: str, message: str):
    return jsonify(status=status, error=error, message=message)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        response = _body(error.code or 500, error.name, error.description or error.name)
        # Keep what the exception adds (e.g. Allow on 405), but not its HTML content type.
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, error.code

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
