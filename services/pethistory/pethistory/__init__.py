"""PetAdoptionsHistory: the walkthrough's Flask + psycopg2 service, instrumented with OpenTelemetry."""
from __future__ import annotations

import datetime
import random
import uuid

import click
from flask import Flask
from opentelemetry.sdk.trace.export import SpanExporter

from labservice import repository as shared_repository
from labservice.app import start_app
from pethistory import faults, repository, telemetry
from pethistory.config import Config
from pethistory.db import Database
from pethistory.errors import register_error_handlers
from pethistory.routes import bp


def create_app(config: Config | None = None, span_exporter: SpanExporter | None = None) -> Flask:
    """Build the app (once per process: its telemetry is process-wide). `span_exporter` replaces
    the OTLP exporter (tests)."""
    config = config or Config.from_env()
    app = start_app(__name__, config)
    database = Database(config)
    app.extensions["pethistory.database"] = database
    app.register_blueprint(bp)
    register_error_handlers(app)
    if config.telemetry_enabled:
        telemetry.instrument(app, config, database, span_exporter)
    # The lab's fault drill (not the walkthrough's): after telemetry, so a failure is in the span.
    faults.install(app, config)
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
