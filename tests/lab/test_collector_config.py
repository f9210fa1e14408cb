"""The collector layers: each combination a deployment uses is accepted by the collector
binary itself (`validate`), and the merged result keeps the walkthrough's settings."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from collector_layers import BACKENDS, COLLECTOR, ROOT, combination, discovery_layers, effective

COMBINATIONS = [combination(d, b) for d in discovery_layers() for b in BACKENDS]
IDS = ["+".join(Path(f).stem for f in c) for c in COMBINATIONS]


def dotenv(key):
    for line in (ROOT / ".env").read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() == key:
            return value.strip()
    raise KeyError(key)


@pytest.fixture(scope="session")
def collector_bin(tmp_path_factory):
    """A collector binary with `validate`: $LAB_COLLECTOR_BIN, else the ocb-built twin copied
    out of the collector image named in .env (docker create + docker cp). The real ADOT
    binary has no `validate`; the CI stand-in keeps the twin at /otelcol-twin behind its
    /awscollector entrypoint wrapper."""
    path = os.environ.get("LAB_COLLECTOR_BIN")
    if path:
        if not os.access(path, os.X_OK):
            pytest.fail(f"LAB_COLLECTOR_BIN={path} is not an executable file")
        return path
    image = dotenv("COLLECTOR_IMAGE")
    if shutil.which("docker") is None:
        pytest.skip(f"no LAB_COLLECTOR_BIN and no docker client to extract /awscollector from {image}")
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0:
        pytest.skip(f"no LAB_COLLECTOR_BIN and image {image} is not built here (.ci/images builds it)")
    cid = subprocess.run(["docker", "create", image], capture_output=True, text=True, check=True).stdout.strip()
    try:
        dest = tmp_path_factory.mktemp("collector") / "otelcol"
        for inside in ("/otelcol-twin", "/awscollector"):
            if subprocess.run(["docker", "cp", f"{cid}:{inside}", str(dest)], capture_output=True).returncode == 0:
                break
        else:
            pytest.skip(f"{image} holds neither /otelcol-twin nor /awscollector")
    finally:
        subprocess.run(["docker", "rm", cid], capture_output=True)
    return str(dest)


def validate(binary, files):
    env = dict(os.environ, AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
    args = [binary, "validate"] + [f"--config={COLLECTOR / f}" for f in files]
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize("files", COMBINATIONS, ids=IDS)
def test_collector_accepts_layer_combination(collector_bin, files):
    proc = validate(collector_bin, files)
    assert proc.returncode == 0, proc.stderr + proc.stdout


@pytest.mark.parametrize("files", [["base.yaml"], ["base.yaml", "scrape-compose.yaml"]],
                         ids=["base", "base+scrape-compose"])
def test_partial_stacks_validate_on_their_own(collector_bin, files):
    proc = validate(collector_bin, files)
    assert proc.returncode == 0, proc.stderr + proc.stdout


def test_collector_rejects_a_broken_layer(collector_bin, tmp_path):
    """Guards the test above: validate really checks (an unknown exporter must fail)."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("service:\n  pipelines:\n    traces:\n      exporters: [nosuchexporter]\n")
    proc = validate(collector_bin, ["base.yaml", str(bad)])
    assert proc.returncode != 0


@pytest.mark.parametrize("files", COMBINATIONS, ids=IDS)
def test_every_pipeline_has_memory_limiter_batch_and_health_check(files):
    cfg = effective(files)
    assert "health_check" in cfg["service"]["extensions"]
    for name, pipeline in cfg["service"]["pipelines"].items():
        assert pipeline["processors"][0] == "memory_limiter", name
        assert pipeline["processors"][-1].split("/")[0] == "batch", name
    # Traces are batched for at most a second (the first trace soon after `lab up`).
    assert cfg["processors"]["batch/traces"]["timeout"] == "1s"
    assert cfg["service"]["pipelines"]["traces"]["processors"][-1] == "batch/traces"


