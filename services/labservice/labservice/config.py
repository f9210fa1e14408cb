"""The settings every lab service reads: the database (DB_*), LOG_LEVEL, OTEL_SERVICE_NAME and
OTEL_SDK_DISABLED.

A service's `Config` subclasses `ServiceConfig`, sets its `service_name` default, adds its own
fields and builds itself from `shared_settings(env)` plus those (see each service's config.py,
whose table lists every variable that service reads).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping, TypeVar

C = TypeVar("C", bound="ServiceConfig")


class ConfigError(ValueError):
    """A setting has a value the service cannot use."""


def env_number(environ: Mapping[str, str], name: str, default, kind=int, minimum=0):
    """`name` from the environment as an int (or `kind`), `default` when unset or blank."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{name} must be {what}, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def env_choice(environ: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    """`name` from the environment, lower-cased, one of `choices`; `default` when unset or blank."""
    raw = environ.get(name, "").strip().lower() or default
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


@dataclass(frozen=True)
class ServiceConfig:
    db_host: str = "localhost"
    db_port: int = 5432
    db_name: str = "adoptions"
    db_user: str = "postgres"
    db_password: str = ""
    db_pool_size: int = 4
    db_connect_timeout: int = 3
    db_statement_timeout_ms: int = 5000
    log_level: str = "INFO"
    service_name: str = "service"
    telemetry_enabled: bool = True

    @classmethod
    def shared_settings(cls, env: Mapping[str, str]) -> dict:
        """The fields above, read from DB_*, LOG_LEVEL, OTEL_SERVICE_NAME and OTEL_SDK_DISABLED."""
        return {
            "db_host": env.get("DB_HOST", cls.db_host),
            "db_port": env_number(env, "DB_PORT", cls.db_port, minimum=1),
            "db_name": env.get("DB_NAME", cls.db_name),
            "db_user": env.get("DB_USER", cls.db_user),
            "db_password": env.get("DB_PASSWORD", cls.db_password),
            "db_pool_size": env_number(env, "DB_POOL_SIZE", cls.db_pool_size, minimum=1),
            "db_connect_timeout": env_number(env, "DB_CONNECT_TIMEOUT", cls.db_connect_timeout, minimum=1),
            "db_statement_timeout_ms": env_number(env, "DB_STATEMENT_TIMEOUT_MS", cls.db_statement_timeout_ms),
            "log_level": env.get("LOG_LEVEL", cls.log_level).upper(),
            "service_name": env.get("OTEL_SERVICE_NAME", cls.service_name),
            # The standard OpenTelemetry switch: true runs the service with no telemetry at all.
            "telemetry_enabled": env_choice(env, "OTEL_SDK_DISABLED", "false", ("false", "true")) == "false",
        }

    def with_secret(self: C, secret: Mapping[str, object]) -> C:
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


def read_secret(secret_id: str, env: Mapping[str, str]) -> Mapping[str, object]:
    """A Secrets Manager secret's JSON (for `with_secret`); honours AWS_REGION and AWS_ENDPOINT_URL."""
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
