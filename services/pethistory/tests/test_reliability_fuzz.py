"""Bad input against the real server: schemathesis drives every operation of the service's own
OpenAPI document (served at /openapi.json) with generated valid and invalid requests, with the
database up and with it unreachable. No 5xx other than the documented 503, every error is JSON,
every response matches the document. Then hypothesis throws arbitrary paths and methods at it."""
import json
import string
from pathlib import Path

import pytest
import requests

# In tests/requirements.lock (scripts/test installs it); skipped in a venv without it.
schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402 (schemathesis brings hypothesis)
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

import pethistory

from conftest import pethistory_server
from labtest.pgserver import free_port


@pytest.fixture(scope="module")
def server_up(pg, tmp_path_factory):
    server = pethistory_server(pg.env(), tmp_path_factory.mktemp("fuzz-up"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def server_db_down(pg, tmp_path_factory):
    env = {**pg.env(), "DB_PORT": str(free_port()), "DB_CONNECT_TIMEOUT": "1"}  # nothing listens
    server = pethistory_server(env, tmp_path_factory.mktemp("fuzz-down"))
    yield server
    server.stop()


# Loaded from the file the service serves; calls go to the server under test (base_url).
SCHEMA = schemathesis.openapi.from_path(Path(pethistory.__file__).with_name("openapi.json"))
CASES = SCHEMA.as_strategy(GenerationMode.POSITIVE) | SCHEMA.as_strategy(GenerationMode.NEGATIVE)


def content_type(response) -> str:
    # requests: a case-insensitive str mapping; schemathesis: lower-case names -> lists of values
    value = {k.lower(): v for k, v in response.headers.items()}.get("content-type", "")
    return value[0] if isinstance(value, list) else value


def assert_json_error(response) -> None:
    if response.status_code >= 400:
        assert content_type(response).startswith("application/json"), response.content[:200]
        body = json.loads(response.content)
        assert body["message"], "an error without a reason"
        # The Error schema; /health/status answers its own Health schema (status "unavailable").
        assert body["status"] in (response.status_code, "unavailable"), body


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=CASES)
def test_every_operation_conforms_with_the_database_up(server_up, case):
    response = case.call_and_validate(base_url=server_up.url, timeout=10)
    assert response.status_code < 500
    assert_json_error(response)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=CASES)
def test_every_operation_conforms_with_the_database_unreachable(server_db_down, case):
    # 503 is the documented answer here: every other check (schema, content type, headers) holds.
    response = case.call_and_validate(base_url=server_db_down.url, timeout=10,
                                      excluded_checks=[not_a_server_error])
    assert response.status_code in (200, 503)  # /metrics, /openapi.json: 200; the rest: 503
    assert_json_error(response)


def test_every_documented_operation_is_exercised():
    operations = {(op.ok().method.upper(), op.ok().path) for op in SCHEMA.get_all_operations()}
    assert len(operations) == 5, operations


PATH_CHARS = string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@/%?#"
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "FOO"]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(method=st.sampled_from(METHODS),
       suffix=st.text(alphabet=PATH_CHARS, max_size=60),
       prefix=st.sampled_from(["/", "/petadoptionshistory/api/home/", "/health/", "/metrics/"]))
def test_arbitrary_paths_and_methods_answer_json_errors_never_5xx(server_up, method, suffix, prefix):
    response = requests.request(method, server_up.url + prefix + suffix, timeout=10,
                                allow_redirects=False)
    assert response.status_code < 500, (method, prefix + suffix, response.status_code)
    if method != "HEAD":
        assert_json_error(response)
