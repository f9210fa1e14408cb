"""The walkthrough's own calls are in the file a learner opens (pethistory/telemetry.py), made on
the stock classes, and nothing else in the package sets up OpenTelemetry."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pethistory"

# (callee, what its arguments must contain): the blog's pipeline, step by step.
WALKTHROUGH = [
    ("propagate.set_global_textmap", "AwsXRayPropagator()"),
    ("get_aggregated_resources", "AwsEksResourceDetector()"),
    ("TracerProvider", "id_generator=AwsXRayIdGenerator()"),
    ("BatchSpanProcessor", "OTLPSpanExporter()"),
    ("trace.set_tracer_provider", "tracer_provider"),
    ("FlaskInstrumentor().instrument_app", "app"),
    ("Psycopg2Instrumentor().instrument", ""),
    ("PrometheusMetricReader", ""),
    ("MeterProvider", "metric_readers=[reader]"),
    ("metrics.set_meter_provider", "meter_provider"),
    ("PrometheusMetrics", "group_by='endpoint'"),
    ("meter.create_observable_gauge", "'transactions_history.count'"),
]


def calls(path: Path) -> list[tuple[str, str]]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            args = ", ".join([ast.unparse(a) for a in node.args] + [ast.unparse(k) for k in node.keywords])
            found.append((ast.unparse(node.func), args))
    return sorted(found, key=lambda call: call[0])


@pytest.mark.parametrize("callee, argument", WALKTHROUGH, ids=[c for c, _ in WALKTHROUGH])
def test_telemetry_makes_the_walkthrough_call(callee, argument):
    made = [args for func, args in calls(PACKAGE / "telemetry.py") if func == callee]
    assert made, f"telemetry.py does not call {callee}(...)"
    assert any(argument in args for args in made), f"{callee}({argument}...) not in telemetry.py: {made}"


def test_the_handlers_make_the_custom_spans_and_add_to_the_counter():
    routes = calls(PACKAGE / "routes.py")
    spans = {args for func, args in routes if func == "tracer.start_as_current_span"}
    assert spans == {"'transactions_get'", "'transactions_delete'"}
    assert ("transactions_get_counter.add", "1") in routes
    assert any(func == "meter.create_counter" and "'transactions_get.count'" in args for func, args in routes)


def test_no_other_module_sets_up_the_sdk():
    setup = {"TracerProvider", "MeterProvider", "trace.set_tracer_provider", "metrics.set_meter_provider",
             "propagate.set_global_textmap", "FlaskInstrumentor().instrument_app", "Psycopg2Instrumentor().instrument"}
    for module in sorted(PACKAGE.glob("*.py")):
        if module.name != "telemetry.py":
            assert not setup & {func for func, _ in calls(module)}, module.name
