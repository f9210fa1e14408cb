"""`lab metrics`: EMF events read as CloudWatch reads them, Prometheus series picked as the
collector's awsemf declaration picks them (kept equal to collector/aws.yaml), bad input in one
line, and e2e on each backend (aws: boto3 against the emulator through AWS_ENDPOINT_URL)."""
import json
import os
import re
import secrets
import subprocess
import sys
import time

import urllib.request

import pytest
import yaml

from labcli import compose as labcompose
from labcli import metricsview
from labcli.urls import published
from labcli.verify import poll
from labtest.checkout import LAB, ROOT

FIX = ROOT / "tests" / "lab" / "fixtures"
WALKTHROUGH = ("transactions_history_count", "transactions_get_count_total")
DIMS = {"container_name": "pethistory", "pod_name": "pethistory"}


def load(name):
    return json.loads((FIX / name).read_text())


def test_the_declaration_is_the_collectors():
    config = yaml.safe_load((ROOT / "collector" / "aws.yaml").read_text())
    assert config["exporters"]["awsemf"]["metric_declarations"] == [metricsview.EMF_DECLARATION]


def test_emf_events_become_one_row_per_metric_and_dimension_set():
    rows = metricsview.rows_from_emf(load("emf_events.json"))
    by_name = {r.metric: r for r in rows}
    assert len(by_name) == len(rows) == 15
    assert set(WALKTHROUGH) <= set(by_name)
    assert all(r.dimensions == DIMS for r in rows)
    # the newest period's values: the last event carrying each metric
    newest = {}
    for e in load("emf_events.json"):
        doc = json.loads(e["message"])
        if "transactions_history_count" in doc:
            newest = doc
    assert by_name["transactions_history_count"].value == newest["transactions_history_count"]
    assert by_name["transactions_history_count"].timestamp == newest["_aws"]["Timestamp"] / 1000


def test_samples_of_one_period_are_averaged_and_statistic_sets_are_sum_over_count():
    rows = {r.metric: r for r in metricsview.rows_from_emf(load("emf_events.json"))}
    stats = [json.loads(e["message"])["flask_http_request_duration_seconds"] for e in load("emf_events.json")
             if "flask_http_request_duration_seconds" in e["message"]]
    assert len(stats) == 2   # GET and DELETE: method is no dimension, so one metric
    assert rows["flask_http_request_duration_seconds"].value == pytest.approx(
        sum(s["Sum"] for s in stats) / sum(s["Count"] for s in stats))


def test_other_namespaces_and_non_emf_lines_make_no_metric():
    events = load("emf_events.json")
    other = json.loads(events[0]["message"])
    other["_aws"]["CloudWatchMetrics"][0]["Namespace"] = "SomethingElse"
    events = [{**events[0], "message": json.dumps(other)}, {"message": "plain log line", "timestamp": 1}]
    assert metricsview.rows_from_emf(events) == []


def test_a_dimension_missing_from_the_event_drops_that_set():
    event = load("emf_events.json")[0]
    doc = json.loads(event["message"])
    doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = [["pod_name", "container_name"], ["no_such_field"], []]
    rows = metricsview.rows_from_emf([{**event, "message": json.dumps(doc)}])
    assert {tuple(sorted(r.dimensions)) for r in rows} == {("container_name", "pod_name"), ()}


def test_prometheus_series_as_awsemf_sends_them():
    result = load("metricsview/prometheus_range.json")["data"]["result"]
    rows = metricsview.rows_from_prometheus(result)
    names = {r.metric for r in rows}
    assert set(WALKTHROUGH) <= names
    assert "flask_http_request_duration_seconds" in names   # the histogram, once
    assert not names & {"flask_http_request_duration_seconds" + x for x in ("_bucket", "_sum", "_count")}
    assert all(metricsview._selected(n) for n in names)
    assert all(set(r.dimensions) == {"container_name", "pod_name"} for r in rows)
    # the recorded result holds series the declaration drops (e.g. the scrape's own `up`)
    assert {s["metric"]["__name__"] for s in result} - {n + x for n in names for x in ("", "_bucket", "_sum", "_count")}


