"""Every error is JSON with a message: no HTML pages, no stack traces."""
import pytest
from flask import Flask
from werkzeug.exceptions import BadRequest

from conftest import TRANSACTIONS
from pethistory.config import Config, ConfigError
from pethistory.errors import register_error_handlers


def assert_json_error(response, status):
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["status"] == status and body["message"] and body["error"]
    assert "Traceback" not in response.get_data(as_text=True)
    assert "<html" not in response.get_data(as_text=True).lower()
    return body


def test_unknown_path_is_json_404(client):
    assert_json_error(client.get("/nope"), 404)


def test_wrong_method_is_json_405_with_allow_header(client):
    response = client.post(TRANSACTIONS)
    assert_json_error(response, 405)
    assert {"GET", "DELETE"} <= {m.strip() for m in response.headers["Allow"].split(",")}


@pytest.fixture(scope="module")
def failing_client():
    """The service's error handlers on an app whose views fail on purpose (the service's own app
    is one per process and has served requests already, so it takes no new routes)."""
    app = Flask("failing")
    register_error_handlers(app)

    @app.get("/bad-request")
    def reject():
        raise BadRequest("pet id must be a string")

    @app.get("/explode")
    def explode():
        raise RuntimeError("secret internal detail")

    return app.test_client()


def test_bad_request_is_json_400(failing_client):
    body = assert_json_error(failing_client.get("/bad-request"), 400)
    assert body["message"] == "pet id must be a string"


def test_unexpected_exception_is_json_500_without_details(failing_client):
    body = assert_json_error(failing_client.get("/explode"), 500)
    assert "secret internal detail" not in body["message"]


@pytest.mark.parametrize(
    "env, message",
    [
        ({"DB_PORT": "abc"}, "DB_PORT must be a whole number"),
        ({"DB_POOL_SIZE": "0"}, "DB_POOL_SIZE must be at least 1"),
        ({"DB_CONNECT_TIMEOUT": "-1"}, "DB_CONNECT_TIMEOUT must be at least 1"),
        ({"FLAGD_RESOLVER": "rpc"}, "FLAGD_RESOLVER must be file, got .rpc."),
        ({"FLAGD_RESOLVER": "file"}, "FLAGD_RESOLVER=file needs FLAGD_OFFLINE_FLAG_SOURCE_PATH"),
        ({"FLAGD_OFFLINE_FLAG_SOURCE_PATH": "/flags.json"}, "FLAGD_RESOLVER must be file, got ''"),
        ({"FLAGD_RESOLVER": "file", "FLAGD_OFFLINE_FLAG_SOURCE_PATH": "/f", "FLAGD_DEADLINE_MS": "0"},
         "FLAGD_DEADLINE_MS must be at least 1"),
        ({"EKS_RESOURCE_DETECTOR": "yes"}, "EKS_RESOURCE_DETECTOR"),
    ],
)
def test_bad_settings_are_rejected_with_a_clear_message(env, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_env(env)


def test_defaults_match_the_workshop():
    config = Config.from_env({})
    assert (config.db_name, config.db_port, config.service_name) == (
        "adoptions", 5432, "PetAdoptionsHistory"
    )
    assert config.flag_file is None  # no feature flags: every fault drill off


@pytest.mark.parametrize("env, detector", [
    ({}, False),                                                     # not in a pod
    ({"KUBERNETES_SERVICE_HOST": "10.96.0.1"}, True),                # a pod: the walkthrough's EKS
    ({"KUBERNETES_SERVICE_HOST": "10.96.0.1", "EKS_RESOURCE_DETECTOR": "off"}, False),   # kind
    ({"EKS_RESOURCE_DETECTOR": "on"}, True),
])
def test_the_eks_detector_runs_in_a_pod_unless_switched_off(env, detector):
    assert Config.from_env(env).eks_detector is detector


def test_gunicorn_refuses_bad_setting_with_one_line(gunicorn_factory):
    with pytest.raises(RuntimeError) as failure:
        gunicorn_factory(DB_PORT="not-a-port")
    output = str(failure.value)
    assert "configuration error: DB_PORT must be a whole number" in output
    assert "Traceback" not in output
