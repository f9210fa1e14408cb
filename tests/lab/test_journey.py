"""`lab walkthrough` and the console's Walkthrough section (labcli/journey.py): the step list
itself, what a step shows when its backend does not answer, and on the running lab (local and
emulated) the statuses after traffic through PetSite, the Insights step before and after
`lab adopt`, and the console listing the same steps with the same statuses."""
import json
import os
import re
import socket
import subprocess
import threading
import urllib.request
from http.server import ThreadingHTTPServer

import pytest

from labcli import compose as labcompose
from labcli import journey
from labcli.console import Handler, page
from labcli.endpoints import Endpoints
from labcli.urls import published
from labtest.checkout import LAB, ROOT
from labtest.lab_http import poll
from labtest.lab_session import docker_engine_answers

e2e = pytest.mark.e2e
PETSITE = "http://127.0.0.1:8000"


# --- the step list (no Docker) ---------------------------------------------------------------

def test_steps_are_numbered_in_the_blogs_order_of_figures():
    assert [s.number for s in journey.STEPS] == list(range(1, len(journey.STEPS) + 1))
    figures = [f for s in journey.STEPS for f in s.figures]
    assert figures == sorted(figures), "a step shows a figure the blog shows before an earlier step's"
    assert journey.STEPS[-1].slug == "clean-up"


def test_figures_2_to_9_are_each_one_steps():
    figures = [f for s in journey.STEPS for f in s.figures]
    assert sorted(figures) == list(range(2, 10))


def test_every_step_has_a_check_a_hint_a_title_and_a_unique_anchor():
    for s in journey.STEPS:
        assert callable(s.check) and callable(s.hint) and s.title
        assert re.fullmatch(rf"#step-{s.number}-[a-z0-9]+(-[a-z0-9]+)*", s.anchor), s.anchor
    anchors = [s.anchor for s in journey.STEPS]
    assert len(set(anchors)) == len(anchors)
    assert len({s.slug for s in journey.STEPS}) == len(journey.STEPS)


def test_every_anchor_is_one_the_walkthrough_document_defines():
    defined = set(re.findall(r'<a id="([\w-]+)"></a>', (ROOT / journey.DOC).read_text()))
    missing = [s.anchor for s in journey.STEPS if s.anchor[1:] not in defined]
    assert missing == [], f"anchors {journey.DOC} does not define: {missing}"


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nowhere(backend):
    """Endpoints of a lab whose every service is down: a port nothing listens on."""
    dead = f"http://127.0.0.1:{closed_port()}"
    return Endpoints(backend, jaeger=dead, prometheus=dead, aws=dead, pethistory=dead, petsite=PETSITE)


@pytest.mark.parametrize("backend", ["local", "emulated"])
def test_a_backend_that_does_not_answer_makes_steps_not_yet_in_one_line(backend):
    results = journey.run(nowhere(backend), services=False)
    assert [r.step for r in results] == list(journey.STEPS)
    by = {r.step.slug: r for r in results}
    assert by["clean-up"].status == journey.NA and "nothing to clean up" in by["clean-up"].detail
    for r in results[:-1]:
        assert r.status == journey.NOT_YET, (r.step.slug, r.detail)
        assert r.next and r.detail and "\n" not in r.detail and "Traceback" not in r.detail
        assert "does not answer" in r.detail, (r.step.slug, r.detail)
    assert by["logs-insights"].next == "scripts/lab adopt 100"
    assert by["transactions-delete-trace"].next == f"curl -X DELETE {PETSITE}/pethistory/deletepetadoptionshistory"
    assert by["before-instrumentation"].next == "scripts/lab up"
    assert by["dashboard"].next == ("scripts/lab dashboard" if backend == "emulated" else "scripts/lab load -u 5 -t 1m")


def test_the_table_has_the_documented_columns_and_one_row_per_step():
    text = journey.render_table(journey.run(nowhere("local"), services=False))
    header, rule, *rows = text.splitlines()
    assert header.split() == ["STEP", "TITLE", "FIGURE", "STATUS", "NEXT/DETAIL"]
    assert [r.split()[0] for r in rows] == [str(s.number) for s in journey.STEPS]
    assert "Figs. 3-5" in rows[5] and "next: scripts/lab adopt 100;" in rows[7]


@pytest.fixture
def console(monkeypatch):
    """The console's page on a lab whose backends do not answer."""
    ep = nowhere("local")
    monkeypatch.setenv("LAB_OBSERVE_BACKEND", "local")
    for name, url in (("JAEGER", ep.jaeger), ("PROMETHEUS", ep.prometheus), ("PETHISTORY", ep.pethistory)):
        monkeypatch.setenv(f"LAB_{name}_URL", url)
    monkeypatch.setenv("LAB_LINKS", f"PetSite={PETSITE}/,Jaeger=http://127.0.0.1:16686/")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", ep
    server.shutdown()


def page_steps(html):
    return [(int(n), status) for n, status in
            re.findall(r"<tr class='step' data-step='(\d+)' data-status='([^']*)'>", html)]


