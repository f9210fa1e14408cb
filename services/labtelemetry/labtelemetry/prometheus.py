"""The /metrics exposition, correct whether one process or several gunicorn workers serve it.

OTel's PrometheusMetricReader (the walkthrough's choice) keeps values in the memory of the process
that recorded them: behind gunicorn with N workers a scrape reaches one worker and sees its share,
so a counter seems to jump up and down. Here every recorded series lives in prometheus_client,
which in multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set by gunicorn's config) keeps each
worker's values in a memory-mapped file and sums them at scrape time. Values that do not belong to
a worker (a gauge read from the database, this process's CPU and memory) are collected live by the
worker that serves the scrape.
"""
from __future__ import annotations

import os
from typing import Callable, Iterable

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily


def prometheus_name(otel_name: str) -> str:
    """How OTel's Prometheus exporter spells an instrument name (dots become underscores)."""
    return otel_name.replace(".", "_").replace("-", "_")


class _LiveGauge:
    """A gauge whose value is read when scraped, from a function shared with the OTel callback.

    `read` returns None when the value cannot be had right now; the series is then left out
    rather than failing the whole scrape.
    """

    def __init__(self, name: str, description: str, read: Callable[[], float | None]):
        self.name, self.description, self.read = name, description, read

    def collect(self) -> Iterable[GaugeMetricFamily]:
        value = self.read()
        if value is not None:
            yield GaugeMetricFamily(self.name, self.description, value=value)

    def describe(self) -> Iterable[GaugeMetricFamily]:
        yield GaugeMetricFamily(self.name, self.description)


class _RegistryView:
    """Lets one registry be collected from inside another (single-process mode)."""

    def __init__(self, registry: CollectorRegistry):
        self._registry = registry

    def collect(self):
        return self._registry.collect()


class Exposition:
    """Owns the Prometheus registries of one process and renders /metrics."""

    def __init__(self):
        # prometheus_client picks file-backed values at import time from the same variable.
        self.multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        # Series recorded per request (counters, histograms): shared files in multiprocess mode.
        self.recorded = CollectorRegistry(auto_describe=True)
        # Series read at scrape time by whichever process serves it.
        self.live = CollectorRegistry(auto_describe=True)
        for collector in (ProcessCollector, GCCollector, PlatformCollector):
            collector(registry=self.live)

    def counter(self, name: str, description: str) -> Counter:
        return Counter(name, description, registry=self.recorded)

    def observable_gauge(
        self,
        meter: metrics.Meter,
        otel_name: str,
        description: str,
        read: Callable[[], float | None],
    ) -> None:
        """An OTel observable gauge and its /metrics twin, both fed by the same `read`."""

        def callback(_options: CallbackOptions):
            value = read()
            if value is not None:
                yield Observation(value)

        meter.create_observable_gauge(otel_name, callbacks=[callback], description=description)
        self.live.register(_LiveGauge(prometheus_name(otel_name), description, read))

    def render(self) -> tuple[bytes, str]:
        registry = CollectorRegistry(auto_describe=False)
        if self.multiproc_dir:
            multiprocess.MultiProcessCollector(registry, path=self.multiproc_dir)
        else:
            registry.register(_RegistryView(self.recorded))
        registry.register(_RegistryView(self.live))
        return generate_latest(registry), CONTENT_TYPE_LATEST


class MirroredCounter:
    """An OTel counter whose running total is also kept where every worker's scrape can see it.

    `add` records on the OTel instrument (exported over OTLP when OTEL_METRICS_EXPORTER=otlp) and
    on a prometheus_client counter of the same Prometheus name (`<name>_total` on /metrics), whose
    multiprocess value is summed over all workers. Both are in-memory adds: no I/O per request.
    """

    def __init__(self, meter: metrics.Meter, exposition: Exposition, name: str, description: str):
        self._otel = meter.create_counter(name, unit="1", description=description)
        self._prometheus = exposition.counter(prometheus_name(name), description)

    def add(self, amount: int = 1) -> None:
        self._otel.add(amount)
        self._prometheus.inc(amount)
