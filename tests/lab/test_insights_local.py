"""`lab insights` on the local backend: Prometheus' raw samples become the events awsemf would
have written, and the same query evaluator answers as on emulated: after `lab adopt 100` both
backends show the history above 90 with the same header and columns.

fixtures/prometheus_matrix.json is Prometheus' answer to
`{__name__=~"process_open_fds|transactions_history_count",container_name="pethistory"}[1m]`
from the running local lab (the selector prometheus_selector makes for QUERY_TWO, over a minute:
four Prometheus scrapes).
"""
import json
import re
import subprocess
from pathlib import Path

import pytest

from labcli import insights, logsquery
from labtest.checkout import LAB, ROOT
from labtest.lab_http import poll

FIXTURES = Path(__file__).resolve().parent / "fixtures"
QUERY_TWO = ("fields @timestamp, transactions_history_count, process_open_fds "
             "| filter transactions_history_count >= 0 | sort @timestamp desc")
# The header `lab insights` writes to stderr, the same shape on every backend.
HEADER = re.compile(r"^# (?P<where>.+), last [\d.]+ min, backend (?P<backend>local|emulated|aws) "
                    r"\((?P<how>[^)]+)\): (?P<rows>\d+) row\(s\)$")


def matrix():
    return json.loads((FIXTURES / "prometheus_matrix.json").read_text())["data"]["result"]


def series_named(name):
    return [s for s in matrix() if s["metric"]["__name__"] == name]


# --- pure parts -----------------------------------------------------------------------------

def test_every_sample_time_becomes_one_event_with_both_metrics_and_the_labels():
    events = insights.emf_events(matrix())
    (history,) = series_named("transactions_history_count")
    (fds,) = series_named("process_open_fds")
    assert [t for t, _ in history["values"]] == [t for t, _ in fds["values"]]   # one scrape, one time
    assert len(events) == len(history["values"])
    for event, (t, value), (_, open_fds) in zip(events, history["values"], fds["values"]):
        doc = json.loads(event["message"])
        assert event["timestamp"] == round(float(t) * 1000)
        assert doc["transactions_history_count"] == float(value)
        assert doc["process_open_fds"] == float(open_fds)
        assert doc["pod_name"] == "pethistory" and doc["container_name"] == "pethistory"
        assert "__name__" not in doc and not [k for k in doc if k.startswith("otel_scope_")]


def test_integral_values_are_written_as_integers_like_awsemf():
    doc = json.loads(insights.emf_events(matrix())[0]["message"])
    assert isinstance(doc["transactions_history_count"], int)


def test_series_with_other_labels_stay_separate_events_and_nan_is_dropped():
    (history,) = series_named("transactions_history_count")
    other = {"metric": {**history["metric"], "pod_name": "pethistory-2"},
             "values": [[history["values"][0][0], "120"], [history["values"][1][0], "NaN"]]}
    events = insights.emf_events([history, other])
    docs = [json.loads(e["message"]) for e in events]
    assert len(events) == len(history["values"]) + 1
    assert [d["transactions_history_count"] for d in docs if d["pod_name"] == "pethistory-2"] == [120]


def test_the_query_runs_over_the_events_as_over_the_log_group():
    columns, rows = logsquery.evaluate(QUERY_TWO, insights.emf_events(matrix()))
    assert columns == ["@timestamp", "transactions_history_count", "process_open_fds"]
    assert len(rows) == len(series_named("transactions_history_count")[0]["values"])
    assert rows[0][0] > rows[-1][0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", rows[0][0])


def test_default_query_filters_the_history_above_90():
    (history,) = series_named("transactions_history_count")
    counts = [50, 91, 120, 95]
    raised = {**history, "values": [[t, str(c)] for (t, _), c in zip(history["values"], counts)]}
    columns, rows = logsquery.evaluate(insights.DEFAULT_QUERY, insights.emf_events([raised]))
    assert columns == ["@timestamp", "transactions_history_count"]
    assert [r[1] for r in rows] == [95, 120, 91]


@pytest.mark.parametrize("query, selector", [
    (QUERY_TWO, '{__name__=~"process_open_fds|transactions_history_count",container_name="pethistory"}[60s]'),
    (insights.DEFAULT_QUERY, '{__name__=~"transactions_history_count",container_name="pethistory"}[60s]'),
    ("filter ispresent(process_open_fds) and pod_name like /pet/ | fields @timestamp",
     '{__name__=~"pod_name|process_open_fds",container_name="pethistory"}[60s]'),
    ("fields @timestamp, @message | limit 5", '{container_name="pethistory"}[60s]'),
])
def test_the_selector_reads_only_the_metrics_the_query_names(query, selector):
    assert insights.prometheus_selector(logsquery.parse(query), 60) == selector


# --- the running local lab ------------------------------------------------------------------

def lab(*args, timeout=120):
    return subprocess.run([str(LAB), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def insights_rows(minutes="5"):
    """`lab insights` -> (header match, table lines) once it shows rows."""
    proc = lab("insights", "--minutes", minutes)
    assert proc.returncode == 0, proc.stderr
    header = HEADER.match(proc.stderr.strip().splitlines()[-1])
    assert header, proc.stderr
    return (header, proc.stdout.splitlines()) if int(header["rows"]) else None


def adopt_then_insights(backend):
    proc = lab("adopt", "100")
    assert proc.returncode == 0, proc.stderr
    assert int(re.search(r"the history now holds (\d+) row", proc.stdout)[1]) >= 100
    header, lines = poll(insights_rows, 90, interval_s=5, what=f"lab insights rows above 90 ({backend})")
    assert header["backend"] == backend
    assert lines[0].split() == ["@timestamp", "transactions_history_count"]
    values = [int(line.split()[-1]) for line in lines[2:]]
    assert values and all(v > 90 for v in values)
    json_out = lab("insights", "--minutes", "5", "--format", "json")
    assert json_out.returncode == 0
    assert {tuple(r) for r in json.loads(json_out.stdout)} == {("@timestamp", "transactions_history_count")}
    return header


@pytest.mark.e2e
def test_adopt_then_insights_on_emulated_shows_the_history_above_90(emulated_lab):
    header = adopt_then_insights("emulated")
    assert header["where"] == "log group /metrics/PetAdoptionsHistory"


@pytest.mark.e2e
def test_adopt_then_insights_on_local_shows_the_history_above_90_the_same_way(local_lab):
    header = adopt_then_insights("local")
    assert header["where"].startswith("Prometheus http://127.0.0.1:")
    assert header["how"] == "Prometheus samples as EMF events"


@pytest.mark.e2e
def test_insights_on_local_refuses_what_it_cannot_run_in_one_line(local_lab):
    for args in (["stats count(*) by bin(5m)"], ["--log-group", "/other"], ["--minutes", "0"]):
        proc = lab("insights", *args)
        assert proc.returncode == 1, (args, proc.stderr)
        (line,) = proc.stderr.strip().splitlines()
        assert line.startswith("lab: error: ")
