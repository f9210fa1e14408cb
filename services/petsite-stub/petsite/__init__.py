"""PetSite stub: the lab's caller of PetAdoptionsHistory, with the workshop's adoption step."""
from __future__ import annotations

from flask import Flask

from labservice.app import start_app
from labtelemetry import MirroredCounter, Telemetry, instrument_flask
from petsite import pages, routes
from petsite.config import Config
from petsite.db import Database
from petsite.errors import register_error_handlers
from petsite.history import HistoryClient


def create_app(config: Config | None = None, telemetry: Telemetry | None = None) -> Flask:
    """Build the app. `telemetry` defaults to providers built from the OTEL_* variables."""
    config = config or Config.from_env()
    app, telemetry, exposition = start_app(__name__, config, telemetry)
    app.extensions["petsite"] = routes.Services(
        database=Database(config),
        history=HistoryClient(config, telemetry),  # also instruments `requests` for this process
        tracer=telemetry.tracer,
        exposition=exposition,
        # adoptions_count_total and housekeeping_moved_count_total on /metrics
        adoptions_count=MirroredCounter(
            telemetry.meter, exposition, "adoptions.count", "Adoptions paid for through PetSite"
        ),
        moved_count=MirroredCounter(
            telemetry.meter, exposition, "housekeeping_moved.count", "Adoptions moved into the history"
        ),
    )
    app.register_blueprint(pages.bp)
    app.register_blueprint(routes.bp)
    register_error_handlers(app)
    instrument_flask(app, telemetry, exposition)
    return app
