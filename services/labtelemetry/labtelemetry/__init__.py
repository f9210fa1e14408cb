"""OpenTelemetry wiring shared by the lab's Python services; see README.md beside this package."""
from labtelemetry.flask import instrument_flask
from labtelemetry.logs import configure_logging
from labtelemetry.prometheus import Exposition, MirroredCounter
from labtelemetry.providers import Telemetry, init_telemetry, xray_trace_id

__all__ = [
    "Exposition",
    "MirroredCounter",
    "Telemetry",
    "configure_logging",
    "init_telemetry",
    "instrument_flask",
    "xray_trace_id",
]
