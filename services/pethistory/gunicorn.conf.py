"""gunicorn settings for PetAdoptionsHistory; each can be overridden by the variable named.

| variable | default | meaning |
| --- | --- | --- |
| PORT | 8080 | listen port (all interfaces inside the container) |
| GUNICORN_THREADS | 8 | threads of the one worker process (gthread: keep-alive connections, overlap of DB waits); keep DB_POOL_SIZE at least as large |
| GUNICORN_TIMEOUT | 30 | seconds before a stuck worker is restarted |
| GUNICORN_GRACEFUL_TIMEOUT | 20 | seconds in-flight requests get after SIGTERM |

One worker process, always: the walkthrough's PrometheusMetricReader keeps the metrics in the
memory of the process that recorded them, so /metrics is exact only when one process serves every
request (pethistory/telemetry.py; what a second worker would buy is measured in bench/README.md).
"""
import os

os.environ.setdefault("GUNICORN_THREADS", "8")

# threads, timeouts, gc.freeze after start, span flush at exit, as in the PetSite stub
from labservice.gunicorn_conf import *  # noqa: E402,F401,F403
from labservice.gunicorn_conf import checked_start  # noqa: E402
from pethistory.config import Config  # noqa: E402

workers = 1
bind = f"0.0.0.0:{os.environ.get('PORT', '8080')}"
# Fails fast on a bad setting.
on_starting = checked_start(Config.from_env)
