"""With LAB_BACKEND=local: PetSite's page and API, one trace PetSite -> PetAdoptionsHistory ->
PostgreSQL in Jaeger, the service dependency, Locust's UI, and a short headless `scripts/lab load`
run whose GETs and history rows show in Prometheus; `scripts/lab load` argument handling
(no Docker)."""
import json
import re
import secrets
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from labcli import compose as labcompose
from labcli.urls import published
from labtest.checkout import LAB, ROOT
from labtest.lab_http import get, new_trace_id, poll

e2e = pytest.mark.e2e  # the tests below that need the running lab


@pytest.fixture(scope="module")
def urls(local_lab):
    cfg = labcompose.config("local")

    def url(service, port):
        addr = published(cfg, service, port)
        assert addr and addr.startswith("127.0.0.1:"), f"{service}:{port} is published on {addr}"
        return f"http://{addr}"

    return {"petsite": url("petsite-stub", 8000), "locust": url("loadgen", 8089),
            "jaeger": local_lab.jaeger, "prometheus": local_lab.prometheus, "pethistory": local_lab.pethistory}


def fetch_text(url, method="GET", headers=None, timeout=10):
    request = urllib.request.Request(url, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.headers.get_content_type(), response.read().decode()


@e2e
def test_petsite_page_renders_the_history(urls):
    status, content_type, html = fetch_text(urls["petsite"] + "/")
    assert status == 200 and content_type == "text/html"
    assert "<title>PetSite: adoption history</title>" in html
    assert 'id="clear"' in html and 'id="adopt"' in html


def adopt_and_move(petsite, pet=None):
    """One adoption through PetSite's API, then housekeeping moves it into the history."""
    body = json.dumps({"pet_id": pet} if pet else {}).encode()
    request = urllib.request.Request(petsite + "/api/adopt", method="POST", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
    fetch_text(petsite + "/api/housekeeping", "POST")


@e2e
def test_adoption_then_housekeeping_shows_up_through_petsite(urls):
    pet = f"e2e{secrets.token_hex(4)}"
    adopt_and_move(urls["petsite"], pet)
    _, rows = get(urls["petsite"] + "/pethistory")
    assert pet in {row["pet_id"] for row in rows}


def jaeger_trace(jaeger, trace_id):
    def fetch():
        _, body = get(f"{jaeger}/api/traces/{trace_id}")
        data = (body or {}).get("data") or []
        if not data:
            return None
        trace = data[0]
        services = {p["serviceName"] for p in trace["processes"].values()}
        has_db = any(t["key"] == "db.system" for s in trace["spans"] for t in s.get("tags", []))
        return trace if {"PetSite", "PetAdoptionsHistory"} <= services and has_db else None
    return poll(fetch, 90, what=f"trace {trace_id} with PetSite, PetAdoptionsHistory and a database span")


@e2e
def test_one_trace_petsite_to_pethistory_to_database(urls):
    trace_id = new_trace_id()
    status, _, _ = fetch_text(urls["petsite"] + "/pethistory",
                              headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"})
    assert status == 200
    trace = jaeger_trace(urls["jaeger"], trace_id)
    spans = {s["spanID"]: s for s in trace["spans"]}
    service = {pid: p["serviceName"] for pid, p in trace["processes"].items()}

    def parent(span):
        refs = [r["spanID"] for r in span.get("references", []) if r["refType"] == "CHILD_OF"]
        return spans.get(refs[0]) if refs else None

    db_spans = [s for s in spans.values()
                if any(t["key"] == "db.system" and t["value"] == "postgresql" for t in s.get("tags", []))]
    assert db_spans
    chains = []
    for db in db_spans:
        chain, span = [], db
        while span is not None:
            chain.append(service[span["processID"]])
            span = parent(span)
        chains.append(chain)
    # walking up from the database span: PetAdoptionsHistory spans, then PetSite spans, nothing else
    assert any(c[0] == "PetAdoptionsHistory" and "PetSite" in c
               and c.index("PetSite") > max(i for i, s in enumerate(c) if s == "PetAdoptionsHistory")
               and set(c) == {"PetAdoptionsHistory", "PetSite"} for c in chains), chains
    # the PetSite span right above pethistory's server span is PetSite's outgoing call
    history_server = next(s for s in spans.values()
                          if service[s["processID"]] == "PetAdoptionsHistory" and parent(s)
                          and service[parent(s)["processID"]] == "PetSite")
    assert any(t["key"] == "span.kind" and t["value"] == "server" for t in history_server["tags"])
    assert any(t["key"] == "span.kind" and t["value"] == "client" for t in parent(history_server)["tags"])


@e2e
def test_jaeger_dependencies_show_petsite_calling_pethistory(urls):
    fetch_text(urls["petsite"] + "/pethistory")

    def fetch():
        end_ts = int(time.time() * 1000)
        _, body = get(f"{urls['jaeger']}/api/dependencies?endTs={end_ts}&lookback=3600000")
        links = {(d["parent"], d["child"]) for d in (body or {}).get("data") or []}
        return links if ("PetSite", "PetAdoptionsHistory") in links else None
    poll(fetch, 90, what="PetSite -> PetAdoptionsHistory in Jaeger's /api/dependencies")


@e2e
def test_locust_web_ui_answers(urls):
    status, content_type, html = fetch_text(urls["locust"] + "/")
    assert status == 200 and content_type == "text/html" and "locust" in html.lower()


HISTORY = 'transactions_history_count{container_name="pethistory"}'
GETS = 'transactions_get_count_total{container_name="pethistory"}'


def latest(prometheus, query):
    _, body = get(f"{prometheus}/api/v1/query?query={urllib.parse.quote(query)}")
    result = body["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def served_gets(pethistory):
    """transactions_get_count_total as the service exposes it now (its /metrics is not counted;
    before the first GET since the service started, the counter has no series yet: 0)."""
    _, _, text = fetch_text(pethistory + "/metrics")
    return next((float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                 if line.startswith("transactions_get_count_total{")), 0.0)


def requests_named(summary, name):
    """The request count of one row of Locust's summary ("GET  2 list history  12  0(0.00%) |")."""
    found = re.search(rf"^\s*\w+\s+{re.escape(name)}\s+(\d+)\s", summary, re.MULTILINE)
    return int(found.group(1)) if found else 0


@e2e
def test_headless_load_run_has_no_failures_and_shows_in_both_metrics(urls):
    prometheus = urls["prometheus"]
    # The baseline from the service itself: Prometheus lags it by up to a scrape of each (35 s),
    # so the earlier tests' last GETs may not be in Prometheus yet.
    gets_before = served_gets(urls["pethistory"])
    proc = subprocess.run([str(LAB), "load", "--users", "3", "--duration", "15s", "--think", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert "Aggregated" in output and "1 housekeeping" in output and "3 adopt a pet" in output
    aggregated = next(line for line in output.splitlines() if line.strip().startswith("Aggregated"))
    assert " 0(0.00%)" in aggregated, aggregated
    listed = requests_named(output, "2 list history")
    assert listed > 0, output[-4000:]
    # The counter counts exactly the GETs the history service served: the run's "2 list history"
    # (the collector scrapes pethistory every 20 s, Prometheus the collector every 15 s).
    poll(lambda: latest(prometheus, GETS) == gets_before + listed, 120,
         what=f"transactions_get_count_total at {gets_before:g} + {listed}")
    # The gauge follows the database: whatever the run left (its clears make the number random),
    # one more adoption moves it to a value Prometheus must then show.
    adopt_and_move(urls["petsite"])
    _, rows = get(urls["petsite"] + "/pethistory")
    poll(lambda: latest(prometheus, HISTORY) == len(rows), 120,
         what=f"transactions_history_count at {len(rows)}, the rows the history holds")



# --- `scripts/lab load` argument handling (no Docker needed) --------------------------------

@pytest.fixture
def lab_cli(monkeypatch):
    """scripts/lab's main() with the engine check and docker compose replaced by recorders."""
    from labcli import cli

    calls = []
    monkeypatch.setattr(cli.compose, "require_engine", lambda: None)
    monkeypatch.setattr(cli.compose, "running_backend", lambda: "local")
    monkeypatch.setattr(cli, "docker_compose", lambda *args, **kw: calls.append((args, kw)) or 0)
    return cli, calls


@pytest.mark.parametrize("args", [["--users", "0"], ["--duration", "5x"], ["--duration", "1m 30s"]])
def test_lab_load_rejects_bad_values_in_one_line(lab_cli, capsys, args):
    cli, calls = lab_cli
    assert cli.main(["load", *args]) == 1
    assert calls == []
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("lab: error: --")


def test_lab_load_runs_locust_headless_in_the_loadgen_service(lab_cli):
    cli, calls = lab_cli
    assert cli.main(["load", "--users", "4", "--duration", "90s", "--think", "2"]) == 0
    ((args, kw),) = calls
    assert args[:5] == ("run", "--rm", "--no-deps", "-e", "LOADGEN_THINK_SECONDS=2.0")
    assert args[5] == "loadgen" and kw["backend"] == "local"
    tail = " ".join(args[6:])
    assert "--headless -u 4 -r 4 -t 90s" in tail and "--exit-code-on-error 1" in tail


def test_lab_load_needs_a_running_lab(lab_cli, capsys, monkeypatch):
    cli, calls = lab_cli
    monkeypatch.setattr(cli.compose, "running_backend", lambda: None)
    assert cli.main(["load"]) == 1 and calls == []
    assert "the lab is not running" in capsys.readouterr().err
