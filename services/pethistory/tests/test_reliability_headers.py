"""Hostile trace headers on the real server: malformed, oversized or conflicting `traceparent` /
`X-Amzn-Trace-Id` never fail a request nor log a stack trace; an unusable context starts a new
root trace (and never adopts an id from the garbage)."""
import http.client
import json
from urllib.parse import urlsplit

import pytest
import requests

from conftest import TRANSACTIONS
from test_reliability_support import (  # noqa: F401 (otlp_sink is a fixture)
    exporting_env, new_trace_id, no_stack_traces, otlp_sink, wait_until,
)

GOOD_TRACE = "6b06e51000000000000000000000abcd"
OTHER_TRACE = "6b06e51000000000000000000000ef01"

# (name, headers): every one of them is unusable, so the request must start a new trace.
UNUSABLE = [
    ("traceparent-garbage", {"traceparent": "00-zz-not-a-trace-01"}),
    ("traceparent-zero-trace-id", {"traceparent": f"00-{'0' * 32}-00f067aa0ba902b7-01"}),
    ("traceparent-zero-span-id", {"traceparent": f"00-{GOOD_TRACE}-{'0' * 16}-01"}),
    ("traceparent-version-ff", {"traceparent": f"ff-{GOOD_TRACE}-00f067aa0ba902b7-01"}),
    ("traceparent-uppercase", {"traceparent": f"00-{GOOD_TRACE.upper()}-00F067AA0BA902B7-01"}),
    ("traceparent-short", {"traceparent": f"00-{GOOD_TRACE[:20]}-00f067aa0ba902b7-01"}),
    ("traceparent-oversized", {"traceparent": f"00-{GOOD_TRACE}-00f067aa0ba902b7-01" + "-x" * 3000}),
    ("traceparent-non-ascii", {"traceparent": "00-ä€-01".encode("utf-8")}),
    ("traceparent-twice", [("traceparent", f"00-{GOOD_TRACE}-00f067aa0ba902b7-01"),
                           ("traceparent", f"00-{OTHER_TRACE}-00f067aa0ba902b7-01")]),
    ("xray-garbage", {"X-Amzn-Trace-Id": "Root=garbage;Parent=;"}),
    ("xray-empty", {"X-Amzn-Trace-Id": ""}),
    ("xray-bad-root-version", {"X-Amzn-Trace-Id": "Root=2-6b06e510-00000000000000000000abcd;Parent=53995c3f42cd8ad8;Sampled=1"}),
    ("xray-no-parent", {"X-Amzn-Trace-Id": "Root=1-6b06e510-00000000000000000000abcd;Sampled=1"}),
    ("xray-oversized", {"X-Amzn-Trace-Id": "Root=1-6b06e510-00000000000000000000abcd;Parent=53995c3f42cd8ad8;"
                                           + "Self=x;" * 900}),
    ("xray-separators-only", {"X-Amzn-Trace-Id": ";;;===;;;"}),
    ("both-garbage", {"traceparent": "garbage", "X-Amzn-Trace-Id": "garbage"}),
]


def raw_get(base_url: str, path: str, headers) -> tuple[int, bytes]:
    """GET with headers exactly as given (a list may repeat a name; values may be bytes)."""
    target = urlsplit(base_url)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
    try:
        connection.putrequest("GET", path)
        for name, value in (headers.items() if isinstance(headers, dict) else headers):
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.fixture
def exporting_server(otlp_sink, gunicorn_factory):
    return gunicorn_factory(**exporting_env(otlp_sink))


def server_span_for(sink, case: str):
    def find():
        for span in sink.server_spans():
            attributes = {a.key: a.value.string_value for a in span.attributes}
            if attributes.get("http.target", attributes.get("url.query", "")).endswith(f"case={case}"):
                return span
        return None

    span, _ = wait_until(find, 10, interval=0.2)
    assert span is not None, f"no server span for case {case}"
    return span


def test_unusable_trace_headers_start_a_new_trace_and_succeed(exporting_server, otlp_sink):
    for name, headers in UNUSABLE:
        status, body = raw_get(exporting_server.url, f"{TRANSACTIONS}?case={name}", headers)
        assert status == 200, (name, status, body[:200])
        assert json.loads(body) == []
    for name, _headers in UNUSABLE:
        span = server_span_for(otlp_sink, name)
        assert span.parent_span_id == b"", f"{name}: continued a trace from an unusable header"
        assert span.trace_id.hex() not in (GOOD_TRACE, OTHER_TRACE), name
        assert int(span.trace_id.hex()[:8], 16) > 0x6b06e510  # a fresh X-Ray id: now, not the header's
    exporting_server.stop()
    assert no_stack_traces(exporting_server.log_lines()) == []


def test_conflicting_valid_headers_continue_exactly_one_of_them(exporting_server, otlp_sink):
    """Both headers valid but naming different traces: one is continued whole (W3C is extracted
    after X-Ray, so traceparent wins), never a mix of one's trace id with the other's parent."""
    xray = "Root=1-6b06e510-00000000000000000000ef01;Parent=53995c3f42cd8ad8;Sampled=1"
    w3c = f"00-{GOOD_TRACE}-00f067aa0ba902b7-01"
    response = requests.get(f"{exporting_server.url}{TRANSACTIONS}?case=conflict",
                            headers={"traceparent": w3c, "X-Amzn-Trace-Id": xray}, timeout=10)
    assert response.status_code == 200
    span = server_span_for(otlp_sink, "conflict")
    pair = (span.trace_id.hex(), span.parent_span_id.hex())
    assert pair in ((GOOD_TRACE, "00f067aa0ba902b7"), (OTHER_TRACE, "53995c3f42cd8ad8")), pair
    assert pair[0] == GOOD_TRACE  # the documented precedence
    exporting_server.stop()
    assert no_stack_traces(exporting_server.log_lines()) == []


def test_header_beyond_the_server_limit_is_refused_and_the_server_lives_on(exporting_server):
    """gunicorn refuses a header field over 8190 bytes (431) before the app sees it."""
    huge = {"traceparent": "00-" + "a" * 10_000}
    response = requests.get(exporting_server.url + TRANSACTIONS, headers=huge, timeout=10)
    assert response.status_code in (400, 431)
    trace_id = new_trace_id()
    ok = requests.get(exporting_server.url + TRANSACTIONS,
                      headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}, timeout=10)
    assert ok.status_code == 200
