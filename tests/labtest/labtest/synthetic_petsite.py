"""Traffic for the observe tests (map, insights, verify) when no PetSite stub is running:
a synthetic PetSite that does what the real front end does, on the wire.

`synthetic_petsite_call(...)` sends PetSite's SERVER span and its CLIENT span to the collector
(OTLP/HTTP JSON, port 4318) and calls pethistory with X-Amzn-Trace-Id + traceparent headers
naming that CLIENT span as parent, so backends see PetSite -> PetAdoptionsHistory -> database.
Stdlib only. Only ever talks to 127.0.0.1.
"""
import json
import secrets
import time
import urllib.request

API = "/petadoptionshistory/api/home/transactions"


def _attr(key, value):
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": str(value)}}


def _span(trace_id, span_id, parent, name, kind, start_ns, end_ns, attrs, status_code=0):
    span = {"traceId": trace_id, "spanId": span_id, "name": name, "kind": kind,
            "startTimeUnixNano": str(start_ns), "endTimeUnixNano": str(end_ns),
            "attributes": [_attr(k, v) for k, v in attrs.items()],
            "status": {"code": status_code}}
    if parent:
        span["parentSpanId"] = parent
    return span


def synthetic_petsite_call(pethistory, collector_http, method="GET", path="/pethistory"):
    """One PetSite request that calls pethistory; returns (trace_id, pethistory status)."""
    trace_id = f"{int(time.time()):08x}{secrets.token_hex(12)}"
    server_id, client_id = secrets.token_hex(8), secrets.token_hex(8)
    start = time.time_ns()
    url = pethistory + API
    req = urllib.request.Request(url, method=method, headers={
        "traceparent": f"00-{trace_id}-{client_id}-01",
        "X-Amzn-Trace-Id": f"Root=1-{trace_id[:8]}-{trace_id[8:]};Parent={client_id};Sampled=1",
    })
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status = resp.status
    except urllib.error.HTTPError as err:
        status = err.code
    end = time.time_ns()
    client = _span(trace_id, client_id, server_id, f"{method} {API}", 3, start + 1000, end - 1000,
                   {"http.method": method, "http.url": url, "http.status_code": status,
                    "net.peer.name": "pethistory", "net.peer.port": 8080},
                   2 if status >= 500 else 0)
    server = _span(trace_id, server_id, None, f"{method} {path}", 2, start, end,
                   {"http.method": method, "http.route": path, "http.target": path,
                    "http.status_code": 200 if status < 500 else 500},
                   2 if status >= 500 else 0)
    body = {"resourceSpans": [{
        "resource": {"attributes": [_attr("service.name", "PetSite"),
                                    _attr("service.namespace", "AWSObservability")]},
        "scopeSpans": [{"scope": {"name": "petlab.synthetic_petsite"}, "spans": [server, client]}],
    }]}
    post = urllib.request.Request(collector_http + "/v1/traces", data=json.dumps(body).encode(),
                                  headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(post, timeout=10) as resp:
        resp.read()
    return trace_id, status
