"""`lab trace`: the pure tree builders on traces recorded from the real backends (Jaeger's
/api/traces, X-Ray documents from the emulator), bad input in one line, and e2e on both
backends: a PetSite "clear history" with a known trace id, read back as a tree."""
import json
import os
import secrets
import subprocess
import time
import urllib.request

import pytest

from labcli import compose as labcompose
from labcli import traceview
from labcli.urls import published
from labcli.verify import poll
from labtest.checkout import LAB, ROOT

FIX = ROOT / "tests" / "lab" / "fixtures"


def load(name):
    return json.loads((FIX / name).read_text())


def chain(nodes, depth=0):
    """[(depth, service, operation, status, statement)] in drawing order."""
    out = []
    for n in nodes:
        out.append((depth, n.service, n.operation, n.status, n.statement))
        out += chain(n.children, depth + 1)
    return out


def delete_trace_jaeger():
    (trace,) = [t for t in load("jaeger_traces.json")["data"]
                if any(s["operationName"] == "transactions_delete" for s in t["spans"])]
    return trace


def delete_trace_xray():
    docs = load("xray_segments.json")
    (tid,) = {d["trace_id"] for d in docs if d["name"] == "transactions_delete"}
    return [d for d in docs if d["trace_id"] == tid]


CLEAR_HISTORY = [
    (0, "PetSite", "OK"),
    (1, "PetSite", "OK"),                        # PetSite's call to pethistory
    (2, "PetAdoptionsHistory", "OK"),
    (3, "PetAdoptionsHistory", "OK"),            # transactions_delete
    (4, "adoptions", "OK"),                      # the database
]


@pytest.mark.parametrize("roots", [pytest.param(lambda: traceview.tree_from_jaeger(delete_trace_jaeger()), id="jaeger"),
                                   pytest.param(lambda: traceview.tree_from_segments(delete_trace_xray()), id="xray")])
def test_clear_history_is_one_chain_down_to_the_delete_statement(roots):
    rows = chain(roots())
    assert [(d, s, st) for d, s, _, st, _ in rows] == CLEAR_HISTORY
    assert rows[1][2] == rows[2][2] == "DELETE /petadoptionshistory/api/home/transactions"
    assert rows[3][2] == "transactions_delete"
    assert rows[4][2] == "DELETE" and rows[4][4] == "DELETE FROM transactions_history"
    assert [r[4] for r in rows[:4]] == [None] * 4


def test_the_petsite_stubs_trace_has_the_same_tree_on_both_backends():
    """The real PetSite (zero-code instrumentation, client span named by its method only),
    recorded by fixtures/traceview/record.py on each backend."""
    strip = lambda nodes: [(n.service, n.operation, n.status, n.statement, strip(n.children)) for n in nodes]
    jaeger = traceview.tree_from_jaeger(load("traceview/jaeger_delete.json"))
    xray = traceview.tree_from_segments(load("traceview/xray_delete.json"))
    assert strip(jaeger) == strip(xray)
    assert [(d, s, o) for d, s, o, _, _ in chain(jaeger)] == [
        (0, "PetSite", "DELETE /pethistory/deletepetadoptionshistory"),
        (1, "PetSite", "DELETE /petadoptionshistory/api/home/transactions"),
        (2, "PetAdoptionsHistory", "DELETE /petadoptionshistory/api/home/transactions"),
        (3, "PetAdoptionsHistory", "transactions_delete"),
        (4, "adoptions", "DELETE")]
    assert chain(xray)[4][4] == "DELETE FROM transactions_history"


def test_jaeger_and_xray_durations_are_the_recorded_ones():
    jaeger = traceview.tree_from_jaeger(delete_trace_jaeger())
    spans = {s["operationName"]: s["duration"] / 1000 for s in delete_trace_jaeger()["spans"]}
    assert jaeger[0].duration_ms == spans["DELETE /pethistory/deletepetadoptionshistory"]
    (doc,) = [d for d in delete_trace_xray() if d["name"] == "transactions_delete"]
    xray = traceview.tree_from_segments(delete_trace_xray())
    assert xray[0].children[0].children[0].children[0].duration_ms == pytest.approx(
        (doc["end_time"] - doc["start_time"]) * 1000)


