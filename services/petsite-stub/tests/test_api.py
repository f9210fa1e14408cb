"""The JSON API: the workshop's PetSite history paths, adoptions and housekeeping."""
import pytest

from conftest import seed_history


def test_pethistory_get_passes_the_history_json_through(client, sql):
    seed_history(sql, 2)
    response = client.get("/pethistory")
    assert response.status_code == 200 and response.mimetype == "application/json"
    rows = response.get_json()
    assert [r["pet_id"] for r in rows] == ["seed000", "seed001"]
    assert set(rows[0]) == {"id", "pet_id", "adoption_date", "transaction_id"}


def test_delete_path_clears_the_history(client, sql):
    seed_history(sql, 5)
    response = client.delete("/pethistory/deletepetadoptionshistory")
    assert response.status_code == 200 and response.get_json() == {"success": True}
    assert client.get("/pethistory").get_json() == []


def test_adopt_writes_a_transaction(client, sql):
    response = client.post("/api/adopt", json={"pet_id": "023"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["pet_id"] == "023" and len(body["transaction_id"]) == 36
    assert sql("SELECT pet_id, transaction_id, adoption_date::text FROM transactions") == [
        ("023", body["transaction_id"], body["adoption_date"])
    ]


def test_adopt_without_body_picks_a_pet(client, sql):
    assert client.post("/api/adopt").status_code == 201
    assert sql("SELECT count(*) FROM transactions") == [(1,)]


def test_adoptions_then_housekeeping_grow_the_history(client, sql):
    seed_history(sql, 1)
    response = client.post("/api/adoptions?count=7")
    assert response.status_code == 201 and response.get_json()["adopted"] == 7
    assert len(client.get("/pethistory").get_json()) == 1  # not in the history before housekeeping
    assert client.post("/api/housekeeping").get_json() == {"moved": 7}
    assert sql("SELECT count(*) FROM transactions") == [(0,)]
    assert len(client.get("/pethistory").get_json()) == 8
    assert client.post("/api/housekeeping").get_json() == {"moved": 0}


def test_housekeeping_keeps_adoption_order_and_values(client, sql):
    ids = [client.post("/api/adopt", json={"pet_id": f"p{i}"}).get_json()["transaction_id"] for i in range(3)]
    client.post("/api/housekeeping")
    assert sql("SELECT pet_id, transaction_id FROM transactions_history ORDER BY id") == [
        (f"p{i}", ids[i]) for i in range(3)
    ]


@pytest.mark.parametrize("query", ["count=0", "count=101", "count=abc", "count=-3"])
def test_bad_count_is_400_json(client, query, sql):
    response = client.post(f"/api/adoptions?{query}")
    assert response.status_code == 400
    assert response.get_json()["message"].startswith("count must be")
    assert sql("SELECT count(*) FROM transactions") == [(0,)]


@pytest.mark.parametrize("body", [{"pet_id": "a b"}, {"pet_id": 7}, {"pet_id": "x" * 33}, [1, 2]])
def test_bad_pet_id_is_400_json(client, body):
    response = client.post("/api/adopt", json=body)
    assert response.status_code == 400 and response.get_json()["status"] == 400


def test_health_answers_while_the_database_does(client):
    assert client.get("/health/status").get_json() == {"status": "ok", "database": "reachable"}


def test_unknown_path_is_404_json(client):
    response = client.get("/nope")
    assert response.status_code == 404 and response.get_json()["status"] == 404


def test_missing_tables_answer_503_with_the_reason(make_app, sql):
    client = make_app().test_client()
    sql("ALTER TABLE transactions RENAME TO transactions_away")
    try:
        response = client.post("/api/adopt")
    finally:
        sql("ALTER TABLE transactions_away RENAME TO transactions")
    assert response.status_code == 503
    assert "PetAdoptionsHistory creates the tables" in response.get_json()["message"]
