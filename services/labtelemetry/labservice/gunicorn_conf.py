"""gunicorn settings and hooks both services share. A service's gunicorn.conf.py sets
PROMETHEUS_MULTIPROC_DIR's default, then takes these with `from labservice.gunicorn_conf import *`,
and adds `bind` (its default PORT) and `on_starting = checked_start(Config.from_env)`.
The variables (WEB_CONCURRENCY, GUNICORN_*) are listed in each service's gunicorn.conf.py.
"""
import gc
import os
import shutil

from labservice.config import ConfigError

__all__ = [
    "workers", "threads", "worker_class", "timeout", "graceful_timeout", "keepalive", "accesslog",
    "control_socket_disable", "post_worker_init", "child_exit", "worker_exit",
]

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
accesslog = None  # the app writes one JSON line per request itself
control_socket_disable = True  # gunicorn's admin socket: unused, and wants a writable HOME


def checked_start(read_config):
    """The on_starting hook: `read_config()` (the service's Config.from_env) must succeed, and the
    multiprocess metrics directory starts empty."""

    def on_starting(server):
        # Fail fast with one clear line instead of every worker dying on a bad setting.
        try:
            read_config()
        except ConfigError as error:
            server.log.error("configuration error: %s", error)
            raise SystemExit(2) from None
        # Values from a previous run would make counters start above zero.
        metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]
        shutil.rmtree(metrics_dir, ignore_errors=True)
        os.makedirs(metrics_dir, exist_ok=True)

    return on_starting


def post_worker_init(worker):
    # The app, the SDK and their imports (~50-60 k objects in an instrumented worker) live as long
    # as the worker. Frozen, the cyclic collector's full passes no longer walk them: one such pass
    # stalled every request thread of a worker for 20-40 ms (bench/README.md, "What each lever gave").
    gc.freeze()
    worker.log.info("worker %s ready: %d start-up objects frozen out of the cyclic GC",
                    worker.pid, gc.get_freeze_count())


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker):
    # Flush buffered spans before the worker goes (SIGTERM, max-requests, restart).
    telemetry = worker.wsgi.extensions.get("telemetry") if getattr(worker, "wsgi", None) else None
    if telemetry is not None:
        telemetry.shutdown()
