"""A real OTLP/gRPC trace receiver (TraceService/Export on 127.0.0.1): the collector's receiving
end, in the test process or on its own.

    sink = OtlpSink(); sink.start()   # keeps the spans; stop() and start() again on the same port
    python -m labtest.otlp PORT       # counts and discards, until SIGTERM or SIGINT (bench/run)
"""
from __future__ import annotations

import signal
import sys
import threading
import time
from concurrent import futures

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from .pgserver import free_port


class _TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, sink: "OtlpSink"):
        self.sink = sink

    def Export(self, request, context):  # noqa: N802 (gRPC method name)
        self.sink.received(request)
        return trace_service_pb2.ExportTraceServiceResponse()


class OtlpSink:
    """Accepts OTLP/gRPC trace exports on 127.0.0.1:port (default: a free one).

    keep: hold the spans (spans, trace_ids(), server_spans(), wait_for_traces()) and the
    export requests as they came; False only counts them (span_count).
    on_export(count): called after each export with the running span count.
    """

    def __init__(self, port: int | None = None, keep: bool = True, on_export=None):
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.keep = keep
        self.on_export = on_export
        self.spans: list = []
        self.requests: list = []
        self.span_count = 0
        self.lock = threading.Lock()
        self._server = None

    def received(self, request) -> None:
        batch = [span for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]
        with self.lock:
            self.span_count += len(batch)
            count = self.span_count
            if self.keep:
                self.spans.extend(batch)
                self.requests.append(request)
        if self.on_export:
            self.on_export(count)

    def start(self) -> "OtlpSink":
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceService(self), server)
        if server.add_insecure_port(f"127.0.0.1:{self.port}") != self.port:
            raise OSError(f"OTLP sink: cannot listen on 127.0.0.1:{self.port}")
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=0).wait(5)
            self._server = None

    def trace_ids(self) -> set[str]:
        with self.lock:
            return {span.trace_id.hex() for span in self.spans}

    def server_spans(self) -> list:
        with self.lock:
            return [span for span in self.spans if span.kind == span.SPAN_KIND_SERVER]

    def wait_for_traces(self, wanted: set[str], timeout: float) -> set[str]:
        """Poll until every wanted trace id arrived; returns the ones still missing."""
        deadline = time.monotonic() + timeout
        while True:
            missing = wanted - self.trace_ids()
            if not missing or time.monotonic() > deadline:
                return missing
            time.sleep(0.2)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].isdigit() or not 0 < int(argv[0]) < 65536:
        print("usage: python -m labtest.otlp PORT  (PORT: 1-65535)", file=sys.stderr)
        return 2
    port = int(argv[0])
    sink = OtlpSink(port, keep=False,
                    on_export=lambda count: print(f"otlp sink received {count} spans", flush=True))
    try:
        sink.start()
    except (OSError, RuntimeError) as err:
        print(f"otlp sink: {err}", file=sys.stderr)
        return 1
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    print(f"otlp sink listening on 127.0.0.1:{port}", flush=True)
    done.wait()
    sink.stop()
    print(f"otlp sink received {sink.span_count} spans", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
