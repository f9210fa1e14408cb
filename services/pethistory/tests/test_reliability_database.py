"""PostgreSQL stopped under load: 503 JSON within the connect timeout, no worker crash, no leaked
connection, /health/status says why, and 200 again within 5 s of the server's return."""
import time

import pytest
import requests

from conftest import TRANSACTIONS
from labtest.pgserver import PostgresServer
from test_reliability_support import (
    Load, no_stack_traces, percentile, service_connections, wait_until, worker_pids,
)

WORKERS, POOL, CONNECT_TIMEOUT = 1, 4, 2  # gunicorn.conf.py: one worker, always
RECOVERY_BOUND_S = 5


@pytest.fixture
def own_pg():
    server = PostgresServer()
    yield server
    server.destroy()


def test_database_stopped_under_load_gives_503_json_no_leak_and_recovers(own_pg, gunicorn_factory):
    server = gunicorn_factory(**own_pg.env(), GUNICORN_THREADS="4",
                              DB_POOL_SIZE=str(POOL), DB_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT))
    # gunicorn accepts connections before every worker has forked: wait for all of them.
    def all_workers():
        pids = worker_pids(server.process.pid)
        return pids if len(pids) == WORKERS else None

    workers_before, _ = wait_until(all_workers, 30)
    assert workers_before, f"gunicorn did not start {WORKERS} workers"
    load = Load(server.url + TRANSACTIONS, threads=6, max_seconds=90).start()
    try:
        # Warm: every worker has opened its pool.
        _, _ = wait_until(lambda: len([r for r in load.results if r.status == 200]) >= 200, 20)
        connections_before = service_connections(own_pg)
        assert 0 < connections_before <= WORKERS * POOL

        own_pg.stop()
        stopped = time.monotonic()
        time.sleep(3)
        health = requests.get(server.url + "/health/status", timeout=10)
        during = load.since(stopped + 0.5)  # after in-flight queries of the last moment

        own_pg.start()
        restarted = time.monotonic()
        # Recovery: the first 200 of the load after the restart, and a 200 health probe.
        _, recovered_s = wait_until(lambda: any(r.status == 200 for r in load.since(restarted)), 15)
        health_after = requests.get(server.url + "/health/status", timeout=10)
        time.sleep(1)
    finally:
        results = load.stop()

    assert during, "no requests were answered while the database was down"
    assert {r.status for r in during} == {503}, {r.status for r in during}
    for r in during:
        assert r.content_type.startswith("application/json")
        assert r.body["status"] == 503 and r.body["message"].startswith("database unavailable")
    # Each answer within the connect timeout (plus a margin for a loaded 2-core machine).
    assert max(r.elapsed for r in during) < CONNECT_TIMEOUT + 1.5, percentile([r.elapsed for r in during], 100)

    assert health.status_code == 503
    assert health.json()["status"] == "unavailable" and health.json()["database"] == "unreachable"
    assert health.json()["message"], "health gives no reason"

    assert recovered_s < RECOVERY_BOUND_S, f"recovered after {recovered_s:.1f} s"
    assert health_after.status_code == 200 and health_after.json()["status"] == "ok"
    assert all(r.status == 200 for r in load.since(restarted + RECOVERY_BOUND_S)), "errors after recovery"

    assert all(r.status in (200, 503) for r in results), {r.status for r in results}
    assert worker_pids(server.process.pid) == workers_before, "a worker died or was restarted"
    assert service_connections(own_pg) <= WORKERS * POOL, "connections leaked"
    assert no_stack_traces(server.log_lines()) == []
    print(f"\nrecovery after restart: {recovered_s:.2f} s; "
          f"p99 while down: {percentile([r.elapsed for r in during], 99) * 1000:.0f} ms; "
          f"connections before/after: {connections_before}/{service_connections(own_pg)}")


def test_repeated_outages_leak_no_connections(own_pg, gunicorn_factory):
    server = gunicorn_factory(**own_pg.env(), DB_POOL_SIZE="3",
                              DB_CONNECT_TIMEOUT="1")
    with requests.Session() as http:
        for _cycle in range(3):
            for _ in range(20):
                assert http.get(server.url + TRANSACTIONS, timeout=10).status_code == 200
            own_pg.stop()
            assert http.get(server.url + TRANSACTIONS, timeout=10).status_code == 503
            own_pg.start()
            ok, _ = wait_until(lambda: http.get(server.url + "/health/status", timeout=10).status_code == 200,
                               RECOVERY_BOUND_S)
            assert ok
        for _ in range(20):
            assert http.get(server.url + TRANSACTIONS, timeout=10).status_code == 200
    assert service_connections(own_pg) <= 3
