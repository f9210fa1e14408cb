"""Every error of the JSON API is JSON with a message; the page renders its own (see pages.py)."""
from __future__ import annotations

import logging

from flask import Flask

from labservice import errors
from labservice.errors import error_body
from petsite.adoptions import InvalidAdoption
from petsite.history import HistoryUnavailable

log = logging.getLogger(__name__)


def register_error_handlers(app: Flask) -> None:
    """HTTP errors, DatabaseUnavailable (503) and anything unexpected (500) as every service
    answers them (labservice.errors), and PetSite's own: a bad adoption, pethistory failing."""
    errors.register_error_handlers(app, log)

    @app.errorhandler(InvalidAdoption)
    def invalid(error: InvalidAdoption):
        return error_body(400, "Bad Request", str(error)), 400

    @app.errorhandler(HistoryUnavailable)
    def history_unavailable(error: HistoryUnavailable):
        log.warning("pethistory call failed: %s", error.message)
        name = "Bad Gateway" if error.status == 502 else "Service Unavailable"
        return error_body(error.status, name, error.message), error.status
