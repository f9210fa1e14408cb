"""Every setting of the service, read once from environment variables with documented defaults.

| variable | default | meaning |
| --- | --- | --- |
| DB_HOST | localhost | PostgreSQL host |
| DB_PORT | 5432 | PostgreSQL port |
| DB_NAME | adoptions | database name (the workshop's) |
| DB_USER | postgres | database user |
| DB_PASSWORD | (empty) | database password |
| DB_SECRET_ID | (unset) | Secrets Manager secret (JSON: username, password, host, port, dbname) that overrides the DB_* values, as the workshop read it; honours AWS_REGION and AWS_ENDPOINT_URL |
| DB_POOL_SIZE | 8 | connections the process keeps open (at least one per gunicorn thread) |
| DB_CONNECT_TIMEOUT | 3 | seconds before a connection attempt gives up (then 503) |
| DB_STATEMENT_TIMEOUT_MS | 5000 | server-side limit for one statement |
| LOG_LEVEL | INFO | root log level |
| OTEL_SERVICE_NAME | PetAdoptionsHistory | service.name of spans and metrics (standard OTel variable) |
| OTEL_SDK_DISABLED | false | true: no telemetry at all, the walkthrough's "before" (standard OTel variable) |
| KUBERNETES_SERVICE_HOST | (set by Kubernetes) | present: the resource gets the EKS detector's attributes |
| OTEL_TRACES_EXPORTER | otlp | otlp: spans go to OTEL_EXPORTER_OTLP_ENDPOINT (gRPC); none: spans are made but not sent (standard OTel variable) |

The OTLP exporter and the batch span processor read their own standard variables
(OTEL_EXPORTER_OTLP_*, OTEL_BSP_*); the resource merges OTEL_RESOURCE_ATTRIBUTES.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

from labservice.config import ConfigError, ServiceConfig, env_choice, read_secret

__all__ = ["Config", "ConfigError"]


@dataclass(frozen=True)
class Config(ServiceConfig):
    """The shared DB_*, LOG_LEVEL and OTEL_SERVICE_NAME settings (labservice.config), DB_SECRET_ID,
    and the two OpenTelemetry switches the service itself acts on."""

    db_secret_id: str | None = None
    service_name: str = "PetAdoptionsHistory"
    db_pool_size: int = 8  # one connection per gunicorn thread (gunicorn.conf.py)
    export_spans: bool = True
    on_kubernetes: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Config":
        env = os.environ if environ is None else environ
        config = cls(
            **cls.shared_settings(env),
            db_secret_id=env.get("DB_SECRET_ID") or None,
            export_spans=env_choice(env, "OTEL_TRACES_EXPORTER", "otlp", ("otlp", "none")) == "otlp",
            on_kubernetes=bool(env.get("KUBERNETES_SERVICE_HOST")),
        )
        if config.db_secret_id:
            config = config.with_secret(read_secret(config.db_secret_id, env))
        return config
