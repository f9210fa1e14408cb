"""The connection pool of one process, and the only way a service talks to PostgreSQL.

`Database.run(work)` borrows a connection, runs `work(cursor)` in a transaction, commits, and
always hands the connection back usable: rolled back after an error, or closed and dropped when
the server went away. A database outage surfaces as `DatabaseUnavailable` (answered 503, see
errors.py) and heals by itself: the next call opens a fresh connection.

The SQL stays in each service's repository module: `prepare(cursor)` runs once per process on
its first connection (PetAdoptionsHistory creates its tables there), and a service that does not
own the tables names who does (`missing_tables`), so a missing table is a 503 that says so.
"""
from __future__ import annotations

import threading
from typing import Callable, TypeVar

import psycopg2
import psycopg2.errors
from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from psycopg2 import pool

from labservice.config import ServiceConfig

T = TypeVar("T")

# Errors that mean the connection or the server is gone, rather than a bad statement.
_CONNECTION_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)


class DatabaseUnavailable(Exception):
    """PostgreSQL cannot be reached, dropped the connection, or lacks the workshop's tables."""


class Database:
    def __init__(
        self,
        config: ServiceConfig,
        prepare: Callable[..., None] | None = None,
        missing_tables: str | None = None,
    ):
        self.config = config
        self._prepare = prepare
        self._missing_tables = missing_tables
        self._pool: pool.ThreadedConnectionPool | None = None
        self._lock = threading.Lock()
        self._prepared = prepare is None

    def _get_pool(self) -> pool.ThreadedConnectionPool:
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    try:
                        # minconn = maxconn: psycopg2 closes every returned connection beyond
                        # minconn, which would mean a new connection per request.
                        self._pool = pool.ThreadedConnectionPool(
                            self.config.db_pool_size,
                            self.config.db_pool_size,
                            **self.config.dsn_kwargs(),
                        )
                    except _CONNECTION_ERRORS as error:
                        raise DatabaseUnavailable(_reason(error)) from None
        return self._pool

    def run(self, work: Callable[..., T]) -> T:
        """Run `work(cursor)` in one transaction, retried on connections the server dropped.

        Outside a traced request (metric scrapes, health probes, CLI commands) the queries are not
        traced: each would otherwise become a stray root span, as the workshop's gauge did.
        """
        if trace.get_current_span().is_recording():
            return self._run_retrying(work)
        with suppress_instrumentation():
            return self._run_retrying(work)

    def _run_retrying(self, work: Callable[..., T]) -> T:
        # After a PostgreSQL restart every pooled connection is dead; each attempt drops one,
        # so pool size + 1 attempts reach a fresh connection (each failure is immediate).
        for _attempt in range(self.config.db_pool_size + 1):
            try:
                return self._run_once(work)
            except _StaleConnection as stale:
                reason = stale.reason
        raise DatabaseUnavailable(reason)

    def _run_once(self, work: Callable[..., T]) -> T:
        db_pool = self._get_pool()
        try:
            conn = db_pool.getconn()
        except pool.PoolError as error:  # every connection in use: the pool is sized too small
            raise DatabaseUnavailable(f"connection pool exhausted: {error}") from None
        except _CONNECTION_ERRORS as error:
            raise DatabaseUnavailable(_reason(error)) from None
        broken = False
        try:
            if not self._prepared:
                with conn.cursor() as cursor:
                    self._prepare(cursor)
                conn.commit()
                self._prepared = True
            with conn.cursor() as cursor:
                result = work(cursor)
            conn.commit()
            return result
        except _CONNECTION_ERRORS as error:
            broken = True
            raise _StaleConnection(_reason(error)) from None
        except BaseException as error:
            if not conn.closed:
                conn.rollback()
            if self._missing_tables and isinstance(error, psycopg2.errors.UndefinedTable):
                raise DatabaseUnavailable(f"{_reason(error)} ({self._missing_tables})") from None
            raise
        finally:
            db_pool.putconn(conn, close=broken or bool(conn.closed))

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.closeall()
                self._pool = None


class _StaleConnection(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _reason(error: Exception) -> str:
    # First line only: psycopg2 messages can run over several lines with hints.
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
