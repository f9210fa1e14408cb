"""When pethistory is down, slow or failing, PetSite answers fast with 502/503 and a message."""
import time

import pytest


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


@pytest.mark.parametrize("method, path", [("GET", "/pethistory"), ("DELETE", "/pethistory/deletepetadoptionshistory")])
def test_pethistory_down_answers_503_json_quickly(make_app, nothing_listening, method, path):
    client = make_app(PETHISTORY_URL=nothing_listening).test_client()
    response, took = timed(lambda: client.open(path, method=method))
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == 503 and body["message"].startswith("pethistory unreachable at http://127.0.0.1:")
    assert took < 2


def test_pethistory_down_page_renders_the_reason(make_app, nothing_listening):
    client = make_app(PETHISTORY_URL=nothing_listening).test_client()
    response, took = timed(lambda: client.get("/"))
    assert response.status_code == 503 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert 'id="error"' in html and "pethistory unreachable" in html
    assert 'id="clear"' in html  # still a usable page
    assert took < 2
    response = client.post("/ui/clear")
    assert response.status_code == 503 and "pethistory unreachable" in response.get_data(as_text=True)


def test_adoptions_work_while_pethistory_is_down(make_app, nothing_listening):
    client = make_app(PETHISTORY_URL=nothing_listening).test_client()
    assert client.post("/api/adopt").status_code == 201
    assert client.post("/api/housekeeping").get_json() == {"moved": 1}


def test_slow_pethistory_times_out_with_502_after_one_retry(make_app, fake_history):
    fake_history.delay = 2.0
    client = make_app(PETHISTORY_URL=fake_history.url, PETHISTORY_READ_TIMEOUT="0.3").test_client()
    response, took = timed(lambda: client.get("/pethistory"))
    assert response.status_code == 502
    assert response.get_json()["message"].startswith("pethistory did not answer within 0.3 s")
    assert len(fake_history.requests) == 2  # the first attempt and one retry, no more
    assert took < 1.5


def test_pethistory_error_is_retried_then_answered_502_with_its_message(make_app, fake_history):
    fake_history.status = 503
    fake_history.body = b'{"status": 503, "message": "database unavailable: connection refused"}'
    client = make_app(PETHISTORY_URL=fake_history.url, PETHISTORY_RETRIES="2").test_client()
    response, took = timed(lambda: client.get("/pethistory"))
    assert response.status_code == 502
    assert response.get_json()["message"] == "pethistory answered 503: database unavailable: connection refused"
    assert len(fake_history.requests) == 3
    assert took < 2  # Retry-After is not honoured


def test_retry_heals_a_single_failure(make_app, fake_history):
    fake_history.first_statuses = [503]
    client = make_app(PETHISTORY_URL=fake_history.url).test_client()
    assert client.get("/pethistory").status_code == 200
    assert len(fake_history.requests) == 2


def test_adoption_post_is_not_retried_on_error_answers(make_app, fake_history, nothing_listening):
    # Only idempotent calls are retried on answers; PetSite's one write to pethistory is DELETE.
    from labservice.http_client import IDEMPOTENT_METHODS

    assert "POST" not in IDEMPOTENT_METHODS and "DELETE" in IDEMPOTENT_METHODS


def test_non_json_answer_is_502_on_the_page(make_app, fake_history):
    fake_history.body = b"<html>oops</html>"
    client = make_app(PETHISTORY_URL=fake_history.url).test_client()
    response = client.get("/")
    assert response.status_code == 502 and "not JSON" in response.get_data(as_text=True)


def test_database_down_answers_503_json(make_app):
    client = make_app(DB_PORT="1", DB_CONNECT_TIMEOUT="1").test_client()
    response = client.post("/api/adopt")
    assert response.status_code == 503 and response.get_json()["message"].startswith("database unavailable")
    assert client.get("/health/status").status_code == 503
