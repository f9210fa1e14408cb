"""DB_SECRET_ID: credentials from Secrets Manager, as the workshop read them, here from moto."""
import json
import subprocess
import sys
import time

import boto3
import pytest
import requests

from pethistory.config import Config, ConfigError
from labtest.pgserver import free_port


@pytest.fixture(scope="module")
def moto_endpoint():
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/moto-api/", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def aws_env(moto_endpoint, monkeypatch):
    for name, value in {
        "AWS_ENDPOINT_URL": moto_endpoint, "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    return boto3.client("secretsmanager", region_name="us-east-1")


def test_secret_overrides_credentials_and_location(aws_env, pg):
    secret = {"username": "postgres", "password": "", "host": "127.0.0.1", "port": pg.port, "dbname": "adoptions"}
    aws_env.create_secret(Name="petlab/db-ok", SecretString=json.dumps(secret))
    config = Config.from_env({"DB_SECRET_ID": "petlab/db-ok", "DB_HOST": "elsewhere", "DB_PORT": "1", "AWS_REGION": "us-east-1"})
    assert (config.db_host, config.db_port, config.db_user) == ("127.0.0.1", pg.port, "postgres")

    from pethistory.db import Database
    from pethistory import repository

    database = Database(config)
    assert database.run(repository.count_transaction_history) >= 0
    database.close()


def test_missing_secret_is_a_clear_config_error(aws_env):
    with pytest.raises(ConfigError, match="cannot read database secret 'petlab/missing'"):
        Config.from_env({"DB_SECRET_ID": "petlab/missing", "AWS_REGION": "us-east-1"})


def test_secret_that_is_not_json_is_a_clear_config_error(aws_env):
    aws_env.create_secret(Name="petlab/not-json", SecretString="password=oops")
    with pytest.raises(ConfigError, match="cannot read database secret"):
        Config.from_env({"DB_SECRET_ID": "petlab/not-json", "AWS_REGION": "us-east-1"})
