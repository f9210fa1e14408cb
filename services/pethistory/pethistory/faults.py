"""The lab's fault drill "the history service answers 5xx for a share of requests"; not part of the
walkthrough (telemetry.py is).

The share is the float feature flag `pethistoryFailure` (0..1), read with OpenFeature from flagd's
in-process file provider when FLAGD_RESOLVER=file (config.py), as the OpenTelemetry Demo injects
its faults. Without it there is no fault and nothing on the request path. Each API request
evaluates the flag once; the OpenTelemetry hook adds the evaluation to the request's span
(event `feature_flag.evaluation`), and a failed request's span carries the exception.
"""
from __future__ import annotations

import logging
import random

from flask import Flask, request
from openfeature import api
from openfeature.contrib.hook.opentelemetry import TracingHook
from openfeature.contrib.provider.flagd import FlagdProvider
from openfeature.contrib.provider.flagd.config import ResolverType
from openfeature.event import EventDetails, ProviderEvent
from openfeature.provider import ProviderStatus
from opentelemetry import trace
from werkzeug.exceptions import InternalServerError

from pethistory.config import Config

FLAG = "pethistoryFailure"
API_PREFIX = "/petadoptionshistory/api/"  # not /health/status, /metrics, /openapi.json
# The flagd provider's file watcher logs under this name.
PROVIDER_LOGGER = "openfeature.contrib"

log = logging.getLogger(__name__)


class FaultInjected(InternalServerError):
    """The 500 the drill answers (JSON like every error: errors.py)."""

    description = f"fault injected by feature flag {FLAG}"


class OncePerOutage(logging.Filter):
    """Passes each message once until the flags load again: the file watcher logs the same error
    (a missing or unreadable file) on every poll."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message in self.seen:
            return False
        self.seen.add(message)
        return True

    def forget(self, _details: EventDetails) -> None:
        self.seen.clear()


def install(app: Flask, config: Config) -> None:
    """With a flag file (FLAGD_RESOLVER=file): evaluate the flag before each API request of `app`
    (after telemetry's hooks, so the server span is current) and fail that share of them. Without
    one nothing is added to the request path: every request would get OpenFeature's no-op default."""
    if not config.flag_file:
        return
    quiet = OncePerOutage()
    logging.getLogger(PROVIDER_LOGGER).addFilter(quiet)
    api.add_handler(ProviderEvent.PROVIDER_READY, quiet.forget)
    api.add_handler(ProviderEvent.PROVIDER_CONFIGURATION_CHANGED, flags_read)
    # Not waited for: a missing file is retried by the provider's watcher thread.
    api.set_provider(
        FlagdProvider(
            resolver_type=ResolverType.FILE,
            offline_flag_source_path=config.flag_file,
            deadline_ms=config.flag_poll_ms,
        )
    )
    client = api.get_client(__name__)
    # Exceptions left out: a mistake in the flag file must not make a healthy request's span look
    # failed (the event names the evaluation's error).
    client.add_hooks([TracingHook(exclude_exceptions=True)])

    @app.before_request
    def inject_failure():
        if request.url_rule is None or not request.url_rule.rule.startswith(API_PREFIX):
            return
        # While the file is missing or unreadable the provider keeps the last flags it read (and
        # says ERROR): the drill counts that as off, so deleting the file ends the fault.
        if client.get_provider_status() is not ProviderStatus.READY:
            return
        if random.random() < client.get_float_value(FLAG, 0.0):
            error = FaultInjected()
            # The errors.py handler answers it, so Flask's instrumentation sees no exception: the
            # span gets it here, and its error status from the 500.
            trace.get_current_span().record_exception(error)
            raise error


def flags_read(details: EventDetails) -> None:
    log.info("feature flags read, changed: %s", ", ".join(details.flags_changed or []) or "none")
