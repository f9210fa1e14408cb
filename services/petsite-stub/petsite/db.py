"""The connection pool of one process; `Database.run(work)` is the only way in (as in pethistory).

`run(work)` borrows a connection, runs `work(cursor)` in one transaction and commits; after an
error it rolls back, and a connection the server dropped is closed and the call retried on a fresh
one. An outage surfaces as `DatabaseUnavailable` (answered 503) and heals by itself.
The tables belong to PetAdoptionsHistory (its schema.sql, applied when it starts; compose starts
this service only once pethistory is healthy): a missing table is a 503 that says so.
"""
from __future__ import annotations

import threading
from typing import Callable, TypeVar

import psycopg2
import psycopg2.errors
from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from psycopg2 import pool

from petsite.config import Config

T = TypeVar("T")
_CONNECTION_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)


class DatabaseUnavailable(Exception):
    """PostgreSQL cannot be reached, dropped the connection, or lacks the workshop's tables."""


class _Stale(Exception):
    pass


class Database:
    def __init__(self, config: Config):
        self.config = config
        self._pool: pool.ThreadedConnectionPool | None = None
        self._lock = threading.Lock()

    def _get_pool(self) -> pool.ThreadedConnectionPool:
        with self._lock:
            if self._pool is None:
                try:
                    size = self.config.db_pool_size  # minconn = maxconn: keep them all open
                    self._pool = pool.ThreadedConnectionPool(size, size, **self.config.dsn_kwargs())
                except _CONNECTION_ERRORS as error:
                    raise DatabaseUnavailable(_reason(error)) from None
            return self._pool

    def run(self, work: Callable[..., T]) -> T:
        """Run `work(cursor)` in one transaction; untraced outside a traced request (health probes)."""
        if trace.get_current_span().is_recording():
            return self._run_retrying(work)
        with suppress_instrumentation():
            return self._run_retrying(work)

    def _run_retrying(self, work: Callable[..., T]) -> T:
        # After a PostgreSQL restart each pooled connection is dead; every attempt drops one.
        for _attempt in range(self.config.db_pool_size + 1):
            try:
                return self._run_once(work)
            except _Stale as stale:
                reason = str(stale)
        raise DatabaseUnavailable(reason)

    def _run_once(self, work: Callable[..., T]) -> T:
        db_pool = self._get_pool()
        try:
            conn = db_pool.getconn()
        except pool.PoolError as error:
            raise DatabaseUnavailable(f"connection pool exhausted: {error}") from None
        except _CONNECTION_ERRORS as error:
            raise DatabaseUnavailable(_reason(error)) from None
        broken = False
        try:
            with conn.cursor() as cursor:
                result = work(cursor)
            conn.commit()
            return result
        except _CONNECTION_ERRORS as error:
            broken = True
            raise _Stale(_reason(error)) from None
        except psycopg2.errors.UndefinedTable as error:
            conn.rollback()
            raise DatabaseUnavailable(
                f"{_reason(error)} (PetAdoptionsHistory creates the tables when it starts)"
            ) from None
        except BaseException:
            if not conn.closed:
                conn.rollback()
            raise
        finally:
            db_pool.putconn(conn, close=broken or bool(conn.closed))

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.closeall()
                self._pool = None


def _reason(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
