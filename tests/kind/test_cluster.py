"""The kind overlay on a real cluster: `scripts/lab kind up` brings every pod to Ready under the
restricted Pod Security Standard; a request with a known traceparent reaches Jaeger with the
service's server, custom and database spans; Prometheus has transactions_history_count with the
pod_name and container_name the collector sidecar's Kubernetes pod discovery gives (the
walkthrough's scrape config, not compose's); the map has PetSite -> PetAdoptionsHistory; and
`scripts/lab kind down` leaves no cluster and no port-forward behind.

Runs when kind and kubectl are on PATH and the node image (KIND_NODE_IMAGE, .env) is already in
the Docker engine: it pulls nothing. LAB_KIND_E2E=required (CI) fails instead of skipping,
off skips. The ports are compose's, so it holds the lab lock (labcli.lablock) like tests/lab.
"""
import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import ROOT, dotenv
from labcli import lablock, servicemap, verify
from labcli.endpoints import Endpoints, get_json
from labtest.docker_memory import container_memory
from labtest.lab_http import get, new_trace_id, poll, traced_get, traffic

pytestmark = pytest.mark.kind_e2e

LAB = ROOT / "scripts" / "lab"
NAMESPACE = "petlab"
HISTORY = "PetAdoptionsHistory"
URLS = Endpoints(backend="local", jaeger="http://127.0.0.1:16686", prometheus="http://127.0.0.1:9090",
                 pethistory="http://127.0.0.1:8080", petsite="http://127.0.0.1:8000")


def kubectl(*args):
    return subprocess.run(["kubectl", "--context", "kind-petlab", *args], capture_output=True, text=True,
                          check=True, timeout=120).stdout


def lab(*args, timeout=900):
    return subprocess.run([str(LAB), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def node_image():
    return os.environ.get("KIND_NODE_IMAGE") or dotenv()["KIND_NODE_IMAGE"]


def unavailable():
    """Why this machine cannot run the kind lab without pulling anything, or None."""
    missing = [tool for tool in ("kind", "kubectl", "docker") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not on PATH"
    probe = subprocess.run(["docker", "image", "inspect", node_image()], capture_output=True)
    if probe.returncode != 0:
        return f"node image {node_image()} not in the Docker engine (this test pulls nothing)"
    return None


@pytest.fixture(scope="module")
def kind_lab():
    mode = os.environ.get("LAB_KIND_E2E", "auto")
    if mode == "off":
        pytest.skip("LAB_KIND_E2E=off")
    reason = unavailable()
    if reason:
        if mode == "required":
            pytest.fail(f"LAB_KIND_E2E=required but {reason}")
        pytest.skip(reason)
    lock = lablock.acquire(float(os.environ.get("LAB_E2E_LOCK_WAIT", "900")))
    started = time.monotonic()
    up = lab("kind", "up")
    try:
        assert up.returncode == 0, f"scripts/lab kind up failed:\n{up.stderr[-4000:]}"
        ready = time.monotonic() - started
        nodes = [c for c in container_memory(["petlab-control-plane"]).values()]
        print(f"\nkind lab: every Deployment available {ready:.0f} s after `scripts/lab kind up` started; "
              f"node memory {nodes[0]:.0f} MiB\n{up.stderr}")
        yield {"ready_seconds": ready, "up": up}
    finally:
        down = lab("kind", "down", timeout=300)
        if lock:
            lock.close()
        assert down.returncode == 0, down.stderr


def test_every_pod_is_ready_in_a_namespace_that_enforces_the_restricted_standard(kind_lab):
    namespace = json.loads(kubectl("get", "namespace", NAMESPACE, "-o", "json"))
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    pods = json.loads(kubectl("-n", NAMESPACE, "get", "pods", "-o", "json"))["items"]
    names = {p["metadata"]["labels"].get("app.kubernetes.io/name") for p in pods}
    assert {"pethistory", "petsite-stub", "postgres", "jaeger", "prometheus", "loadgen", "console"} <= names, names
    not_ready = [p["metadata"]["name"] for p in pods
                 if not any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))]
    assert not_ready == []


def test_a_request_with_a_known_traceparent_reaches_jaeger_with_the_services_spans(kind_lab):
    trace_id = new_trace_id()
    assert traced_get(URLS.pethistory, trace_id) == 200   # NodePort 30303, published on 127.0.0.1:8080

    def spans():
        ok, detail = verify.jaeger_spans(get(f"{URLS.jaeger}/api/traces/{trace_id}")[1]["data"][0], trace_id)
        return ok and detail
    poll(spans, 90, interval_s=3, what=f"trace {trace_id} with server, custom and db spans in Jaeger")


def test_prometheus_labels_the_gauge_with_the_pod_kubernetes_discovery_found(kind_lab):
    pods = json.loads(kubectl("-n", NAMESPACE, "get", "pods", "-l", "app.kubernetes.io/name=pethistory",
                              "-o", "json"))["items"]
    (pod,) = [p["metadata"]["name"] for p in pods]
    query = 'transactions_history_count{container_name="pethistory"}'

    def series():
        return get_json(URLS.prometheus, "/api/v1/query", {"query": query})["data"]["result"]
    (found,) = poll(series, 150, interval_s=5, what=f"{query} in Prometheus")
    assert found["metric"]["pod_name"] == pod and found["metric"]["container_name"] == "pethistory", found


def test_the_map_shows_petsite_calling_the_history_service(kind_lab):
    assert set(traffic(URLS.petsite, 3, workers=2)) == {200}

    def edge():
        graph = servicemap.collect(URLS, 2)
        return ("PetSite", HISTORY) in graph.edges and graph
    graph = poll(edge, 90, interval_s=3, what="the edge PetSite -> PetAdoptionsHistory in the map")
    assert any(v["type"] == servicemap.DATABASE for v in graph.nodes.values()), graph.nodes


def test_lab_kind_down_leaves_no_cluster_and_no_port_forward(kind_lab):
    down = lab("kind", "down", timeout=300)
    assert down.returncode == 0, down.stderr
    clusters = subprocess.run(["kind", "get", "clusters"], capture_output=True, text=True, check=True).stdout
    assert "petlab" not in clusters.split()
    forwards = subprocess.run(["pgrep", "-f", "kubectl --context kind-petlab"], capture_output=True, text=True)
    assert forwards.stdout.strip() == "", forwards.stdout
    status = lab("kind", "status", timeout=60)
    assert status.returncode == 0 and "No kind cluster petlab" in status.stdout