def test_the_console_lists_the_steps_first_with_the_commands_statuses(console):
    url, ep = console
    with urllib.request.urlopen(url + "/", timeout=30) as resp:
        html = resp.read().decode()
    sections = re.findall(r"<section id='([\w-]+)'>", html)
    assert sections[0] == "walkthrough" and {"links", "map", "metrics", "insights-panel", "recent"} <= set(sections)
    expected = [(r.step.number, r.status) for r in journey.run(ep, services=False)]
    assert page_steps(html) == expected
    for s in journey.STEPS:
        assert f"docs/walkthrough.md{s.anchor}" in html
    assert f"curl {PETSITE}/pethistory" in html   # the hints name PetSite as the browser reaches it


def test_the_console_on_aws_lists_the_steps_for_the_command_on_the_users_machine(monkeypatch):
    monkeypatch.setenv("LAB_OBSERVE_BACKEND", "aws")
    html = page()
    assert page_steps(html) == [(s.number, "") for s in journey.STEPS]
    assert "<code>scripts/lab walkthrough</code> checks each step" in html


# --- on the running lab ----------------------------------------------------------------------

def lab(*args, timeout=240):
    return subprocess.run([str(LAB), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_the_command_exits_1_in_one_line_only_when_no_lab_runs():
    if not docker_engine_answers():
        pytest.skip("no Docker engine answers")
    # a compose project with no containers: the lab's commands see no lab running
    proc = subprocess.run([str(LAB), "walkthrough"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COMPOSE_PROJECT_NAME": "petlab-no-lab-here"})
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == ["lab: error: the lab is not running (scripts/lab up)"]


def call(url, method="GET"):
    req = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(req, timeout=15) as resp:
        return resp.status


def walkthrough(*args):
    proc = lab("walkthrough", "--format", "json", *args, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return {r["step"]: r for r in json.loads(proc.stdout)}


def walkthrough_until(ready, deadline_s, what, *args):
    last = {}

    def fetch():
        last["steps"] = walkthrough(*args)
        return last["steps"] if ready(last["steps"]) else None
    try:
        return poll(fetch, deadline_s, interval_s=5, what=what)
    except AssertionError as err:
        raise AssertionError(f"{err}\n{json.dumps(last.get('steps'), indent=1)}") from None


def published_url(backend, service, port):
    addr = published(labcompose.config(backend), service, port)
    if addr is None:
        pytest.skip(f"no {service} service in compose.yaml")
    return f"http://{addr}"


TRAFFIC_STEPS = (2, 3, 4, 5, 6, 7)


def steps_done_after_petsite_traffic(backend):
    petsite = published_url(backend, "petsite-stub", 8000)
    assert call(petsite + "/pethistory") == 200
    assert call(petsite + "/pethistory/deletepetadoptionshistory", "DELETE") == 200
    steps = walkthrough_until(lambda s: all(s[n]["status"] == journey.DONE for n in TRAFFIC_STEPS), 150,
                              f"steps {TRAFFIC_STEPS} done")
    assert steps[1]["status"] == journey.DONE
    assert steps[11]["status"] == journey.NA and steps[11]["detail"].startswith("nothing to clean up")
    proc = lab("walkthrough", timeout=60)
    assert proc.returncode == 0 and "STEP" in proc.stdout and f"backend {backend}" in proc.stderr


def insights_step_follows_the_history(backend):
    """Step 8 over the last minute: not yet on a cleared history, done after `lab adopt 100`."""
    petsite = published_url(backend, "petsite-stub", 8000)
    assert call(petsite + "/pethistory/deletepetadoptionshistory", "DELETE") == 200
    steps = walkthrough_until(lambda s: s[8]["status"] == journey.NOT_YET, 180,
                              "step 8 not yet on a cleared history", "--minutes", "1")
    assert "scripts/lab adopt" in steps[8]["next"]
    proc = lab("adopt", "100")
    assert proc.returncode == 0, proc.stderr
    walkthrough_until(lambda s: s[8]["status"] == journey.DONE, 120,
                      "step 8 done after scripts/lab adopt 100", "--minutes", "1")


def console_matches_the_command(backend):
    console = published_url(backend, "console", 8070)
    last = {}

    def same():
        with urllib.request.urlopen(console + "/", timeout=60) as resp:
            html = resp.read().decode()
        assert html.index("<section id='walkthrough'>") < html.index("<section id='links'>")
        last["page"] = page_steps(html)
        last["command"] = [(n, r["status"]) for n, r in sorted(walkthrough().items())]
        return last["page"] == last["command"]
    # the two read the backends a moment apart: equal once no scrape lands in between
    try:
        poll(same, 60, interval_s=5, what="the same steps and statuses on the console and the command")
    except AssertionError as err:
        raise AssertionError(f"{err}\nconsole: {last.get('page')}\ncommand: {last.get('command')}") from None
    assert len(last["page"]) == len(journey.STEPS)


@e2e
def test_local_steps_done_after_petsite_traffic(local_lab):
    steps_done_after_petsite_traffic("local")


@e2e
def test_local_insights_step_follows_the_history(local_lab):
    insights_step_follows_the_history("local")


@e2e
def test_local_console_lists_the_same_steps(local_lab):
    console_matches_the_command("local")


@e2e
def test_emulated_steps_done_after_petsite_traffic(emulated_lab):
    steps_done_after_petsite_traffic("emulated")


@e2e
def test_emulated_insights_step_follows_the_history(emulated_lab):
    insights_step_follows_the_history("emulated")


@e2e
def test_emulated_console_lists_the_same_steps(emulated_lab):
    console_matches_the_command("emulated")
