"""The connection pool of one process (labservice.db, as in pethistory): `Database.run(work)` runs
`work(cursor)` in one transaction, drops dead connections and turns an outage into
`DatabaseUnavailable` (503). The tables belong to PetAdoptionsHistory (its schema.sql, applied when
it starts; compose starts this service only once pethistory is healthy): a missing table is a 503
that says so.
"""
from __future__ import annotations

from labservice.db import Database as _Database
from labservice.db import DatabaseUnavailable
from petsite.config import Config

__all__ = ["Database", "DatabaseUnavailable"]


class Database(_Database):
    def __init__(self, config: Config):
        super().__init__(config, missing_tables="PetAdoptionsHistory creates the tables when it starts")
