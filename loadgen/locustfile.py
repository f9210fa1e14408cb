"""The workshop's traffic generator, as a Locust file aimed at the PetSite stub.

Each simulated user loops over the generator's cycle:
  1. housekeeping            POST /api/housekeeping     (adoptions move into the history)
  2. draw 5..25: above 20    DELETE /pethistory/deletepetadoptionshistory   (clear history, ~1 in 4)
     otherwise               GET /pethistory            (list history)
  3. adoptions in rounds     POST /api/adopt, LOADGEN_ADOPTION_ROUNDS times
then waits the think time (the workshop slept ~20 s; the lab default is a few seconds).

| variable | default | meaning |
| --- | --- | --- |
| LOADGEN_THINK_SECONDS | 5 | mean pause between cycles of one user (uniform 0.5x..1.5x) |
| LOADGEN_ADOPTION_ROUNDS | 3 | adoptions per cycle |
| OTEL_SERVICE_NAME | loadgen | service.name of the spans (the traces start here) |
| OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_PROPAGATORS, ... | | the zero-code instrumentation's own (the image's defaults: Dockerfile, target loadgen) |
Locust's own settings come as LOCUST_* variables or flags (LOCUST_HOST, -u, -r, -t, --headless).

Every request is a CLIENT span that starts a trace (X-Ray-valid id) and carries X-Amzn-Trace-Id
and traceparent into PetSite, plus the baggage `synthetic_request=true`.
Instrumented as PetSite is, with no SDK code of its own (services/petsite-stub/petsite/telemetry.py):
the zero-code instrumentation's `initialize()`, called here at import rather than by the
`opentelemetry-instrument` wrapper, because Locust has monkey-patched the process with gevent by
then and the wrapper's start-up setup does not survive that.
"""
import os
import random

from locust import HttpUser, between, events, task
from opentelemetry import baggage, context, trace
from opentelemetry.instrumentation.auto_instrumentation import initialize

try:  # let gRPC's OTLP export yield to gevent instead of blocking every simulated user
    from grpc.experimental import gevent as grpc_gevent

    grpc_gevent.init_gevent()
except ImportError:  # pragma: no cover - grpc missing means OTLP export is off anyway
    pass

THINK_SECONDS = float(os.environ.get("LOADGEN_THINK_SECONDS", "5"))
ADOPTION_ROUNDS = int(os.environ.get("LOADGEN_ADOPTION_ROUNDS", "3"))

# The SDK from the OTEL_* variables; Locust's HttpSession is a requests.Session, so the requests
# instrumentation traces every call it makes.
initialize()


@events.quitting.add_listener
def _flush_spans(environment, **_kwargs):
    shutdown = getattr(trace.get_tracer_provider(), "shutdown", None)  # none with OTEL_SDK_DISABLED
    if shutdown is not None:
        shutdown()


class PetSiteVisitor(HttpUser):
    """One visitor running the workshop generator's cycle against PetSite."""

    wait_time = between(THINK_SECONDS * 0.5, THINK_SECONDS * 1.5)

    @task
    def workshop_cycle(self):
        token = context.attach(baggage.set_baggage("synthetic_request", "true"))
        try:
            self.client.post("/api/housekeeping", name="1 housekeeping")
            if random.randint(5, 25) > 20:
                self.client.delete("/pethistory/deletepetadoptionshistory", name="2 clear history")
            else:
                self.client.get("/pethistory", name="2 list history")
            for _ in range(ADOPTION_ROUNDS):
                self.client.post("/api/adopt", name="3 adopt a pet")
        finally:
            context.detach(token)
