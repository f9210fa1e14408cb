"""Tracer and meter providers, built once per process from the standard OTEL_* variables."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Mapping

from opentelemetry import metrics, propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.aws import AwsXRayPropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.extension.aws.resource.eks import AwsEksResourceDetector
from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import (
    SERVICE_NAME,
    OTELResourceDetector,
    Resource,
    get_aggregated_resources,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = logging.getLogger(__name__)

SERVICE_NAMESPACE = "service.namespace"
DEFAULT_EXPORT_BATCH = 64
DEFAULT_SCHEDULE_DELAY_MS = 1000
DEFAULT_NAMESPACE = "AWSObservability"


@dataclass
class Telemetry:
    """What a service needs from the SDK: a tracer, a meter, and a way to flush on exit."""

    enabled: bool
    tracer: trace.Tracer
    meter: metrics.Meter
    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None

    def shutdown(self) -> None:
        """Flush buffered spans (bounded by OTEL_BSP_EXPORT_TIMEOUT) and stop export threads."""
        if self.tracer_provider is not None:
            self.tracer_provider.shutdown()
        if self.meter_provider is not None:
            self.meter_provider.shutdown()


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def build_resource(service_name: str, environ: Mapping[str, str]) -> Resource:
    """The walkthrough's resource; OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME win over defaults."""
    attributes = {SERVICE_NAME: service_name, SERVICE_NAMESPACE: DEFAULT_NAMESPACE}
    attributes.update(OTELResourceDetector().detect().attributes)
    if environ.get("OTEL_SERVICE_NAME"):
        attributes[SERVICE_NAME] = environ["OTEL_SERVICE_NAME"]
    resource = Resource.create(attributes)
    # The EKS detector calls the Kubernetes API; off Kubernetes it would only log errors.
    if environ.get("KUBERNETES_SERVICE_HOST"):
        resource = get_aggregated_resources([AwsEksResourceDetector()], resource)
    return resource


def build_propagator(environ: Mapping[str, str]):
    """X-Ray and W3C headers both extracted and injected, unless OTEL_PROPAGATORS says otherwise."""
    if environ.get("OTEL_PROPAGATORS"):
        return propagate.get_global_textmap()  # the SDK already built it from OTEL_PROPAGATORS
    return CompositePropagator(
        [AwsXRayPropagator(), TraceContextTextMapPropagator(), W3CBaggagePropagator()]
    )


def _span_exporter(environ: Mapping[str, str]) -> SpanExporter | None:
    choice = environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower()
    if choice == "none":
        return None
    if choice != "otlp":
        raise ValueError(f"OTEL_TRACES_EXPORTER={choice!r} is not supported (use otlp or none)")
    # Imported here: grpc is heavy and not needed when export is off.
    if environ.get("LABTELEMETRY_OTLP_ENCODER", "").strip().lower() == "sdk":
        # The SDK's own encoder: the fallback, and the benchmark's "before".
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    from labtelemetry.otlp import FastOTLPSpanExporter

    # The SDK's OTLP/gRPC exporter (endpoint, headers, timeout from OTEL_EXPORTER_OTLP_*) with a
    # cheaper encoder of the same message: see otlp.py.
    return FastOTLPSpanExporter()


def _metric_readers(environ: Mapping[str, str]) -> list:
    """OTLP push only on request: the walkthrough's path is the collector scraping /metrics."""
    choice = environ.get("OTEL_METRICS_EXPORTER", "none").strip().lower()
    if choice == "none":
        return []
    if choice != "otlp":
        raise ValueError(f"OTEL_METRICS_EXPORTER={choice!r} is not supported (use none or otlp)")
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    return [PeriodicExportingMetricReader(OTLPMetricExporter())]


def init_telemetry(
    service_name: str,
    environ: Mapping[str, str] | None = None,
    span_exporter: SpanExporter | None = None,
) -> Telemetry:
    """Set the global providers and propagator for this process and return them.

    Call once per process, after any fork (gunicorn runs it in each worker through the app
    factory), so the batch processor's export thread lives in the process that records spans.
    `span_exporter` replaces the OTLP exporter (tests pass an in-memory one).
    """
    environ = os.environ if environ is None else environ
    if _truthy(environ.get("OTEL_SDK_DISABLED")):
        return Telemetry(
            enabled=False,
            tracer=trace.NoOpTracer(),
            meter=metrics.NoOpMeterProvider().get_meter(service_name),
        )
    resource = build_resource(service_name, environ)
    propagate.set_global_textmap(build_propagator(environ))
    tracer_provider = TracerProvider(resource=resource, id_generator=AwsXRayIdGenerator())
    exporter = span_exporter if span_exporter is not None else _span_exporter(environ)
    if exporter is not None:
        # Bounded queue (OTEL_BSP_MAX_QUEUE_SIZE); export runs on its own thread, so a slow or
        # absent collector drops spans instead of delaying requests.
        # Batches of 64 rather than the SDK's 512 (unless OTEL_BSP_MAX_EXPORT_BATCH_SIZE says): the
        # export thread encodes a batch in one go while holding the GIL, and 512 spans kept request
        # threads waiting long enough to add ~2.4 ms to the p99 at 200 req/s (64: +0.4 ms; bench/).
        batch = None if environ.get("OTEL_BSP_MAX_EXPORT_BATCH_SIZE") else DEFAULT_EXPORT_BATCH
        if batch and environ.get("OTEL_BSP_MAX_QUEUE_SIZE", "").strip().isdigit():
            batch = min(batch, int(environ["OTEL_BSP_MAX_QUEUE_SIZE"])) or None
        # Every second rather than the SDK's five (unless OTEL_BSP_SCHEDULE_DELAY says): a request's
        # trace is in the backend a second or two after it, and the first one soon after `lab up`.
        delay = None if environ.get("OTEL_BSP_SCHEDULE_DELAY") else DEFAULT_SCHEDULE_DELAY_MS
        tracer_provider.add_span_processor(
            BatchSpanProcessor(exporter, max_export_batch_size=batch, schedule_delay_millis=delay)
        )
    meter_provider = MeterProvider(resource=resource, metric_readers=_metric_readers(environ))
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    return Telemetry(
        enabled=True,
        tracer=tracer_provider.get_tracer(service_name),
        meter=meter_provider.get_meter(service_name),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
    )


def xray_trace_id(trace_id: int) -> str:
    """The X-Ray form (1-<epoch hex>-<rest>) of a 128-bit trace id made by AwsXRayIdGenerator."""
    hex_id = format(trace_id, "032x")
    return f"1-{hex_id[:8]}-{hex_id[8:]}"
