"""The HTTP client for calls between the lab's services: timeouts and bounded retries.

`session(connect_timeout=, read_timeout=, retries=)` returns a `requests.Session` whose every request
- gives up after `connect_timeout` / `read_timeout` seconds unless the call passes its own timeout;
- is retried at most `retries` times with a short backoff, never honouring `Retry-After` (a caller
  waiting on a page must not sleep for it): refused connections for any method (nothing was sent),
  read timeouts (at most once) and 502/503/504 answers only for idempotent methods.
Tracing is not this module's job: where opentelemetry-instrumentation-requests is active, every
call is a CLIENT span carrying the global propagator's headers, and the retries of one call happen
inside its span.
"""
from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

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


def session(
    *,
    connect_timeout: float = 1.0,
    read_timeout: float = 5.0,
    retries: int = 2,
    backoff: float = 0.1,
    pool_size: int = 10,
) -> requests.Session:
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
    http = requests.Session()
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    return http
