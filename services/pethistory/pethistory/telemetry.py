"""Everything OpenTelemetry adds to PetAdoptionsHistory, in the order the walkthrough adds it.

`create_app` calls `instrument(app, config, database)` unless OTEL_SDK_DISABLED=true; without this
file the service is the walkthrough's "before" (its figure 2). The custom spans and the counter live in
routes.py, as in the blog's handlers: they use the OpenTelemetry API, which does nothing until the
providers below are set.

The places where the lab differs from the blog to be correct are marked "Lab:".

OpenTelemetry's providers, the psycopg2 instrumentation and prometheus_client's registry are
process-wide, so this runs once per process (gunicorn calls the app factory in its worker).
"""
from __future__ import annotations

import logging

from flask import Flask
from opentelemetry import metrics, propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.instrumentation.psycopg2 import Psycopg2Instrumentor
from opentelemetry.metrics import CallbackOptions, NoOpMeterProvider, Observation
from opentelemetry.propagators.aws import AwsXRayPropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.extension.aws.resource.eks import AwsEksResourceDetector
from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import SERVICE_NAME, Resource, get_aggregated_resources
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_flask_exporter import PrometheusMetrics

from labservice.app import QUIET_PATHS
from labservice.db import Database, DatabaseUnavailable
from pethistory import repository
from pethistory.config import Config

log = logging.getLogger(__name__)


def instrument(app: Flask, config: Config, database: Database, span_exporter: SpanExporter | None = None) -> None:
    """The walkthrough's tracing and metrics pipelines for this process and its app.

    `span_exporter` replaces the OTLP exporter (the tests pass an in-memory one).
    """
    # Setup AWS X-Ray propagator.
    # Lab: W3C traceparent and baggage are read and written beside X-Amzn-Trace-Id, so a trace
    # started by any OpenTelemetry client (the load generator, curl with a traceparent) continues
    # here, and the baggage the load generator sets reaches the spans' context.
    propagate.set_global_textmap(
        CompositePropagator([AwsXRayPropagator(), TraceContextTextMapPropagator(), W3CBaggagePropagator()])
    )

    # Setup AWS EKS resource detector (service.name as the blog sets it; OTEL_RESOURCE_ATTRIBUTES
    # adds service.namespace, as the workshop's manifest did). Off EKS the detector has nothing to
    # read and would only log a warning on every start (EKS_RESOURCE_DETECTOR in config.py).
    resource = get_aggregated_resources(
        [AwsEksResourceDetector()] if config.eks_detector else [],
        initial_resource=Resource.create({SERVICE_NAME: config.service_name}),
    )

    # Setup tracer provider with the X-Ray ID generator
    tracer_provider = TracerProvider(resource=resource, id_generator=AwsXRayIdGenerator())
    if config.export_spans:
        # Endpoint, batch size and delay from OTEL_EXPORTER_OTLP_* and OTEL_BSP_* (the image sets
        # smaller, more frequent batches than the SDK's defaults: see the Dockerfile).
        processor = BatchSpanProcessor(span_exporter or OTLPSpanExporter())
        tracer_provider.add_span_processor(processor)
    # Sets the global default tracer provider
    trace.set_tracer_provider(tracer_provider)

    # Incoming HTTP requests, and every database statement. Scrapes and health probes are left
    # out of the traces: one every few seconds would bury the real traffic. The HTTP metrics are
    # the blog's flask_http_request_* (PrometheusMetrics below): the instrumentor's own would
    # repeat them, with a label per URL path.
    FlaskInstrumentor().instrument_app(app, excluded_urls=",".join(QUIET_PATHS), meter_provider=NoOpMeterProvider())
    Psycopg2Instrumentor().instrument()

    # Setup metrics
    # Lab: without the target_info series, which the collector's Prometheus receiver would turn
    # into resource attributes clashing with its own (service_name twice: the series are dropped).
    reader = PrometheusMetricReader(disable_target_info=True)
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    # Sets the global default meter provider
    metrics.set_meter_provider(meter_provider)
    # Creates a meter from the global meter provider
    meter = metrics.get_meter(__name__)

    # This exposes the /metrics HTTP endpoint: flask_http_request_* by endpoint, process_*,
    # python_gc_*, python_info, and the OTel metrics the reader above keeps in the same registry.
    # Lab: exact only when one process serves every request, so gunicorn runs one worker with
    # threads (gunicorn.conf.py; the measured alternative is in bench/README.md).
    PrometheusMetrics(app, group_by="endpoint")

    # transactions_history_count, read from the database whenever /metrics is scraped (the
    # counter transactions_get_count_total is in routes.py, beside the handler that adds to it).
    def transactions_history_callback(_options: CallbackOptions):
        # Lab: the workshop's COUNT here became a stray root span on every scrape; a scrape is not
        # traced, and Database.run traces no statement outside a traced request.
        try:
            count = database.run(repository.count_transaction_history)
        except DatabaseUnavailable as error:
            log.warning("transactions_history_count not collected: %s", error)
            return
        yield Observation(count)

    meter.create_observable_gauge(
        "transactions_history.count",
        callbacks=[transactions_history_callback],
        description="The number of items in the transactions history",
    )
