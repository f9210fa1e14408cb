"""OTLP/gRPC span export with a cheaper encoder: the same protobuf message, built as bytes.

The SDK's encoder builds one protobuf object per span, attribute, key and value (about 30 per
span of this service) on the export thread, which holds the GIL the request threads need: about
30 µs of CPU per span. Almost every attribute of a server's spans repeats from one request to the
next (method, route, host, user agent, database statement ...), so this encoder writes the
protobuf wire format directly and keeps the encoded bytes of each (key, value) pair it has seen;
a span is then a handful of dictionary look-ups and one `bytes.join`. Anything unusual (events,
links, values that are not hashable) is encoded by the SDK's own functions, so the result parses
to exactly the message the SDK's encoder makes (tests/bench/test_otlp_encoder.py checks it).

`FastOTLPSpanExporter` is the SDK's `OTLPSpanExporter` (same OTEL_EXPORTER_OTLP_* variables,
retries, reconnection, TLS, headers, compression) sending those bytes through a gRPC method with
an identity serializer.
"""
from __future__ import annotations

import struct
from typing import Sequence

from opentelemetry.exporter.otlp.proto.common._internal import (
    _encode_attributes,
    _encode_instrumentation_scope,
    _encode_resource,
)
from opentelemetry.exporter.otlp.proto.common._internal.trace_encoder import (
    _encode_events,
    _encode_links,
)
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

_EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

# Span.kind: the API's SpanKind to the protobuf enum (which has UNSPECIFIED = 0).
_KIND = {
    SpanKind.INTERNAL: b"\x30\x01",
    SpanKind.SERVER: b"\x30\x02",
    SpanKind.CLIENT: b"\x30\x03",
    SpanKind.PRODUCER: b"\x30\x04",
    SpanKind.CONSUMER: b"\x30\x05",
}
_FIXED64 = struct.Struct("<Q").pack
_FIXED32 = struct.Struct("<I").pack
# Span.flags (field 16, fixed32): SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK, plus IS_REMOTE for a
# remote parent, as the SDK's encoder sets them.
_FLAGS_LOCAL = b"\x85\x01" + _FIXED32(0x100)
_FLAGS_REMOTE = b"\x85\x01" + _FIXED32(0x300)
_EMPTY_STATUS = b"\x7a\x00"  # status present with code UNSET and no message, as the SDK writes it
_CACHE_LIMIT = 4096


