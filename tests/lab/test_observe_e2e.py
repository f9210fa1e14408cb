"""`lab map`, `lab insights`, `lab dashboard`, `lab verify` and the console on the running lab
(local and emulated), after a bounded burst of traffic through PetSite."""
import json
import os
import subprocess
import time
import urllib.request

import pytest

from labcli import compose as labcompose
from labcli import dashboard, insights
from labcli.awsapi import EmulatorClient
from labcli.endpoints import LOG_GROUP
from labcli.urls import published
from labtest.checkout import LAB, ROOT
from labtest.lab_http import get, poll

pytestmark = pytest.mark.e2e


def lab(*args, timeout=240):
    return subprocess.run([str(LAB), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def petsite_url(backend):
    addr = published(labcompose.config(backend), "petsite-stub", 8000)
    if addr is None:
        pytest.skip("no petsite-stub service in compose.yaml")
    return f"http://{addr}"


def call(url, method="GET"):
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=15) as resp:
        return resp.status, json.loads(resp.read() or b"null")


def burst(petsite, n=3):
    """Bounded traffic: n history reads and one clear, through PetSite."""
    for _ in range(n):
        assert call(petsite + "/pethistory")[0] == 200
    assert call(petsite + "/pethistory/deletepetadoptionshistory", "DELETE")[0] == 200


def map_json(minutes=5):
    proc = lab("map", "--format", "json", "--minutes", str(minutes))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def assert_map(data):
    nodes = {n["name"]: n for n in data["nodes"]}
    dbs = [n for n, v in nodes.items() if v["type"] == "database"]
    assert {"PetSite", "PetAdoptionsHistory"} <= set(nodes) and dbs, nodes
    edges = {(e["source"], e["target"]) for e in data["edges"]}
    assert ("PetSite", "PetAdoptionsHistory") in edges
    assert ("PetAdoptionsHistory", dbs[0]) in edges
    assert nodes["PetAdoptionsHistory"]["requests"] > 0


def wait_map():
    def fetch():
        data = map_json()
        try:
            assert_map(data)
            return data
        except AssertionError:
            return None
    return poll(fetch, 90, interval_s=5, what="a map with PetSite, PetAdoptionsHistory and the database")


def verify_fails_naming_the_stopped_collector():
    assert lab("stop", "collector").returncode == 0
    try:
        proc = lab("verify", "--timeout", "15", "--minutes", "0.2")
        assert proc.returncode == 1
        (line,) = [l for l in proc.stderr.splitlines() if l.startswith("lab: verify failed")]
        assert "collector" in line
        assert "Traceback" not in proc.stderr
    finally:
        assert lab("start", "collector").returncode == 0


# --- emulated -------------------------------------------------------------------------------

def test_emulated_map_insights_dashboard_verify(emulated_lab):
    petsite = petsite_url("emulated")
    aws = EmulatorClient(emulated_lab.moto, emulated_lab.region)
    burst(petsite)
    assert_map(wait_map())

    # history cleared by the burst: after the next scrapes, no row passes 90
    t0 = time.time()
    time.sleep(45)
    _, rows = insights.run_emulated(aws, insights.DEFAULT_QUERY, t0, time.time(), LOG_GROUP)
    assert rows == []
    # adoptions + housekeeping through PetSite take the history past 90
    assert call(petsite + "/api/adoptions?count=100", "POST")[0] == 201
    assert call(petsite + "/api/housekeeping", "POST")[0] == 200
    rows = poll(lambda: insights.run_emulated(aws, insights.DEFAULT_QUERY, t0, time.time(), LOG_GROUP)[1],
                120, interval_s=5, what="insights rows with transactions_history_count > 90")
    assert all(float(r[1]) > 90 for r in rows)
    proc = lab("insights", "--minutes", "5")
    assert proc.returncode == 0 and "transactions_history_count" in proc.stdout
    assert lab("insights", "stats count(*)").returncode == 1

    proc = lab("dashboard")
    assert proc.returncode == 0 and "PutDashboard PetAdoptionsHistory" in proc.stdout
    assert "transactions_history_count" in aws.get_dashboard("PetAdoptionsHistory")

    burst(petsite, 1)
    proc = lab("verify", "--timeout", "90")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    verify_fails_naming_the_stopped_collector()


# --- local ----------------------------------------------------------------------------------

def test_local_map_dashboard_verify(local_lab):
    petsite = petsite_url("local")
    burst(petsite)
    assert_map(wait_map())
    # the dashboard names only metrics the service really exposes
    with urllib.request.urlopen(local_lab.pethistory + "/metrics", timeout=10) as resp:
        exposed = {l.split()[2] for l in resp.read().decode().splitlines() if l.startswith("# TYPE")}
    assert set(dashboard.metric_names(dashboard.load())) <= exposed
    proc = lab("dashboard", "--minutes", "5")
    assert proc.returncode == 0 and "transactions_history_count" in proc.stdout
    proc = lab("verify", "--timeout", "90")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Jaeger's Monitor tab data: span metrics in Prometheus
    def spm():
        _, body = get(local_lab.prometheus + "/api/v1/query?query=traces_span_metrics_calls_total")
        return [r for r in body["data"]["result"] if r["metric"].get("service_name") == "PetAdoptionsHistory"]
    poll(spm, 90, what="span metrics of PetAdoptionsHistory in Prometheus")
    verify_fails_naming_the_stopped_collector()


def test_console_page_in_headless_chromium(local_lab, tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    addr = published(labcompose.config("local"), "console", 8070)
    if addr is None or not os.path.exists("/usr/bin/chromedriver"):
        pytest.skip("no console service or no chromium-driver")
    burst(petsite_url("local"), 2)
    wait_map()
    opts = webdriver.ChromeOptions()
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,1500"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        driver.get(f"http://{addr}/")
        nodes = {g.get_attribute("data-name") for g in driver.find_elements(By.CSS_SELECTOR, "#map g.node")}
        assert {"PetSite", "PetAdoptionsHistory", "adoptions"} <= nodes
        assert len(driver.find_elements(By.CSS_SELECTOR, "#metrics svg.chart")) == 2
        assert driver.find_elements(By.CSS_SELECTOR, "#metrics polyline.series")
        assert driver.find_elements(By.CSS_SELECTOR, "#recent code.trace")
        assert driver.find_elements(By.CSS_SELECTOR, "#insights-panel table")
        assert not driver.find_elements(By.CSS_SELECTOR, ".error")
        # Into the test's own folder, not docs/console.png: a test run must leave the checkout as it was.
        assert driver.save_screenshot(str(tmp_path / "console.png"))
    finally:
        driver.quit()
