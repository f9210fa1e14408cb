"""A database outage answers 503 JSON and heals by itself once PostgreSQL is back."""
import pytest

from conftest import TRANSACTIONS
from test_metrics import scrape, value


@pytest.fixture
def stopped_later(pg):
    """The suite's PostgreSQL, which the test stops; started again whatever the test does."""
    yield pg
    try:
        pg.start()
    except Exception:  # already running
        pass


def test_database_stopped_mid_test_gives_503_then_recovers_without_restart(client, stopped_later):
    own_pg = stopped_later
    assert client.get(TRANSACTIONS).status_code == 200  # pool now holds a live connection

    own_pg.stop()
    for _ in range(3):  # stale pooled connection first, then refused new connections
        response = client.get(TRANSACTIONS)
        assert response.status_code == 503
        body = response.get_json()
        assert body["status"] == 503 and body["message"].startswith("database unavailable")
        assert response.headers["Retry-After"] == "5"
    health = client.get("/health/status")
    assert health.status_code == 503
    assert health.get_json()["status"] == "unavailable" and health.get_json()["message"]
    assert client.delete(TRANSACTIONS).status_code == 503

    own_pg.start()
    assert client.get(TRANSACTIONS).status_code == 200
    assert client.get("/health/status").get_json()["status"] == "ok"


def test_metrics_scrape_survives_outage_and_omits_db_gauge(client, stopped_later):
    own_pg = stopped_later
    assert value(scrape(client), "transactions_history_count") == 0
    own_pg.stop()
    samples = scrape(client)
    assert "transactions_history_count" not in samples
    assert "transactions_get_count_total" in samples
    own_pg.start()
    assert value(scrape(client), "transactions_history_count") == 0


def test_connection_is_usable_after_a_failed_statement(app):
    """A statement error rolls the transaction back instead of poisoning the pooled connection."""
    import psycopg2

    database = app.extensions["pethistory.database"]

    def bad(cursor):
        cursor.execute("SELECT * FROM no_such_table")

    with pytest.raises(psycopg2.errors.UndefinedTable):
        database.run(bad)
    assert database.run(lambda cursor: (cursor.execute("SELECT 41 + 1"), cursor.fetchone()[0])[1]) == 42
