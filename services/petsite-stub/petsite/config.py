"""Every setting of the PetSite stub, read once from environment variables with documented defaults.

| variable | default | meaning |
| --- | --- | --- |
| PETHISTORY_URL | http://pethistory:8080 | base URL of PetAdoptionsHistory |
| PETHISTORY_CONNECT_TIMEOUT | 1.0 | seconds to open a connection to it |
| PETHISTORY_READ_TIMEOUT | 5.0 | seconds to wait for its answer |
| PETHISTORY_RETRIES | 2 | retries of a failed idempotent call (GET, DELETE); refused connections, 502/503/504, one read timeout |
| DB_HOST | localhost | PostgreSQL host (the same database as pethistory) |
| DB_PORT | 5432 | PostgreSQL port |
| DB_NAME | adoptions | database name |
| DB_USER | postgres | database user |
| DB_PASSWORD | (empty) | database password |
| DB_POOL_SIZE | 4 | connections each process keeps open |
| DB_CONNECT_TIMEOUT | 3 | seconds before a connection attempt gives up (then 503) |
| DB_STATEMENT_TIMEOUT_MS | 5000 | server-side limit for one statement |
| LOG_LEVEL | INFO | root log level |
| OTEL_SERVICE_NAME | PetSite | service.name of spans (standard OTel variable) |
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlparse


class ConfigError(ValueError):
    """A setting has a value the service cannot use."""


def _number(environ: Mapping[str, str], name: str, default, kind=int, minimum=0):
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class Config:
    pethistory_url: str = "http://pethistory:8080"
    pethistory_connect_timeout: float = 1.0
    pethistory_read_timeout: float = 5.0
    pethistory_retries: int = 2
    db_host: str = "localhost"
    db_port: int = 5432
    db_name: str = "adoptions"
    db_user: str = "postgres"
    db_password: str = ""
    db_pool_size: int = 4
    db_connect_timeout: int = 3
    db_statement_timeout_ms: int = 5000
    log_level: str = "INFO"
    service_name: str = "PetSite"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Config":
        env = os.environ if environ is None else environ
        url = env.get("PETHISTORY_URL", cls.pethistory_url).strip().rstrip("/")
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigError(f"PETHISTORY_URL must be an http(s) URL, got {url!r}")
        return cls(
            pethistory_url=url,
            pethistory_connect_timeout=_number(env, "PETHISTORY_CONNECT_TIMEOUT", cls.pethistory_connect_timeout, float, 0.05),
            pethistory_read_timeout=_number(env, "PETHISTORY_READ_TIMEOUT", cls.pethistory_read_timeout, float, 0.05),
            pethistory_retries=_number(env, "PETHISTORY_RETRIES", cls.pethistory_retries),
            db_host=env.get("DB_HOST", cls.db_host),
            db_port=_number(env, "DB_PORT", cls.db_port, minimum=1),
            db_name=env.get("DB_NAME", cls.db_name),
            db_user=env.get("DB_USER", cls.db_user),
            db_password=env.get("DB_PASSWORD", cls.db_password),
            db_pool_size=_number(env, "DB_POOL_SIZE", cls.db_pool_size, minimum=1),
            db_connect_timeout=_number(env, "DB_CONNECT_TIMEOUT", cls.db_connect_timeout, minimum=1),
            db_statement_timeout_ms=_number(env, "DB_STATEMENT_TIMEOUT_MS", cls.db_statement_timeout_ms),
            log_level=env.get("LOG_LEVEL", cls.log_level).upper(),
            service_name=env.get("OTEL_SERVICE_NAME", cls.service_name),
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
