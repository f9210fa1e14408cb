"""gunicorn settings and hooks both services share. A service's gunicorn.conf.py takes these with
`from labservice.gunicorn_conf import *`, and adds `bind` (its default PORT), its `workers` default
and `on_starting = checked_start(Config.from_env)`. The variables (WEB_CONCURRENCY,
GUNICORN_*) are listed in each service's gunicorn.conf.py.
"""
import gc
import os

from opentelemetry import metrics, trace

from labservice.config import ConfigError

__all__ = [
    "threads", "worker_class", "timeout", "graceful_timeout", "keepalive", "accesslog",
    "control_socket_disable", "post_worker_init", "worker_exit",
]

threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
accesslog = None  # the app writes one JSON line per request itself
control_socket_disable = True  # gunicorn's admin socket: unused, and wants a writable HOME


def checked_start(read_config):
    """The on_starting hook: `read_config()` (the service's Config.from_env) must succeed."""

    def on_starting(server):
        # Fail fast with one clear line instead of every worker dying on a bad setting.
        try:
            read_config()
        except ConfigError as error:
            server.log.error("configuration error: %s", error)
            raise SystemExit(2) from None

    return on_starting


def post_worker_init(worker):
    # The app, the SDK and their imports (~50-60 k objects in an instrumented worker) live as long
    # as the worker. Frozen, the cyclic collector's full passes no longer walk them: such a pass
    # stalls every request thread of the worker for tens of milliseconds (bench/README.md).
    gc.freeze()
    worker.log.info("worker %s ready: %d start-up objects frozen out of the cyclic GC",
                    worker.pid, gc.get_freeze_count())


def worker_exit(server, worker):
    # Flush buffered spans before the worker goes (SIGTERM, max-requests, restart). The API's
    # default providers (telemetry off) have no shutdown; the SDK's do.
    for provider in (trace.get_tracer_provider(), metrics.get_meter_provider()):
        shutdown = getattr(provider, "shutdown", None)
        if shutdown is not None:
            shutdown()