def _varint(value: int) -> bytes:
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: tag, length, payload."""
    size = len(payload)
    return tag + (bytes((size,)) if size < 0x80 else _varint(size)) + payload


class SpanEncoder:
    """Encodes ReadableSpans to a serialized ExportTraceServiceRequest. Not thread-safe: one per
    exporter, used by its export thread."""

    def __init__(self):
        self._attributes: dict[tuple, bytes] = {}
        self._resources: dict[int, tuple[object, bytes]] = {}
        self._scopes: dict[int, tuple[object, bytes]] = {}
        self._names: dict[str, bytes] = {}

    def _attribute(self, key: str, value) -> bytes:
        """Field 9 (attributes) of a Span: one KeyValue, encoded once per distinct pair."""
        cache_key = (key, value.__class__, value)
        try:
            return self._attributes[cache_key]
        except KeyError:
            pass
        except TypeError:  # unhashable value: encode it every time
            return b"".join(_field(b"\x4a", kv.SerializeToString()) for kv in _encode_attributes({key: value}))
        encoded = b"".join(_field(b"\x4a", kv.SerializeToString()) for kv in _encode_attributes({key: value}))
        # Only strings, ints and bools are cached: a tuple may hold 1 and True (equal to Python, not
        # to protobuf), floats may be -0.0 (== 0.0) or NaN (never equal), and are rarely repeated.
        if value.__class__ in (str, int, bool):
            if len(self._attributes) >= _CACHE_LIMIT:
                self._attributes.clear()
            self._attributes[cache_key] = encoded
        return encoded

    def _name(self, name: str) -> bytes:
        encoded = self._names.get(name)
        if encoded is None:
            encoded = _field(b"\x2a", name.encode("utf-8"))
            if len(self._names) >= _CACHE_LIMIT:
                self._names.clear()
            self._names[name] = encoded
        return encoded

    def span(self, span: ReadableSpan) -> bytes:
        context = span.context
        parent = span.parent
        parts = [
            b"\x0a\x10", context.trace_id.to_bytes(16, "big"),
            b"\x12\x08", context.span_id.to_bytes(8, "big"),
        ]
        trace_state = context.trace_state
        if trace_state:
            parts.append(_field(b"\x1a", ",".join(f"{k}={v}" for k, v in trace_state.items()).encode()))
        if parent is not None:
            parts += (b"\x22\x08", parent.span_id.to_bytes(8, "big"))
        parts += (
            self._name(span.name),
            _KIND[span.kind],
            b"\x39", _FIXED64(span.start_time),
            b"\x41", _FIXED64(span.end_time),
        )
        # ReadableSpan's public properties copy (events, links) or wrap (attributes) on every
        # access; read the SDK's fields directly where they are what this SDK version keeps.
        attributes = getattr(span, "_attributes", None)
        attributes = getattr(attributes, "_dict", None) if attributes is not None else None
        if attributes is None:
            attributes = span.attributes
        if attributes:
            attribute = self._attribute
            for key, value in attributes.items():
                parts.append(attribute(key, value))
            if span.dropped_attributes:
                parts += (b"\x50", _varint(span.dropped_attributes))
        if getattr(span, "_events", True):
            events = span.events
            for event in _encode_events(events) or ():
                parts.append(_field(b"\x5a", event.SerializeToString()))
            if span.dropped_events:
                parts += (b"\x60", _varint(span.dropped_events))
        if getattr(span, "_links", True):
            links = span.links
            for link in _encode_links(links) or ():
                parts.append(_field(b"\x6a", link.SerializeToString()))
            if span.dropped_links:
                parts += (b"\x70", _varint(span.dropped_links))
        status = span.status
        if status.status_code.value == 0 and not status.description:
            parts.append(_EMPTY_STATUS)
        else:
            body = b""
            if status.description:
                body += _field(b"\x12", status.description.encode("utf-8"))
            if status.status_code.value:
                body += b"\x18" + _varint(status.status_code.value)
            parts.append(_field(b"\x7a", body))
        parts.append(_FLAGS_REMOTE if parent is not None and parent.is_remote else _FLAGS_LOCAL)
        return b"".join(parts)

    # Resource and InstrumentationScope hash by value (Resource's hash runs json.dumps), but a
    # process has a handful of them, each one object: they are looked up by identity (the cache
    # holds the object too, so an id is never reused while cached).

    def _resource(self, resource) -> bytes:
        cached = self._resources.get(id(resource))
        if cached is None:
            encoded = _field(b"\x0a", _encode_resource(resource).SerializeToString())
            if resource.schema_url:
                encoded += _field(b"\x1a", resource.schema_url.encode("utf-8"))
            if len(self._resources) >= 64:
                self._resources.clear()
            cached = self._resources[id(resource)] = (resource, encoded)
        return cached[1]

    def _scope(self, scope) -> bytes:
        cached = self._scopes.get(id(scope))
        if cached is None:
            encoded = _field(b"\x0a", _encode_instrumentation_scope(scope).SerializeToString())
            if len(self._scopes) >= 256:
                self._scopes.clear()
            cached = self._scopes[id(scope)] = (scope, encoded)
        return cached[1]

    def encode(self, spans: Sequence[ReadableSpan]) -> bytes:
        """The serialized ExportTraceServiceRequest: spans grouped by resource, then by scope
        (resources and scopes equal by value but distinct objects are merged, as the SDK does)."""
        by_identity: dict = {}
        for span in spans:
            resource, scope = span.resource, span.instrumentation_scope or None
            key = (id(resource), id(scope))
            group = by_identity.get(key)
            if group is None:
                group = by_identity[key] = (resource, scope, [])
            group[2].append(self.span(span))
        grouped: dict = {}
        for resource, scope, encoded in by_identity.values():  # a few groups: hashing is cheap here
            grouped.setdefault(resource, {}).setdefault(scope, []).extend(encoded)
        request = []
        for resource, scopes in grouped.items():
            scope_spans = []
            for scope, encoded_spans in scopes.items():
                body = [self._scope(scope)]
                body += [_field(b"\x12", encoded) for encoded in encoded_spans]
                if scope is not None and scope.schema_url:
                    body.append(_field(b"\x1a", scope.schema_url.encode("utf-8")))
                scope_spans.append(_field(b"\x12", b"".join(body)))
            request.append(_field(b"\x0a", self._resource(resource) + b"".join(scope_spans)))
        return b"".join(request)


class _EncodedExport:
    """Stands in for the gRPC stub: one Export method taking already-serialized requests."""

    def __init__(self, channel):
        self.Export = channel.unary_unary(  # noqa: N815 (the stub's method name)
            _EXPORT_METHOD,
            request_serializer=None,  # the request is bytes already
            response_deserializer=ExportTraceServiceResponse.FromString,
        )


class FastOTLPSpanExporter(OTLPSpanExporter):
    """The SDK's OTLP/gRPC span exporter with the encoder above."""

    def __init__(self, *args, **kwargs):
        self._encoder = SpanEncoder()
        super().__init__(*args, **kwargs)

    def _initialize_channel_and_stub(self):
        super()._initialize_channel_and_stub()
        self._client = _EncodedExport(self._channel)

    def _translate_data(self, data: Sequence[ReadableSpan]) -> bytes:  # type: ignore[override]
        return self._encoder.encode(data)
