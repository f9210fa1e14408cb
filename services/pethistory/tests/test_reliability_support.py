"""Helpers of the reliability tests (no tests here): the OTLP/gRPC sink fixture (labtest.otlp: can
be stopped and restarted on the same port), a bounded load loop, worker RSS, and PostgreSQL
connection counts.

Import the fixtures by name into a test module: `from test_reliability_support import otlp_sink`.
"""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import pytest
import requests
from labtest.otlp import OtlpSink
from labtest.pgserver import PostgresServer


# --- an OTLP sink: the collector's receiving end, in the test process --------------------------
@pytest.fixture
def otlp_sink():
    sink = OtlpSink()
    sink.start()
    yield sink
    sink.stop()


def exporting_env(sink: OtlpSink, **extra: str) -> dict[str, str]:
    """gunicorn settings that export spans to the sink over OTLP/gRPC, as in the lab."""
    return {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "2",
        **extra,
    }


# --- W3C trace context ------------------------------------------------------------------------
def new_trace_id() -> str:
    """A W3C trace id that is also X-Ray valid (epoch seconds first)."""
    return f"{int(time.time()):08x}{secrets.token_hex(12)}"


def traceparent(trace_id: str) -> str:
    return f"00-{trace_id}-{secrets.token_hex(8)}-01"


# --- bounded load -----------------------------------------------------------------------------
@dataclass
class Result:
    started: float
    elapsed: float
    status: int  # 0: no answer (connection error or client timeout)
    content_type: str = ""
    body: object = None


@dataclass
class Load:
    """`threads` clients GET `url` in a loop until stop(), `max_requests` or `max_seconds`."""

    url: str
    threads: int = 4
    max_requests: int = 20_000
    max_seconds: float = 120
    timeout: float = 10
    results: list[Result] = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = [threading.Thread(target=self._run, daemon=True) for _ in range(self.threads)]

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        with requests.Session() as http:
            while not self._stop.is_set() and time.monotonic() < deadline:
                with self._lock:
                    if len(self.results) >= self.max_requests:
                        return
                start = time.monotonic()
                try:
                    response = http.get(self.url, timeout=self.timeout)
                    try:
                        body = response.json()
                    except ValueError:
                        body = None
                    result = Result(start, time.monotonic() - start, response.status_code,
                                    response.headers.get("Content-Type", ""), body)
                except requests.RequestException:
                    result = Result(start, time.monotonic() - start, 0)
                with self._lock:
                    self.results.append(result)

    def start(self) -> "Load":
        for worker in self._workers:
            worker.start()
        return self

    def stop(self) -> list[Result]:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=self.timeout + 5)
        with self._lock:
            return list(self.results)

    def since(self, moment: float) -> list[Result]:
        with self._lock:
            return [r for r in self.results if r.started >= moment]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


# --- processes and connections ----------------------------------------------------------------
def worker_pids(master_pid: int) -> list[int]:
    """gunicorn's worker processes: the master's children."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    return sorted(int(pid) for pid in children)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def service_connections(server: PostgresServer, application: str = "PetAdoptionsHistory") -> int:
    """Client connections the service holds open on the server (pg_stat_activity)."""
    with psycopg2.connect(host="127.0.0.1", port=server.port, user=server.user, dbname=server.dbname,
                          connect_timeout=3) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application,))
        count = cursor.fetchone()[0]
    conn.close()
    return count


def wait_until(predicate, timeout: float, interval: float = 0.05):
    """Poll predicate() until truthy; returns (value, seconds waited) or (None, timeout)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        value = predicate()
        if value:
            return value, time.monotonic() - start
        time.sleep(interval)
    return None, timeout


def no_stack_traces(lines: list[str]) -> list[str]:
    """Log lines that show a Python stack trace (must be none)."""
    return [line for line in lines if "Traceback" in line or '"exc_info"' in line or "exception" in line.lower()]
