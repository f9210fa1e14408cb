"""PetSite's telemetry, with no SDK code of its own: OpenTelemetry's zero-code instrumentation.

The walkthrough instruments PetAdoptionsHistory by hand (services/pethistory/pethistory/telemetry.py);
its first paragraph names the other way, "automatic instrumentation agents", and that is how the
caller is instrumented here. `initialize()` is what `opentelemetry-instrument` runs before a program
starts: the distro configures the SDK from the OTEL_* variables and instruments every installed
library it has an instrumentation for (Flask, psycopg2, requests). The image sets those variables
(Dockerfile, target petsite-stub: X-Ray trace ids, X-Ray and W3C headers, spans over OTLP, no OTel
metrics or logs, scrapes and probes not traced); OTEL_EXPORTER_OTLP_ENDPOINT comes from compose.

It runs in the app factory, so in each gunicorn worker after the fork (the export thread lives in
the process that records the spans), once per process.
"""
from __future__ import annotations

from opentelemetry.instrumentation.auto_instrumentation import initialize

_done = False


def instrument() -> None:
    """Configure the SDK and instrument Flask, psycopg2 and requests for this process. Before the
    app is made: the Flask instrumentation instruments the apps created after it."""
    global _done
    if not _done:
        initialize()
        _done = True
