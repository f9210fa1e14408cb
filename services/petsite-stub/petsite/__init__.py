"""PetSite stub: the lab's caller of PetAdoptionsHistory, with the workshop's adoption step."""
from __future__ import annotations

from flask import Flask

from labservice.app import start_app
from petsite import pages, routes, telemetry
from petsite.config import Config
from petsite.db import Database
from petsite.errors import register_error_handlers
from petsite.history import HistoryClient


def create_app(config: Config | None = None) -> Flask:
    """Build the app; telemetry first, so the Flask and requests instrumentations cover it."""
    config = config or Config.from_env()
    if config.telemetry_enabled:
        telemetry.instrument()
    app = start_app(__name__, config)
    app.extensions["petsite"] = routes.Services(database=Database(config), history=HistoryClient(config))
    app.register_blueprint(pages.bp)
    app.register_blueprint(routes.bp)
    register_error_handlers(app)
    return app
