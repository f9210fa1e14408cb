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
from dataclasses import dataclass
from typing import Mapping

from labservice.config import ConfigError, ServiceConfig, read_secret

__all__ = ["Config", "ConfigError"]


@dataclass(frozen=True)
class Config(ServiceConfig):
    """The shared DB_*, LOG_LEVEL and OTEL_SERVICE_NAME settings (labservice.config), and DB_SECRET_ID."""

    db_secret_id: str | None = None
    service_name: str = "PetAdoptionsHistory"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Config":
        env = os.environ if environ is None else environ
        config = cls(**cls.database_settings(env), db_secret_id=env.get("DB_SECRET_ID") or None)
        if config.db_secret_id:
            config = config.with_secret(read_secret(config.db_secret_id, env))
        return config
