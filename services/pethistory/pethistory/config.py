"""Every setting of the service, read once from environment variables with documented defaults.

| variable | default | meaning |
| --- | --- | --- |
| DB_HOST | localhost | PostgreSQL host |
| DB_PORT | 5432 | PostgreSQL port |
| DB_NAME | adoptions | database name (the workshop's) |
| DB_USER | postgres | database user |
| DB_PASSWORD | (empty) | database password |
| DB_SECRET_ID | (unset) | Secrets Manager secret (JSON: username, password, host, port, dbname) that overrides the DB_* values, as the workshop read it; honours AWS_REGION and AWS_ENDPOINT_URL |
| DB_POOL_SIZE | 4 | connections each process keeps open (one per gunicorn thread is enough) |
| DB_CONNECT_TIMEOUT | 3 | seconds before a connection attempt gives up (then 503) |
| DB_STATEMENT_TIMEOUT_MS | 5000 | server-side limit for one statement |
| LOG_LEVEL | INFO | root log level |
| OTEL_SERVICE_NAME | PetAdoptionsHistory | service.name of spans (standard OTel variable) |
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Mapping


class ConfigError(ValueError):
    """A setting has a value the service cannot use."""


def _int(environ: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class Config:
    db_host: str = "localhost"
    db_port: int = 5432
    db_name: str = "adoptions"
    db_user: str = "postgres"
    db_password: str = ""
    db_secret_id: str | None = None
    db_pool_size: int = 4
    db_connect_timeout: int = 3
    db_statement_timeout_ms: int = 5000
    log_level: str = "INFO"
    service_name: str = "PetAdoptionsHistory"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Config":
        env = os.environ if environ is None else environ
        config = cls(
            db_host=env.get("DB_HOST", cls.db_host),
            db_port=_int(env, "DB_PORT", cls.db_port, 1),
            db_name=env.get("DB_NAME", cls.db_name),
            db_user=env.get("DB_USER", cls.db_user),
            db_password=env.get("DB_PASSWORD", cls.db_password),
            db_secret_id=env.get("DB_SECRET_ID") or None,
            db_pool_size=_int(env, "DB_POOL_SIZE", cls.db_pool_size, 1),
            db_connect_timeout=_int(env, "DB_CONNECT_TIMEOUT", cls.db_connect_timeout, 1),
            db_statement_timeout_ms=_int(env, "DB_STATEMENT_TIMEOUT_MS", cls.db_statement_timeout_ms),
            log_level=env.get("LOG_LEVEL", cls.log_level).upper(),
            service_name=env.get("OTEL_SERVICE_NAME", cls.service_name),
        )
        if config.db_secret_id:
            config = config.with_secret(_read_secret(config.db_secret_id, env))
        return config

    def with_secret(self, secret: Mapping[str, object]) -> "Config":
        """Credentials (and, where present, location) from a Secrets Manager secret."""
        return replace(
            self,
            db_user=str(secret.get("username", self.db_user)),
            db_password=str(secret.get("password", self.db_password)),
            db_host=str(secret.get("host", self.db_host)),
            db_port=int(secret.get("port", self.db_port)),
            db_name=str(secret.get("dbname", self.db_name)),
        )

    def dsn_kwargs(self) -> dict:
        return {
            "host": self.db_host,
            "port": self.db_port,
            "dbname": self.db_name,
            "user": self.db_user,
            "password": self.db_password,
            "connect_timeout": self.db_connect_timeout,
            "options": f"-c statement_timeout={self.db_statement_timeout_ms}",
            "application_name": self.service_name,
        }


def _read_secret(secret_id: str, env: Mapping[str, str]) -> Mapping[str, object]:
    import json

    import boto3  # only needed when a secret is configured
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        # boto3 reads AWS_ENDPOINT_URL(_SECRETS_MANAGER) itself, but only AWS_DEFAULT_REGION.
        client = boto3.client("secretsmanager", region_name=env.get("AWS_REGION") or None)
        response = client.get_secret_value(SecretId=secret_id)
        return json.loads(response["SecretString"])
    except (BotoCoreError, ClientError, KeyError, ValueError) as error:
        raise ConfigError(f"cannot read database secret {secret_id!r}: {error}") from None
