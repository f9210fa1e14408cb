"""Every error a service answers is JSON `{"status", "error", "message"}`; never an HTML page or a
stack trace. A service adds handlers for its own exceptions with `error_body`."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from labservice.db import DatabaseUnavailable


def error_body(status: int, error: str, message: str):
    return jsonify(status=status, error=error, message=message)


def register_error_handlers(app: Flask, log: logging.Logger) -> None:
    """The handlers every service has; `log` is the service's own logger (its name is in each line)."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        response = error_body(error.code or 500, error.name, error.description or error.name)
        # Keep what the exception adds (e.g. Allow on 405), but not its HTML content type.
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, error.code

    @app.errorhandler(DatabaseUnavailable)
    def database_unavailable(error: DatabaseUnavailable):
        log.warning("database unavailable: %s", error)
        response = error_body(503, "Service Unavailable", f"database unavailable: {error}")
        response.headers["Retry-After"] = "5"
        return response, 503

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.error("unhandled error", exc_info=error)
        return error_body(500, "Internal Server Error", "the server hit an unexpected error"), 500