def test_subsegments_nested_in_their_segment_give_the_same_tree():
    docs = delete_trace_xray()
    # each subsegment inside its parent (segment or subsegment), as X-Ray SDKs send them
    inline = {d["id"]: {k: v for k, v in d.items() if k not in ("parent_id", "type", "trace_id")}
              if d.get("type") == "subsegment" else dict(d) for d in docs}
    for d in docs:
        if d.get("type") == "subsegment":
            inline[d["parent_id"]].setdefault("subsegments", []).append(inline[d["id"]])
    nested = [inline[d["id"]] for d in docs if d.get("type") != "subsegment"]
    assert len(nested) == 2
    assert chain(traceview.tree_from_segments(nested)) == chain(traceview.tree_from_segments(delete_trace_xray()))


def test_status_follows_xray_flags_and_jaeger_error_marks():
    docs = delete_trace_xray()
    for d in docs:
        if d["name"] == "PetAdoptionsHistory":
            d["fault"] = True
        if d["name"] == "adoptions":
            d["error"] = True
    statuses = [r[3] for r in chain(traceview.tree_from_segments(docs))]
    assert statuses == ["OK", "OK", "FAULT", "OK", "ERROR"]
    trace = delete_trace_jaeger()
    for s in trace["spans"]:
        if s["operationName"] == "transactions_delete":
            s["tags"].append({"key": "otel.status_code", "type": "string", "value": "ERROR"})
        if s["operationName"] == "DELETE":
            s["tags"].append({"key": "error", "type": "bool", "value": True})
    assert [r[3] for r in chain(traceview.tree_from_jaeger(trace))] == ["OK", "OK", "OK", "ERROR", "ERROR"]


def test_drawing_has_the_header_and_box_connectors():
    roots = traceview.tree_from_jaeger(delete_trace_jaeger())
    head = traceview.header("6b06e93cb3ae4625aab4f6e2c9b9ffbf", "local", roots)
    assert head == "trace 6b06e93cb3ae4625aab4f6e2c9b9ffbf (backend local, 5 spans, 19.9 ms)"
    lines = traceview.draw(roots).splitlines()
    assert lines[0] == "PetSite  DELETE /pethistory/deletepetadoptionshistory  19.9 ms  OK"
    assert lines[1].startswith("└─ PetSite  DELETE /petadoptionshistory/api/home/transactions  ")
    assert lines[4] == "         └─ adoptions  DELETE  0.7 ms  OK  DELETE FROM transactions_history"


def test_siblings_get_tee_connectors_and_long_statements_one_cut_line():
    (trace,) = [t for t in load("jaeger_traces.json")["data"] if len(t["spans"]) == 7]   # three db calls
    lines = traceview.draw(traceview.tree_from_jaeger(trace)).splitlines()
    db = [line for line in lines if "─ adoptions  " in line]
    assert [line.split("adoptions")[0] for line in db] == ["         ├─ ", "         ├─ ", "         └─ "]
    assert all("\n" not in line and len(line.split("OK  ", 1)[1]) <= traceview.STATEMENT_WIDTH for line in db)
    assert any(line.endswith("…") for line in db)


@pytest.mark.parametrize("given", ["6b06e93cb3ae4625aab4f6e2c9b9ffbf", "1-6b06e93c-b3ae4625aab4f6e2c9b9ffbf",
                                   "6B06E93CB3AE4625AAB4F6E2C9B9FFBF"])
def test_both_id_forms_are_accepted(given):
    assert traceview.w3c_id(given) == "6b06e93cb3ae4625aab4f6e2c9b9ffbf"
    assert traceview.xray_id(given) == "1-6b06e93c-b3ae4625aab4f6e2c9b9ffbf"


# --- bad input: one line, non-zero exit (needs the Docker engine, not the lab) -----------------

