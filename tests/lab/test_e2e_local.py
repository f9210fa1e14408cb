"""With LAB_BACKEND=local: a request's trace reaches Jaeger, the scraped metrics reach
Prometheus with the walkthrough's dimensions."""
import subprocess
import urllib.error
import urllib.parse

import pytest

from labtest.checkout import LAB
from labtest.lab_http import get, new_trace_id, poll, traced_get

pytestmark = pytest.mark.e2e


def jaeger_trace(lab, trace_id):
    def fetch():
        _, body = get(f"{lab.jaeger}/api/traces/{trace_id}")
        data = (body or {}).get("data") or []
        spans = data[0]["spans"] if data else []
        # wait for both the handler span and the database span (they may arrive in two batches)
        names = {s["operationName"] for s in spans}
        has_db = any(t["key"] == "db.system" for s in spans for t in s.get("tags", []))
        return data[0] if "transactions_get" in names and has_db else None
    return poll(fetch, 90, what=f"trace {trace_id} with transactions_get and a database span in Jaeger")


def test_request_trace_reaches_jaeger_with_handler_and_database_spans(local_lab):
    trace_id = new_trace_id()
    assert traced_get(local_lab.pethistory, trace_id) == 200
    trace = jaeger_trace(local_lab, trace_id)

    spans = {s["spanID"]: s for s in trace["spans"]}
    services = {pid: p["serviceName"] for pid, p in trace["processes"].items()}
    handler = next(s for s in spans.values() if s["operationName"] == "transactions_get")
    assert services[handler["processID"]] == "PetAdoptionsHistory"
    assert trace["traceID"].lstrip("0") == trace_id.lstrip("0")

    def ancestors(span):
        while span:
            parents = [r["spanID"] for r in span.get("references", []) if r["refType"] == "CHILD_OF"]
            span = spans.get(parents[0]) if parents else None
            if span:
                yield span["spanID"]

    db_spans = [s for s in spans.values()
                if any(t["key"] == "db.system" and t["value"] == "postgresql" for t in s.get("tags", []))]
    assert db_spans, "no psycopg2 (db.system=postgresql) span"
    assert any(handler["spanID"] in ancestors(s) for s in db_spans), "database span is not under transactions_get"
    assert all(services[s["processID"]] == "PetAdoptionsHistory" for s in db_spans)


def test_prometheus_has_transactions_history_count_with_pod_and_container(local_lab):
    query = urllib.parse.quote('transactions_history_count{container_name="pethistory"}')

    def fetch():
        _, body = get(f"{local_lab.prometheus}/api/v1/query?query={query}")
        return body["data"]["result"]
    # collector scrapes every 20 s, Prometheus scrapes the collector every 15 s
    (series, *_) = poll(fetch, 120, what="transactions_history_count in Prometheus")
    labels = series["metric"]
    assert labels["container_name"] == "pethistory"
    assert labels["pod_name"]


def health_status(lab):
    try:
        return get(f"{lab.pethistory}/health/status", timeout=5)[0]
    except urllib.error.HTTPError as err:
        return err.code


def test_lab_stop_and_start_postgres_turn_health_503_then_200(local_lab):
    lab = [str(LAB)]
    subprocess.run(lab + ["stop", "postgres"], check=True, capture_output=True, timeout=120)
    try:
        poll(lambda: health_status(local_lab) == 503, 60, what="503 from /health/status with postgres stopped")
    finally:
        subprocess.run(lab + ["start", "postgres"], check=True, capture_output=True, timeout=120)
    poll(lambda: health_status(local_lab) == 200, 90, what="200 from /health/status after postgres restarted")


def test_lab_status_shows_backend_health_and_urls(local_lab):
    out = subprocess.run([str(LAB), "status"], capture_output=True, text=True, check=True).stdout
    assert "backend: local" in out
    assert "healthy" in out
    assert f"{local_lab.jaeger}/search" in out and local_lab.prometheus in out
