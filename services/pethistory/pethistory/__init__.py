"""PetAdoptionsHistory: the walkthrough's Flask + psycopg2 service, instrumented with OpenTelemetry."""
from __future__ import annotations

import datetime
import random
import uuid

import click
from flask import Flask

from labservice import repository as shared_repository
from labservice.app import start_app
from labtelemetry import Telemetry, instrument_flask
from pethistory import repository
from pethistory.config import Config
from pethistory.db import Database
from pethistory.errors import register_error_handlers
from pethistory.metrics import HistoryMetrics
from pethistory.routes import Services, bp, load_openapi


def create_app(config: Config | None = None, telemetry: Telemetry | None = None) -> Flask:
    """Build the app. `telemetry` defaults to providers built from the OTEL_* variables."""
    config = config or Config.from_env()
    app, telemetry, exposition = start_app(__name__, config, telemetry)
    database = Database(config)
    app.extensions["pethistory"] = Services(
        database=database,
        tracer=telemetry.tracer,
        metrics=HistoryMetrics(telemetry.meter, exposition, database),
        exposition=exposition,
        openapi=load_openapi(),
    )
    app.register_blueprint(bp)
    register_error_handlers(app)
    instrument_flask(app, telemetry, exposition)
    _register_commands(app, database)
    return app


def _register_commands(app: Flask, database: Database) -> None:
    @app.cli.command("init-db")
    def init_db():
        """Create the tables if they do not exist."""
        database.run(shared_repository.ping)  # the first connection of a process creates the schema
        click.echo("schema ready")

    @app.cli.command("seed")
    @click.option("--rows", default=100, show_default=True, type=click.IntRange(1, 100_000))
    def seed(rows: int):
        """Add ROWS made-up adoptions to the history (for demos and benchmarks)."""
        today = datetime.date.today()
        data = [
            (f"pet{random.randint(1, 999):03d}", today - datetime.timedelta(days=i % 365), str(uuid.uuid4()))
            for i in range(rows)
        ]
        added = database.run(lambda cursor: repository.insert_transaction_history(cursor, data))
        click.echo(f"added {added} rows to transactions_history")
