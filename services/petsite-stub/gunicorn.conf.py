"""gunicorn settings for the PetSite stub; each can be overridden by the variable named.

| variable | default | meaning |
| --- | --- | --- |
| PORT | 8000 | listen port (all interfaces inside the container) |
| WEB_CONCURRENCY | 2 | worker processes |
| GUNICORN_THREADS | 4 | threads per worker |
| GUNICORN_TIMEOUT | 30 | seconds before a stuck worker is restarted (calls to pethistory are bounded well below) |
| GUNICORN_GRACEFUL_TIMEOUT | 20 | seconds in-flight requests get after SIGTERM |
| PROMETHEUS_MULTIPROC_DIR | /tmp/petsite-metrics | where workers share their metric values |
"""
import os
import shutil

# prometheus_client picks shared-file values at import, so this must precede importing the app.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/tmp/petsite-metrics")

from petsite.config import Config, ConfigError  # noqa: E402

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
accesslog = None  # the app writes one JSON line per request itself
control_socket_disable = True


def on_starting(server):
    try:
        Config.from_env()
    except ConfigError as error:
        server.log.error("configuration error: %s", error)
        raise SystemExit(2) from None
    metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(metrics_dir, ignore_errors=True)
    os.makedirs(metrics_dir, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker):
    # Flush buffered spans before the worker goes.
    telemetry = worker.wsgi.extensions.get("telemetry") if getattr(worker, "wsgi", None) else None
    if telemetry is not None:
        telemetry.shutdown()
