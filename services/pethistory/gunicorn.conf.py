"""gunicorn settings for PetAdoptionsHistory; each can be overridden by the variable named.

| variable | default | meaning |
| --- | --- | --- |
| PORT | 8080 | listen port (all interfaces inside the container) |
| WEB_CONCURRENCY | 2 | worker processes |
| GUNICORN_THREADS | 4 | threads per worker (gthread: keep-alive connections, overlap of DB waits) |
| GUNICORN_TIMEOUT | 30 | seconds before a stuck worker is restarted |
| GUNICORN_GRACEFUL_TIMEOUT | 20 | seconds in-flight requests get after SIGTERM |
| PROMETHEUS_MULTIPROC_DIR | /tmp/pethistory-metrics | where workers share their metric values |
"""
import os

# prometheus_client picks shared-file values at import, so this must precede importing the app.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/tmp/pethistory-metrics")

# workers, threads, timeouts, and the child_exit / worker_exit hooks, as in the PetSite stub
from labservice.gunicorn_conf import *  # noqa: E402,F401,F403
from labservice.gunicorn_conf import checked_start  # noqa: E402
from pethistory.config import Config  # noqa: E402

bind = f"0.0.0.0:{os.environ.get('PORT', '8080')}"
# Fails fast on a bad setting; empties PROMETHEUS_MULTIPROC_DIR.
on_starting = checked_start(Config.from_env)
