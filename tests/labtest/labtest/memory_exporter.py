"""A span exporter the SDK's own configuration can name: OTEL_TRACES_EXPORTER=labtest_memory.

The zero-code instrumentation builds its exporter from that variable (an entry point of this
package), so a test cannot hand it an InMemorySpanExporter object; this one keeps every exported
span in one list of the process, read with `finished()` and emptied with `clear()`.
"""
from __future__ import annotations

import threading
from typing import Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

_lock = threading.Lock()
_spans: list[ReadableSpan] = []


class MemorySpanExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with _lock:
            _spans.extend(spans)
        return SpanExportResult.SUCCESS


def finished() -> list[ReadableSpan]:
    with _lock:
        return list(_spans)


def clear() -> None:
    with _lock:
        _spans.clear()
