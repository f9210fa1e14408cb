"""The HTTP client for calls between the lab's services: traced, with timeouts and bounded retries.

`traced_session(telemetry, ...)` returns a `requests.Session` whose every request
- is a CLIENT span (opentelemetry-instrumentation-requests) and carries the caller's trace in the
  headers of the global propagator that `init_telemetry` set: `X-Amzn-Trace-Id` and `traceparent`;
- gives up after `connect_timeout` / `read_timeout` seconds unless the call passes its own timeout;
- is retried at most `retries` times with a short backoff, never honouring `Retry-After` (a caller
  waiting on a page must not sleep for it): refused connections for any method (nothing was sent),
  read timeouts (at most once) and 502/503/504 answers only for idempotent methods.
Retries happen inside one span, so the attempts share the span and the propagated headers.
"""
from __future__ import annotations

import requests
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from labtelemetry.providers import Telemetry

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class _DefaultTimeoutAdapter(HTTPAdapter):
    """An adapter that applies (connect, read) timeouts to requests that did not set one."""

    def __init__(self, timeout: tuple[float, float], **kwargs):
        self._timeout = timeout
        super().__init__(**kwargs)

    def send(self, request, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, **kwargs)


def instrument_requests(telemetry: Telemetry) -> None:
    """Trace every `requests` call of this process (once; a no-op when telemetry is disabled)."""
    instrumentor = RequestsInstrumentor()
    if telemetry.enabled and not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(
            tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
        )


def traced_session(
    telemetry: Telemetry,
    *,
    connect_timeout: float = 1.0,
    read_timeout: float = 5.0,
    retries: int = 2,
    backoff: float = 0.1,
    pool_size: int = 10,
) -> requests.Session:
    instrument_requests(telemetry)
    retry = Retry(
        total=retries,
        connect=retries,
        read=min(retries, 1),
        status=retries,
        other=0,
        allowed_methods=IDEMPOTENT_METHODS,
        status_forcelist=(502, 503, 504),
        backoff_factor=backoff,
        backoff_max=1.0,
        raise_on_status=False,
        respect_retry_after_header=False,
    )
    adapter = _DefaultTimeoutAdapter(
        (connect_timeout, read_timeout), max_retries=retry, pool_connections=1, pool_maxsize=pool_size
    )
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
