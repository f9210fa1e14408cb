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
| EKS_RESOURCE_DETECTOR | auto | on: the resource gets the EKS detector's attributes (the walkthrough's step); off: no detector; auto: on when KUBERNETES_SERVICE_HOST is set (Kubernetes sets it in every pod). The kind overlay sets off: kind is no EKS, and the detector, which reads kube-system/aws-auth, could only fail there |
| OTEL_TRACES_EXPORTER | otlp | otlp: spans go to OTEL_EXPORTER_OTLP_ENDPOINT (gRPC); none: spans are made but not sent (standard OTel variable) |
| FLAGD_RESOLVER | (unset) | file: the lab's fault drills read their feature flags (OpenFeature, flagd's in-process provider) from FLAGD_OFFLINE_FLAG_SOURCE_PATH; unset: no flags, no fault, nothing added to the request path. flagd's other resolvers need a flagd server, which the lab does not run (standard flagd variable) |
| FLAGD_OFFLINE_FLAG_SOURCE_PATH | (unset) | the flagd flag file, required with FLAGD_RESOLVER=file; it may be missing or invalid (faults off) and is read again whenever its modification time changes (standard flagd variable) |
| FLAGD_DEADLINE_MS | 500 | how often, in ms, the provider looks at the flag file (its file watcher polls at its deadline) (standard flagd variable) |

The OTLP exporter and the batch span processor read their own standard variables
(OTEL_EXPORTER_OTLP_*, OTEL_BSP_*); the resource merges OTEL_RESOURCE_ATTRIBUTES.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

from labservice.config import ConfigError, ServiceConfig, env_choice, env_number, read_secret

__all__ = ["Config", "ConfigError"]


@dataclass(frozen=True)
class Config(ServiceConfig):
    """The shared DB_*, LOG_LEVEL and OTEL_SERVICE_NAME settings (labservice.config), DB_SECRET_ID,
    the two OpenTelemetry switches the service itself acts on, and where the feature flags are."""

    db_secret_id: str | None = None
    service_name: str = "PetAdoptionsHistory"
    db_pool_size: int = 8  # one connection per gunicorn thread (gunicorn.conf.py)
    export_spans: bool = True
    eks_detector: bool = False
    flag_file: str | None = None  # None: no feature flags (faults.py)
    flag_poll_ms: int = 500

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Config":
        env = os.environ if environ is None else environ
        config = cls(
            **cls.shared_settings(env),
            db_secret_id=env.get("DB_SECRET_ID") or None,
            export_spans=env_choice(env, "OTEL_TRACES_EXPORTER", "otlp", ("otlp", "none")) == "otlp",
            eks_detector=eks_detector(env),
            flag_file=flag_file(env),
            flag_poll_ms=env_number(env, "FLAGD_DEADLINE_MS", cls.flag_poll_ms, minimum=1),
        )
        if config.db_secret_id:
            config = config.with_secret(read_secret(config.db_secret_id, env))
        return config


def eks_detector(env: Mapping[str, str]) -> bool:
    """EKS_RESOURCE_DETECTOR: on, off, or auto (on in a Kubernetes pod)."""
    choice = env_choice(env, "EKS_RESOURCE_DETECTOR", "auto", ("auto", "on", "off"))
    return choice == "on" or (choice == "auto" and bool(env.get("KUBERNETES_SERVICE_HOST")))


def flag_file(env: Mapping[str, str]) -> str | None:
    """FLAGD_OFFLINE_FLAG_SOURCE_PATH when FLAGD_RESOLVER=file, None when neither is set."""
    resolver = env.get("FLAGD_RESOLVER", "").strip().lower()
    path = env.get("FLAGD_OFFLINE_FLAG_SOURCE_PATH", "").strip()
    if not resolver and not path:
        return None
    if resolver != "file":
        raise ConfigError(f"FLAGD_RESOLVER must be file, got {resolver!r} (the lab runs no flagd server)")
    if not path:
        raise ConfigError("FLAGD_RESOLVER=file needs FLAGD_OFFLINE_FLAG_SOURCE_PATH, the flag file")
    return path
