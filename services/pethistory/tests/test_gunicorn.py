"""The production server: one worker, one truthful /metrics, JSON logs, safe telemetry."""
import json
import re
import threading

import requests

from conftest import TRANSACTIONS
from test_metrics import scrape, value


def test_counter_is_exact_and_monotonic_under_concurrent_requests(gunicorn_factory):
    # WEB_CONCURRENCY does not add workers: the one process keeps every count (gunicorn.conf.py).
    server = gunicorn_factory(WEB_CONCURRENCY="3", GUNICORN_THREADS="4", DB_POOL_SIZE="4")
    metrics_url = server.url + "/metrics"
    seen, served = [], 0
    for _round in range(5):
        def hit(count):
            for _ in range(count):
                assert requests.get(server.url + TRANSACTIONS, timeout=10).status_code == 200

        threads = [threading.Thread(target=hit, args=(10,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        served += 40
        for _ in range(3):
            seen.append(value(scrape(requests, metrics_url), "transactions_get_count_total"))
            assert seen[-1] == served
    assert seen == sorted(seen)
    pids = {json.loads(line)["pid"] for line in server.log_lines() if line.startswith("{") and '"access"' in line}
    assert len(pids) == 1, "more than one worker served requests"


def test_every_request_logs_one_json_line_with_its_trace(gunicorn_factory):
    server = gunicorn_factory(DB_PASSWORD="")
    header = "Root=1-6b06e510-00000000000000000000cafe;Parent=53995c3f42cd8ad8;Sampled=1"
    requests.get(server.url + TRANSACTIONS, headers={"X-Amzn-Trace-Id": header}, timeout=10)
    requests.get(server.url + "/nope", timeout=10)
    server.stop()
    entries = [json.loads(line) for line in server.log_lines() if line.startswith("{")]
    access = [e for e in entries if e["logger"] == "access"]
    assert [(e["http_method"], e["http_status"]) for e in access] == [("GET", 200), ("GET", 404)]
    first = access[0]
    assert first["trace_id"] == "6b06e51000000000000000000000cafe"
    assert first["xray_trace_id"] == "1-6b06e510-00000000000000000000cafe"
    assert len(first["span_id"]) == 16 and first["duration_ms"] >= 0
    assert first["service"] == "PetAdoptionsHistory"


def test_logs_carry_no_password(gunicorn_factory, pg):
    server = gunicorn_factory(DB_PASSWORD="hunter2-do-not-log", DB_HOST="127.0.0.1", DB_PORT="1")
    assert requests.get(server.url + TRANSACTIONS, timeout=10).status_code == 503
    server.stop()
    text = "\n".join(server.log_lines())
    assert "hunter2" not in text
    assert "database unavailable" in text


def test_sdk_disabled_serves_the_same_api_without_telemetry(gunicorn_factory):
    # The walkthrough's "before": no spans, no trace ids in the logs, no /metrics.
    server = gunicorn_factory(OTEL_SDK_DISABLED="true", OTEL_TRACES_EXPORTER="otlp")
    assert requests.get(server.url + TRANSACTIONS, timeout=10).json() == []
    assert requests.get(server.url + "/metrics", timeout=10).status_code == 404
    server.stop()
    access = [json.loads(l) for l in server.log_lines() if l.startswith("{") and '"access"' in l]
    assert access and all("trace_id" not in e for e in access)


def test_unreachable_collector_never_fails_a_request(gunicorn_factory):
    from labtest.pgserver import free_port

    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens here
    server = gunicorn_factory(
        OTEL_TRACES_EXPORTER="otlp", OTEL_EXPORTER_OTLP_ENDPOINT=dead,
        OTEL_BSP_SCHEDULE_DELAY="100", OTEL_EXPORTER_OTLP_TIMEOUT="1",
    )
    with requests.Session() as http:
        statuses = [http.get(server.url + TRANSACTIONS, timeout=5).status_code for _ in range(200)]
    assert statuses == [200] * 200
    assert server.stop() == 0


def test_the_worker_freezes_its_start_up_objects_out_of_the_cyclic_gc(gunicorn_factory):
    server = gunicorn_factory()
    assert requests.get(server.url + TRANSACTIONS, timeout=10).status_code == 200
    server.stop()
    # gunicorn's own log line, once per worker
    frozen = {int(pid): int(count) for pid, count in
              (re.findall(r"worker (\d+) ready: (\d+) start-up objects frozen", "\n".join(server.log_lines())))}
    assert len(frozen) == 1, server.log_lines()
    # The app, the SDK and the instrumentation: tens of thousands of objects, none left to the GC.
    assert all(count > 20_000 for count in frozen.values()), frozen
