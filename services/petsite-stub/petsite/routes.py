"""PetSite's JSON API: the workshop's two history paths, the adoption step, housekeeping."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, current_app, jsonify, request
from opentelemetry import trace

from labservice.app import add_health
from petsite import adoptions
from petsite.adoptions import InvalidAdoption
from petsite.db import Database
from petsite.history import HistoryClient

bp = Blueprint("api", __name__)

# The custom spans of the adoption step (the requests into and out of PetSite are traced by the
# zero-code instrumentation, telemetry.py).
tracer = trace.get_tracer(__name__)


@dataclass
class Services:
    """What the views need, built once per process by create_app."""

    database: Database
    history: HistoryClient


def services() -> Services:
    return current_app.extensions["petsite"]


@bp.get("/pethistory")
def pethistory_list():
    return Response(services().history.list_json(), mimetype="application/json")


@bp.delete("/pethistory/deletepetadoptionshistory")
def pethistory_delete():
    return Response(services().history.clear(), mimetype="application/json")


@bp.post("/api/adopt")
def adopt_one():
    """Adopt and pay for one pet: JSON body {"pet_id": "..."} optional."""
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict):
        raise InvalidAdoption("the body must be a JSON object")
    done = record(adoptions.new_adoption(body.get("pet_id")))
    return jsonify(done[0]), 201


@bp.post("/api/adoptions")
def adopt_many():
    """Adopt `count` random pets at once (?count=N, 1..100)."""
    raw = request.args.get("count", "1")
    count = int(raw) if raw.isdigit() else 0
    if not 1 <= count <= adoptions.MAX_BATCH:
        raise InvalidAdoption(f"count must be a whole number from 1 to {adoptions.MAX_BATCH}")
    done = record(*(adoptions.new_adoption() for _ in range(count)))
    return jsonify(adopted=len(done), transactions=done), 201


def record(*new: dict) -> list[dict]:
    with tracer.start_as_current_span("payforadoption") as span:
        done = adoptions.adopt(services().database, list(new))
        span.set_attribute("petsite.adoptions", len(done))
    return done


@bp.post("/api/housekeeping")
def housekeeping():
    with tracer.start_as_current_span("housekeeping") as span:
        moved = adoptions.housekeeping(services().database)
        span.set_attribute("petsite.rows_moved", moved)
    return jsonify(moved=moved)


add_health(bp, lambda: services().database)
