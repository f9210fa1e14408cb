"""The workshop's routes, answered from a real PostgreSQL."""
import json
import re

from conftest import TRANSACTIONS, seed


def test_get_empty_history_answers_empty_json_array(client):
    response = client.get(TRANSACTIONS)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == []


def test_get_answers_rows_as_objects_with_iso_dates_in_id_order(app, client):
    seed(app, 100)
    rows = client.get(TRANSACTIONS).get_json()
    assert len(rows) == 100
    assert [row["id"] for row in rows] == sorted(row["id"] for row in rows)
    first = rows[0]
    assert set(first) == {"id", "pet_id", "adoption_date", "transaction_id"}
    assert first["pet_id"] == "pet000" and first["transaction_id"] == "tx-0"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", first["adoption_date"])
    assert first["adoption_date"] == "2026-01-01"


def test_delete_clears_history_and_answers_success(app, client):
    seed(app, 5)
    response = client.delete(TRANSACTIONS)
    assert response.status_code == 200
    assert response.get_json() == {"success": True}
    assert client.get(TRANSACTIONS).get_json() == []


def test_delete_on_empty_history_still_succeeds(client):
    assert client.delete(TRANSACTIONS).get_json() == {"success": True}


def test_health_reports_reachable_database(client):
    response = client.get("/health/status")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "reachable"}


def test_schema_creation_is_idempotent(app):
    from pethistory import repository

    database = app.extensions["pethistory.database"]
    database.run(repository.ensure_schema)
    database.run(repository.ensure_schema)
    assert database.run(repository.count_transaction_history) == 0


def test_openapi_document_is_served_and_names_every_route(client):
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        TRANSACTIONS, "/health/status", "/metrics", "/openapi.json"
    }
    assert set(document["paths"][TRANSACTIONS]) == {"get", "delete"}


def test_sql_injection_text_is_stored_and_returned_verbatim(app, client):
    from pethistory import repository

    hostile = "x'); DROP TABLE transactions_history; --"
    app.extensions["pethistory.database"].run(
        lambda cursor: repository.insert_transaction_history(cursor, [(hostile, None, None)])
    )
    rows = client.get(TRANSACTIONS).get_json()
    assert rows[0]["pet_id"] == hostile and rows[0]["adoption_date"] is None
    assert json.loads(json.dumps(rows))  # still well-formed
