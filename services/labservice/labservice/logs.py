"""One JSON object per log line, carrying the current trace so a line leads to its trace."""
from __future__ import annotations

import json
import logging
import sys
import time

from flask import Flask, g, request
from opentelemetry import trace

access_log = logging.getLogger("access")

# Attributes every LogRecord has; anything else passed through `extra=` is emitted as a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def xray_trace_id(trace_id: int) -> str:
    """The X-Ray form (1-<epoch hex>-<rest>) of a 128-bit trace id made by AwsXRayIdGenerator."""
    hex_id = format(trace_id, "032x")
    return f"1-{hex_id[:8]}-{hex_id[8:]}"


class JsonFormatter(logging.Formatter):
    def __init__(self, service_name: str):
        super().__init__()
        self.service_name = service_name

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "service": self.service_name,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            entry["trace_id"] = format(context.trace_id, "032x")
            entry["span_id"] = format(context.span_id, "016x")
            entry["xray_trace_id"] = xray_trace_id(context.trace_id)
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            # Kept inside the JSON line: a reader gets the cause without a multi-line trace.
            entry["error_type"] = record.exc_info[0].__name__
            entry["error_detail"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(service_name: str, level: str = "INFO") -> None:
    """Route the root logger (and gunicorn's error log, which propagates) to JSON on stdout."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service_name))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def log_requests(app: Flask, quiet_paths: frozenset[str]) -> None:
    """One JSON line per request of `app` (method, route, status, duration), except `quiet_paths`:
    scrapes and health probes every few seconds would bury real traffic."""

    @app.before_request
    def _start_timer():
        g.request_started = time.perf_counter()

    @app.after_request
    def _log(response):
        if request.path not in quiet_paths:
            started = g.get("request_started", time.perf_counter())
            access_log.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "http_method": request.method,
                    "http_route": request.url_rule.rule if request.url_rule else None,
                    "http_status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                },
            )
        return response
