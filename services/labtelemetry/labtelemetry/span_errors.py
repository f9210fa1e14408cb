"""What `trace.use_span` does with an exception that leaves its block, for the spans this package
activates by hand (server_spans.py, db_spans.py): the same event and status as the stock
instrumentors, which activate theirs through `use_span`."""
from __future__ import annotations

from opentelemetry.trace import Span, Status, StatusCode


def record_escaped_exception(span: Span, exc: BaseException) -> None:
    if isinstance(exc, Exception) and span.is_recording():  # use_span catches Exception only
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, description=f"{type(exc).__name__}: {exc}"))
