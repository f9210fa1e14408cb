"""gunicorn settings for the PetSite stub; each can be overridden by the variable named.

| variable | default | meaning |
| --- | --- | --- |
| PORT | 8000 | listen port (all interfaces inside the container) |
| WEB_CONCURRENCY | 2 | worker processes |
| GUNICORN_THREADS | 4 | threads per worker |
| GUNICORN_TIMEOUT | 30 | seconds before a stuck worker is restarted (calls to pethistory are bounded well below) |
| GUNICORN_GRACEFUL_TIMEOUT | 20 | seconds in-flight requests get after SIGTERM |
"""
import os

# threads, timeouts, gc.freeze after start, span flush at exit, as in PetAdoptionsHistory
from labservice.gunicorn_conf import *  # noqa: F401,F403
from labservice.gunicorn_conf import checked_start
from petsite.config import Config

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# Fails fast on a bad setting.
on_starting = checked_start(Config.from_env)
