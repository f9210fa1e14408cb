"""The service's HTTP API: same paths as the workshop's PetAdoptionsHistory."""
from __future__ import annotations

from importlib import resources

from flask import Blueprint, Response, current_app, jsonify
from opentelemetry import metrics, trace

from labservice.app import add_health
from pethistory import repository

bp = Blueprint("pethistory", __name__)

TRANSACTIONS = "/petadoptionshistory/api/home/transactions"

# Creates a tracer and a meter from the global providers that telemetry.py sets; until then (and
# for good with OTEL_SDK_DISABLED=true) both are the API's no-ops.
tracer = trace.get_tracer(__name__)
meter = metrics.get_meter(__name__)

# Create a business metric with a counter for the number of GET calls (transactions_get_count_total)
transactions_get_counter = meter.create_counter(
    "transactions_get.count",
    description="The number of times the transactions_get endpoint has been called",
)


def database():
    return current_app.extensions["pethistory.database"]


@bp.get(TRANSACTIONS)
def transactions_get():
    with tracer.start_as_current_span("transactions_get"):
        transactions_get_counter.add(1)  # increment count
        body = database().run(repository.list_transaction_history_json)
    return Response(body, mimetype="application/json")


@bp.delete(TRANSACTIONS)
def transactions_delete():
    with tracer.start_as_current_span("transactions_delete") as transactions_span:
        deleted = database().run(repository.delete_transaction_history)
        transactions_span.set_attribute("pethistory.rows_deleted", deleted)
    return jsonify(success=True)


add_health(bp, database)


@bp.get("/openapi.json")
def openapi():
    return Response(resources.files(__package__).joinpath("openapi.json").read_bytes(), mimetype="application/json")
