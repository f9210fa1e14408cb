"""Spans as the walkthrough teaches: server, custom and database spans, X-Ray ids, propagation."""
import time

from opentelemetry.trace import SpanKind

from conftest import TRANSACTIONS, seed


def by_name(spans):
    return {span.name: span for span in spans}


def test_get_has_server_custom_and_db_spans_in_one_tree(app, client, spans):
    seed(app, 3)
    client.get(TRANSACTIONS)
    named = by_name(spans())
    server = named[f"GET {TRANSACTIONS}"]
    custom = named["transactions_get"]
    db_spans = [s for s in spans() if s.attributes.get("db.system") == "postgresql"]
    assert server.kind == SpanKind.SERVER
    assert server.attributes["http.route"] == TRANSACTIONS
    assert server.attributes["http.status_code"] == 200
    assert custom.parent.span_id == server.context.span_id
    assert len(db_spans) == 1
    db = db_spans[0]
    assert db.kind == SpanKind.CLIENT
    assert db.parent.span_id == custom.context.span_id
    assert "transactions_history" in db.attributes["db.statement"]
    assert db.attributes["db.name"] == "adoptions"
    assert {s.context.trace_id for s in (server, custom, db)} == {server.context.trace_id}
    assert server.resource.attributes["service.name"] == "PetAdoptionsHistory"
    assert server.instrumentation_scope.name == "opentelemetry.instrumentation.flask"
    assert db.instrumentation_scope.name == "opentelemetry.instrumentation.psycopg2"


def test_delete_has_transactions_delete_span_parenting_the_delete(client, spans):
    client.delete(TRANSACTIONS)
    custom = by_name(spans())["transactions_delete"]
    db = [s for s in spans() if s.attributes.get("db.system") == "postgresql"]
    assert [s.attributes["db.statement"] for s in db] == ["DELETE FROM transactions_history"]
    assert db[0].parent.span_id == custom.context.span_id
    assert custom.attributes["pethistory.rows_deleted"] == 0


def test_trace_ids_are_valid_for_xray(client, spans):
    before = int(time.time())
    client.get(TRANSACTIONS)
    after = int(time.time())
    for span in spans():
        epoch = int(format(span.context.trace_id, "032x")[:8], 16)
        assert before - 1 <= epoch <= after + 1


def test_w3c_traceparent_continues_the_callers_trace(client, spans):
    trace_id, parent_id = "6b06e51000000000000000000000abcd", "00f067aa0ba902b7"
    client.get(TRANSACTIONS, headers={"traceparent": f"00-{trace_id}-{parent_id}-01"})
    server = by_name(spans())[f"GET {TRANSACTIONS}"]
    assert format(server.context.trace_id, "032x") == trace_id
    assert format(server.parent.span_id, "016x") == parent_id
    assert server.parent.is_remote


def test_xray_header_continues_the_callers_trace(client, spans):
    header = "Root=1-6b06e510-00000000000000000000beef;Parent=53995c3f42cd8ad8;Sampled=1"
    client.get(TRANSACTIONS, headers={"X-Amzn-Trace-Id": header})
    server = by_name(spans())[f"GET {TRANSACTIONS}"]
    assert format(server.context.trace_id, "032x") == "6b06e51000000000000000000000beef"
    assert format(server.parent.span_id, "016x") == "53995c3f42cd8ad8"


def test_malformed_trace_headers_start_a_new_trace(client, spans):
    response = client.get(
        TRANSACTIONS,
        headers={"traceparent": "00-zz-not-a-trace-01", "X-Amzn-Trace-Id": "Root=garbage;Parent=;"},
    )
    assert response.status_code == 200
    server = by_name(spans())[f"GET {TRANSACTIONS}"]
    assert server.parent is None


def test_metrics_scrape_creates_no_spans(app, client, spans):
    seed(app, 2)
    client.get("/metrics")
    client.get("/health/status")
    assert [(s.name, dict(s.attributes)) for s in spans()] == []
