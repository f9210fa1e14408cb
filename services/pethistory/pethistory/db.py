"""The connection pool of one process (labservice.db), creating the service's tables on its first
connection: `Database.run(work)` runs `work(cursor)` in one transaction, drops dead connections and
turns an outage into `DatabaseUnavailable` (503)."""
from __future__ import annotations

from labservice.db import Database as _Database
from labservice.db import DatabaseUnavailable
from pethistory import repository
from pethistory.config import Config

__all__ = ["Database", "DatabaseUnavailable"]


class Database(_Database):
    def __init__(self, config: Config):
        super().__init__(config, prepare=repository.ensure_schema)
