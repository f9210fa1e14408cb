"""A tiny but real OTLP/gRPC trace receiver: accepts TraceService/Export calls and discards them.

The bench's fallback when no collector binary can be had (no twin, no Docker engine).
    python otlp_sink.py PORT
"""
from __future__ import annotations

import signal
import sys
import threading
from concurrent import futures

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


class _Sink(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self):
        self.spans = 0

    def Export(self, request, context):  # noqa: N802 (gRPC method name)
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                self.spans += len(scope_spans.spans)
        print(f"otlp sink received {self.spans} spans", flush=True)
        return trace_service_pb2.ExportTraceServiceResponse()


def main() -> None:
    port = int(sys.argv[1])
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    sink = _Sink()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(sink, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    print(f"otlp sink listening on 127.0.0.1:{port}", flush=True)
    done.wait()
    server.stop(1)
    print(f"otlp sink received {sink.spans} spans", flush=True)


if __name__ == "__main__":
    main()
