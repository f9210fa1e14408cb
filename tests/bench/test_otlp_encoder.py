"""labtelemetry.otlp's encoder and exporter send exactly the message the SDK's OTLP encoder makes."""
from __future__ import annotations

import sys
from concurrent import futures
from pathlib import Path

import grpc
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "services" / "labtelemetry"))

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans  # noqa: E402
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import SpanLimits, TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode  # noqa: E402
from opentelemetry.trace import TraceFlags, TraceState, set_span_in_context  # noqa: E402

from labtelemetry.otlp import FastOTLPSpanExporter, SpanEncoder  # noqa: E402

ExportRequest = trace_service_pb2.ExportTraceServiceRequest


def make_spans():
    memory = InMemorySpanExporter()
    providers = [
        TracerProvider(resource=Resource.create({"service.name": "PetAdoptionsHistory", "n": 1}),
                       span_limits=SpanLimits(max_span_attributes=6)),
        TracerProvider(resource=Resource({"service.name": "other"}, schema_url="https://x/schema")),
    ]
    for provider in providers:
        provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = providers[0].get_tracer("flask", "1.2", schema_url="https://s")
    db_tracer = providers[0].get_tracer("dbapi")
    remote = SpanContext(0x6B06E51000000000000000000000CAFE, 0x53995C3F42CD8AD8, is_remote=True,
                         trace_flags=TraceFlags(1), trace_state=TraceState([("k", "v"), ("x", "y")]))
    for round_ in range(3):  # repeated values exercise the cache
        with tracer.start_as_current_span(
            "GET /petadoptionshistory/api/home/transactions", kind=SpanKind.SERVER,
            context=set_span_in_context(NonRecordingSpan(remote)),
            attributes={"http.method": "GET", "http.status_code": 200, "net.peer.port": 50000 + round_,
                        "ok": True, "one": 1, "ratio": 0.5},
        ) as server:
            with db_tracer.start_as_current_span("SELECT", kind=SpanKind.CLIENT) as db:
                db.set_attribute("db.statement", "SELECT " + "x" * 300)
                db.set_attribute("tags", ("a", "b"))
                db.set_attribute("flags", (True, False))
                db.set_attribute("ints", (1, 2, 3))
                db.set_attribute("nom", "Zoë ✓")
                db.add_event("retry", {"attempt": round_})
            with tracer.start_as_current_span("transactions_delete", links=[Link(remote, {"why": "x"})]) as c:
                c.set_attribute("pethistory.rows_deleted", 0)
                c.set_status(Status(StatusCode.ERROR, "boom"))
                c.record_exception(ValueError("bad"))
            for i in range(8):  # beyond max_span_attributes: dropped_attributes_count
                server.set_attribute(f"extra{i}", i)
            server.set_status(Status(StatusCode.OK))
        with providers[1].get_tracer("other").start_as_current_span("Ωmega" * 40):
            pass
    return memory.get_finished_spans()


def test_encoder_matches_the_sdk_encoder():
    spans = make_spans()
    encoder = SpanEncoder()
    for _ in range(2):  # second pass from the caches
        mine = ExportRequest.FromString(encoder.encode(spans))
        assert mine == encode_spans(spans)
    assert ExportRequest.FromString(encoder.encode(spans[:1])) == encode_spans(spans[:1])


def test_one_and_true_are_not_confused_by_the_cache():
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("t")
    for value in (1, True, 1.0, (1,), (True,), 0.0, -0.0, float("nan"), float("nan")):
        with tracer.start_as_current_span("s", attributes={"v": value}):
            pass
    spans = memory.get_finished_spans()
    assert ExportRequest.FromString(SpanEncoder().encode(spans)) == encode_spans(spans)


class _Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self):
        self.requests = []

    def Export(self, request, context):  # noqa: N802
        self.requests.append(request)
        return trace_service_pb2.ExportTraceServiceResponse()


@pytest.fixture
def receiver():
    servicer = _Receiver()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, port
    server.stop(0)


def test_exporter_sends_the_sdk_message_over_grpc(receiver):
    servicer, port = receiver
    spans = make_spans()
    exporter = FastOTLPSpanExporter(endpoint=f"http://127.0.0.1:{port}", insecure=True)
    try:
        assert exporter.export(spans) == SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    assert servicer.requests == [encode_spans(spans)]