@pytest.mark.parametrize("backend,traces,metrics", [
    ("local", ["otlp/jaeger"], ["prometheus"]),
    ("emulated", ["awsxray"], ["awsemf"]),
    ("aws", ["awsxray"], ["awsemf"]),
])
def test_backend_layer_routes_pipelines(backend, traces, metrics):
    cfg = effective(combination("scrape-compose.yaml", backend))
    pipelines = cfg["service"]["pipelines"]
    assert pipelines["traces"]["exporters"] == traces
    assert pipelines["metrics"]["exporters"] == metrics
    assert pipelines["traces"]["receivers"] == ["otlp"]
    assert set(pipelines["metrics"]["receivers"]) == {"otlp", "prometheus"}


def test_emulated_points_only_the_endpoints_at_moto():
    aws = effective(combination("scrape-compose.yaml", "aws"))
    emulated = effective(combination("scrape-compose.yaml", "emulated"))
    for exporter in ("awsxray", "awsemf"):
        assert "endpoint" not in aws["exporters"][exporter]
        assert "moto:4566" in emulated["exporters"][exporter]["endpoint"]
        rest = {k: v for k, v in emulated["exporters"][exporter].items() if k not in ("endpoint", "no_verify_ssl")}
        assert rest == aws["exporters"][exporter]


def test_awsemf_matches_the_walkthrough():
    emf = effective(combination("scrape-compose.yaml", "aws"))["exporters"]["awsemf"]
    assert emf["namespace"] == "PetAdoptionsHistory"
    assert emf["log_group_name"] == "/metrics/PetAdoptionsHistory"
    assert emf["dimension_rollup_option"] == "NoDimensionRollup"
    assert emf["resource_to_telemetry_conversion"] == {"enabled": True}
    (declaration,) = emf["metric_declarations"]
    assert declaration["dimensions"] == [["pod_name", "container_name"]]
    assert declaration["label_matchers"] == [{"label_names": ["container_name"], "regex": "^pethistory$"}]
    assert declaration["metric_name_selectors"] == [
        "^transactions_get_count_total$", "^transactions_history_count$", "^process_.*",
        "^python_gc_.*", "^flask_http_request_.*", "^flask_exporter_info$", "^python_info$",
    ]


def test_scrape_matches_the_walkthrough_with_fixed_keep_rules():
    cfg = effective(["base.yaml", "scrape-compose.yaml"])
    (job,) = cfg["receivers"]["prometheus"]["config"]["scrape_configs"]
    assert job["job_name"] == "otel-collector"
    assert (job["scrape_interval"], job["scrape_timeout"]) == ("20s", "10s")
    for rule in job["relabel_configs"]:
        if rule["action"] == "keep":
            assert "regex" in rule and "target_label" not in rule, rule
    targets = {r.get("target_label") for r in job["relabel_configs"]}
    labels = {k for sc in job.get("static_configs", []) for k in sc.get("labels", {})}
    assert {"pod_name", "container_name"} <= targets | labels


def test_no_layer_uses_a_component_missing_from_adot():
    """ADOT v0.49.0 has no connectors and no `logging` exporter."""
    for path in COLLECTOR.glob("*.yaml"):
        cfg = effective([path.name])
        assert "connectors" not in cfg, path.name
        assert "logging" not in cfg.get("exporters", {}), path.name


def test_every_layer_says_how_it_is_combined():
    for path in COLLECTOR.glob("*.yaml"):
        head = path.read_text().split("\n\n", 1)[0]
        assert "--config=" in head, f"{path.name}: header names no --config combination"
        assert "REPLACE" in head, f"{path.name}: header does not warn that lists are replaced"


def test_jaeger_accepts_its_config(tmp_path):
    """jaeger/config.yaml validated by the jaeger binary of the image named in .env."""
    image = dotenv("JAEGER_IMAGE")
    if shutil.which("docker") is None or subprocess.run(
            ["docker", "image", "inspect", image], capture_output=True).returncode != 0:
        pytest.skip(f"image {image} is not available here")
    cid = subprocess.run(["docker", "create", image], capture_output=True, text=True, check=True).stdout.strip()
    try:
        binary = tmp_path / "jaeger"
        subprocess.run(["docker", "cp", f"{cid}:/cmd/jaeger/jaeger-linux", str(binary)], check=True, capture_output=True)
    finally:
        subprocess.run(["docker", "rm", cid], capture_output=True)
    proc = subprocess.run([str(binary), "validate", f"--config={ROOT / 'jaeger' / 'config.yaml'}"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
