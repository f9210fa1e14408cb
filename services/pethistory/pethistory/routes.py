"""The service's HTTP API: same paths as the workshop's PetAdoptionsHistory."""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from flask import Blueprint, Response, current_app, jsonify
from opentelemetry import trace

from labservice.app import add_health_and_metrics
from pethistory import repository
from pethistory.db import Database
from pethistory.metrics import HistoryMetrics

bp = Blueprint("pethistory", __name__)

TRANSACTIONS = "/petadoptionshistory/api/home/transactions"


@dataclass
class Services:
    """What the views need, built once per process by create_app."""

    database: Database
    tracer: trace.Tracer
    metrics: HistoryMetrics
    exposition: object
    openapi: bytes


def services() -> Services:
    return current_app.extensions["pethistory"]


@bp.get(TRANSACTIONS)
def transactions_get():
    svc = services()
    with svc.tracer.start_as_current_span("transactions_get"):
        svc.metrics.transactions_get.add(1)
        body = svc.database.run(repository.list_transaction_history_json)
    return Response(body, mimetype="application/json")


@bp.delete(TRANSACTIONS)
def transactions_delete():
    svc = services()
    with svc.tracer.start_as_current_span("transactions_delete") as span:
        deleted = svc.database.run(repository.delete_transaction_history)
        span.set_attribute("pethistory.rows_deleted", deleted)
    return jsonify(success=True)


add_health_and_metrics(bp, services)


@bp.get("/openapi.json")
def openapi():
    return Response(services().openapi, mimetype="application/json")


def load_openapi() -> bytes:
    return resources.files(__package__).joinpath("openapi.json").read_bytes()