def lab(*args, env=None):
    return subprocess.run([str(LAB), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("bad", ["12345", "1-6b06e93c-b3ae", "zz06e93cb3ae4625aab4f6e2c9b9ffbf", "2-6b06e93c-b3ae4625aab4f6e2c9b9ffbf"])
def test_malformed_trace_id_is_one_line(bad):
    proc = lab("trace", bad, "--backend", "local")
    assert proc.returncode == 1, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("lab: error: trace id") and "X-Ray" in line


# --- e2e: PetSite's clear history, on each backend ---------------------------------------------

def clear_history(backend):
    """DELETE through PetSite with a traceparent of our own; returns the trace id (W3C)."""
    petsite = published(labcompose.config(backend), "petsite-stub", 8000)
    assert petsite and petsite.startswith("127.0.0.1:")
    trace_id = f"{int(time.time()):08x}{secrets.token_hex(12)}"   # X-Ray ids start with epoch seconds
    req = urllib.request.Request(f"http://{petsite}/pethistory/deletepetadoptionshistory", method="DELETE",
                                 headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"})
    with urllib.request.urlopen(req, timeout=15) as resp:
        assert resp.status == 200
    return trace_id


def parse_tree(text):
    """`lab trace` stdout -> header, [(depth, service, operation, ms, status, statement)]."""
    head, *lines = text.strip().splitlines()
    rows = []
    for line in lines:
        body = line.lstrip("│├└─ ")
        cells = body.split("  ")
        rows.append(((len(line) - len(body)) // 3, cells[0], cells[1], float(cells[2].removesuffix(" ms")),
                     cells[3], cells[4] if len(cells) > 4 else None))
    return head, rows


def clear_history_chain(rows):
    """The rows PetSite -> PetAdoptionsHistory -> transactions_delete -> a database DELETE, each
    below the last, as far as the tree has them."""
    want = [lambda r: r[1] == "PetSite", lambda r: r[1] == "PetAdoptionsHistory",
            lambda r: r[2] == "transactions_delete", lambda r: (r[5] or "").startswith("DELETE")]
    depth, found = -1, []
    for row in rows:
        if len(found) < len(want) and row[0] > depth and want[len(found)](row):
            depth = row[0]
            found.append(row)
    return found


def assert_clear_history(rows):
    found = clear_history_chain(rows)
    assert len(found) == 4, rows
    assert all(r[4] == "OK" and r[3] >= 0 for r in found)


def trace_e2e(backend):
    trace_id = clear_history(backend)
    shown = trace_id if backend == "local" else f"1-{trace_id[:8]}-{trace_id[8:]}"

    def by_id():
        proc = lab("trace", trace_id, "--backend", backend)
        if proc.returncode:
            return False, proc.stderr
        # Every service's spans: PetSite's root ends last and may reach the backend a second later.
        return len(clear_history_chain(parse_tree(proc.stdout)[1])) == 4, proc.stdout
    ok, out = poll(by_id, 90)
    assert ok, out
    head, rows = parse_tree(out)
    assert head.startswith(f"trace {shown} (backend {backend}, {len(rows)} spans, ")
    assert_clear_history(rows)

    other_form = lab("trace", shown if backend == "local" else trace_id, "--backend", backend)
    assert other_form.returncode == 0 and parse_tree(other_form.stdout) == (head, rows)

    newest = lab("trace", "--backend", backend)
    assert newest.returncode == 0, newest.stderr
    assert_clear_history(parse_tree(newest.stdout)[1])

    as_json = json.loads(lab("trace", trace_id, "--backend", backend, "--format", "json").stdout)
    assert as_json["trace_id"] == shown and as_json["spans"] == len(rows)


@pytest.mark.e2e
def test_trace_of_clear_history_local(local_lab):
    trace_e2e("local")


@pytest.mark.e2e
def test_trace_of_clear_history_emulated(emulated_lab):
    trace_e2e("emulated")


@pytest.mark.e2e
def test_unknown_trace_and_operation_are_one_line(emulated_lab):
    absent = lab("trace", f"{int(time.time()):08x}{'0' * 24}", "--backend", "emulated")
    assert absent.returncode == 1
    (line,) = absent.stderr.strip().splitlines()
    assert line.startswith("lab: error: trace 1-") and "not in the emulated backend" in line
    none = lab("trace", "--operation", "no_such_span", "--minutes", "1", "--backend", "emulated")
    assert none.returncode == 1
    (line,) = none.stderr.strip().splitlines()
    assert "no trace with no_such_span in the last 1 min" in line and "deletepetadoptionshistory" in line
