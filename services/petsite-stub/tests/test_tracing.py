"""A request to PetSite continues into PetAdoptionsHistory: one trace across both services."""
import time
import urllib.request

from opentelemetry.trace import SpanKind

TRACE_ID = "6b06e51000000000000000000000cafe"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


def _wait_for_access_line(server, path, trace_id, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in server.json_lines():
            if line.get("logger") == "access" and line.get("http_route") == path and line.get("trace_id") == trace_id:
                return line
        time.sleep(0.05)
    raise AssertionError(f"no access log line of {server.url} with trace_id {trace_id}")


def test_trace_continues_from_petsite_into_pethistory(client, spans, pethistory):
    response = client.get("/pethistory", headers={"traceparent": TRACEPARENT})
    assert response.status_code == 200

    finished = spans()
    server = next(s for s in finished if s.kind == SpanKind.SERVER)
    outgoing = next(s for s in finished if s.kind == SpanKind.CLIENT and "http.url" in s.attributes
                    or s.kind == SpanKind.CLIENT and "url.full" in s.attributes)
    assert format(server.context.trace_id, "032x") == TRACE_ID
    assert format(server.parent.span_id, "016x") == PARENT_ID
    assert outgoing.parent.span_id == server.context.span_id
    assert outgoing.context.trace_id == server.context.trace_id
    assert server.resource.attributes["service.name"] == "PetSite"

    # pethistory's own JSON access line carries the same trace: the headers crossed the wire.
    line = _wait_for_access_line(pethistory, "/petadoptionshistory/api/home/transactions", TRACE_ID)
    assert line["http_method"] == "GET" and line["service"] == "PetAdoptionsHistory"
    assert line["xray_trace_id"] == f"1-{TRACE_ID[:8]}-{TRACE_ID[8:]}"


def test_outgoing_call_carries_xray_and_w3c_headers_of_the_client_span(make_app, fake_history, spans):
    client = make_app(PETHISTORY_URL=fake_history.url).test_client()
    assert client.delete("/pethistory/deletepetadoptionshistory", headers={"traceparent": TRACEPARENT}).status_code == 200
    (received,) = fake_history.requests
    headers = {k.lower(): v for k, v in received["headers"].items()}
    outgoing = next(s for s in spans() if s.kind == SpanKind.CLIENT)
    span_id = format(outgoing.context.span_id, "016x")
    assert received["method"] == "DELETE"
    assert headers["traceparent"] == f"00-{TRACE_ID}-{span_id}-01"
    assert headers["x-amzn-trace-id"] == f"Root=1-{TRACE_ID[:8]}-{TRACE_ID[8:]};Parent={span_id};Sampled=1"


def test_page_load_without_incoming_trace_starts_one_with_xray_valid_id(client, spans, pethistory):
    before = int(time.time())
    assert client.get("/").status_code == 200
    server = next(s for s in spans() if s.kind == SpanKind.SERVER)
    trace_id = format(server.context.trace_id, "032x")
    assert server.parent is None
    assert before - 1 <= int(trace_id[:8], 16) <= int(time.time()) + 1  # X-Ray: epoch in the id
    _wait_for_access_line(pethistory, "/petadoptionshistory/api/home/transactions", trace_id)


def test_adoption_has_custom_and_database_spans_under_the_request(client, spans):
    client.post("/api/adoptions?count=2")
    finished = spans()
    server = next(s for s in finished if s.kind == SpanKind.SERVER)
    custom = next(s for s in finished if s.name == "payforadoption")
    db = [s for s in finished if s.attributes.get("db.system") == "postgresql"]
    assert custom.parent.span_id == server.context.span_id
    assert custom.attributes["petsite.adoptions"] == 2
    assert db and all(s.parent.span_id == custom.context.span_id for s in db)
    assert "INSERT INTO transactions" in db[0].attributes["db.statement"]


def test_health_probe_makes_no_spans(client, spans):
    client.get("/health/status")
    client.get("/metrics")
    assert spans() == []


def test_under_gunicorn_both_services_log_the_same_trace(petsite_server, pethistory):
    trace_id = "6b06e5100000000000000000000f00d1"
    # urllib, not requests: this process's `requests` is instrumented and would inject its own trace.
    request = urllib.request.Request(f"{petsite_server.url}/pethistory",
                                     headers={"traceparent": f"00-{trace_id}-{PARENT_ID}-01"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    mine = _wait_for_access_line(petsite_server, "/pethistory", trace_id)
    assert mine["service"] == "PetSite" and mine["http_status"] == 200
    _wait_for_access_line(pethistory, "/petadoptionshistory/api/home/transactions", trace_id)