def test_a_prometheus_histogram_is_sum_over_count_of_the_newest_period():
    result = load("metricsview/prometheus_range.json")["data"]["result"]
    newest = max(float(t) for s in result for t, _ in s["values"]) // 60

    def total(name):
        return sum(float(v) for s in result if s["metric"]["__name__"] == name
                   for t, v in s["values"] if float(t) // 60 == newest)
    (row,) = [r for r in metricsview.rows_from_prometheus(result) if r.metric == "flask_http_request_duration_seconds"]
    assert row.value == pytest.approx(total("flask_http_request_duration_seconds_sum")
                                      / total("flask_http_request_duration_seconds_count"))


def test_emf_and_prometheus_list_the_same_metrics():
    emf = {r.metric for r in metricsview.rows_from_emf(load("emf_events.json"))}
    prom = {r.metric for r in metricsview.rows_from_prometheus(load("metricsview/prometheus_range.json")["data"]["result"])}
    assert emf == prom


# --- the command ----------------------------------------------------------------------------

def lab(*args, env=None):
    return subprocess.run([str(LAB), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def test_bad_regex_is_one_line():
    proc = lab("metrics", "transactions_(", "--backend", "local")
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("lab: error: METRIC 'transactions_(' is not a regular expression")


def parse_table(stdout):
    """METRIC, DIMENSIONS, LATEST, AT rows of the table."""
    head, rule, *lines = stdout.strip().splitlines()
    assert re.split(r"\s{2,}", head) == ["METRIC", "DIMENSIONS", "LATEST", "AT"]
    return [re.split(r"\s{2,}", line) for line in lines]


def walkthrough_rows(proc):
    if proc.returncode:
        return False, proc.stderr
    rows = [r for r in parse_table(proc.stdout) if r[0] in WALKTHROUGH]
    return {r[0] for r in rows} == set(WALKTHROUGH), rows


def assert_walkthrough_rows(rows):
    for metric, dims, value, at in rows:
        assert "container_name=pethistory" in dims.split(", ")
        assert re.fullmatch(r"pod_name=\S+", [d for d in dims.split(", ") if d.startswith("pod_name")][0])
        float(value)
        assert re.fullmatch(r"\d\d:\d\d:\d\d", at)


def list_history(backend):
    """One GET of the history through PetSite: transactions_get_count_total exists from the
    first one on (and EMF carries a counter from its second scrape, as a delta)."""
    petsite = published(labcompose.config(backend), "petsite-stub", 8000)
    with urllib.request.urlopen(f"http://{petsite}/pethistory", timeout=15) as resp:
        assert resp.status == 200


def fresh_rows(backend, since):
    """(both walkthrough metrics have a datapoint from since on, the JSON rows)."""
    proc = lab("metrics", "^transactions_", "--backend", backend, "--format", "json")
    if proc.returncode:
        return False, proc.stderr
    rows = json.loads(proc.stdout)
    fresh = {r["metric"] for r in rows if r["dimensions"].get("container_name") == "pethistory"
             and r["timestamp"] and r["timestamp"] >= since}
    return fresh == set(WALKTHROUGH), rows


def metrics_e2e(backend, source):
    since = time.time()
    list_history(backend)
    ok, rows = poll(lambda: fresh_rows(backend, since), 120)   # this lab's data, not an earlier run's
    assert ok, rows
    ok, rows = walkthrough_rows(lab("metrics", "--backend", backend))
    assert ok, rows
    assert_walkthrough_rows(rows)
    proc = lab("metrics", "^transactions_", "--backend", backend)
    assert proc.returncode == 0
    assert {r[0] for r in parse_table(proc.stdout)} == set(WALKTHROUGH)
    assert re.fullmatch(rf"# namespace PetAdoptionsHistory, backend {backend} \({re.escape(source)}\): 2 metrics",
                        proc.stderr.strip())
    as_json = json.loads(lab("metrics", "--backend", backend, "--format", "json").stdout)
    assert {"metric", "dimensions", "value", "timestamp"} == set(as_json[0])
    none = lab("metrics", "^no_such_metric$", "--backend", backend)
    assert none.returncode == 1 and "no metric matches" in none.stderr


@pytest.mark.e2e
def test_metrics_local(local_lab):
    metrics_e2e("local", metricsview.SOURCES["local"])


@pytest.mark.e2e
def test_metrics_emulated(emulated_lab):
    metrics_e2e("emulated", metricsview.SOURCES["emulated"])


@pytest.mark.e2e
def test_metrics_aws_path_against_the_emulator(emulated_lab):
    """The aws backend's ListMetrics + GetMetricData, run by boto3 against the emulator
    (AWS_ENDPOINT_URL); the test venv has boto3, scripts/lab's venv has not."""
    cloudwatch = emulated_lab.aws("cloudwatch")
    pod, value = f"e2e-{secrets.token_hex(4)}", float(int(time.time()) % 1000)   # this run's own series
    for name in WALKTHROUGH:   # a few seconds old: the emulator's GetMetricData cuts EndTime to whole seconds
        cloudwatch.put_metric_data(Namespace="PetAdoptionsHistory", MetricData=[{
            "MetricName": name, "Value": value, "Timestamp": time.time() - 5, "Dimensions": [
                {"Name": "pod_name", "Value": pod}, {"Name": "container_name", "Value": "pethistory"}]}])
    env = emulated_lab.aws_env()
    proc = subprocess.run([sys.executable, "-P", "-m", "labcli", "metrics", "--backend", "aws"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(r"# namespace PetAdoptionsHistory, backend aws \(from CloudWatch\): \d+ metrics",
                        proc.stderr.strip())
    rows = [r for r in parse_table(proc.stdout) if f"pod_name={pod}" in r[1].split(", ")]
    assert sorted(r[0] for r in rows) == sorted(WALKTHROUGH), proc.stdout
    assert_walkthrough_rows(rows)
    assert all(float(r[2]) == value for r in rows)
