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
| OTEL_SDK_DISABLED | false | true: no telemetry at all (standard OTel variable) |

The zero-code instrumentation reads the other OTEL_* variables itself (telemetry.py lists the
defaults PetSite gives them).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlparse

from labservice.config import ConfigError, ServiceConfig, env_number

__all__ = ["Config", "ConfigError"]


@dataclass(frozen=True)
class Config(ServiceConfig):
    """The shared DB_*, LOG_LEVEL and OTEL_SERVICE_NAME settings (labservice.config), and PETHISTORY_*."""

    pethistory_url: str = "http://pethistory:8080"
    pethistory_connect_timeout: float = 1.0
    pethistory_read_timeout: float = 5.0
    pethistory_retries: int = 2
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
            pethistory_connect_timeout=env_number(env, "PETHISTORY_CONNECT_TIMEOUT", cls.pethistory_connect_timeout, float, 0.05),
            pethistory_read_timeout=env_number(env, "PETHISTORY_READ_TIMEOUT", cls.pethistory_read_timeout, float, 0.05),
            pethistory_retries=env_number(env, "PETHISTORY_RETRIES", cls.pethistory_retries),
            **cls.shared_settings(env),
        )
