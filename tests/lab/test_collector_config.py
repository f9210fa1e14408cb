"""The collector layers: each combination a deployment uses is accepted by the collector
binary itself (`validate`), and the merged result keeps the walkthrough's settings."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from labtest.checkout import dotenv
from labtest.collector_binary import collector_bin, validate  # noqa: F401 (collector_bin is a fixture)
from labtest.collector_layers import BACKENDS, COLLECTOR, ROOT, combination, discovery_layers, effective

COMBINATIONS = [combination(d, b) for d in discovery_layers() for b in BACKENDS]
IDS = ["+".join(Path(f).stem for f in c) for c in COMBINATIONS]


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


# --- relabel rules, applied as Prometheus applies them ---------------------------------------
# A keep rule with its pattern in `target_label` (the workshop's bug) is valid config: the
# collector's `validate` accepts it and its default regex `(.*)` keeps every target. So the
# rules are run here on candidate targets, with Prometheus's semantics (model/relabel): the
# source labels joined by `separator` (";"), the regex anchored at both ends, `replace`
# writing `replacement` (default "$1") to `target_label` when the regex matches.
RELABEL_DEFAULTS = {"separator": ";", "regex": "(.*)", "replacement": "$1", "action": "replace"}


def relabel(labels, rules):
    """The target's labels after `rules`, or None when a rule drops it."""
    labels = dict(labels)
    for rule in rules:
        rule = {**RELABEL_DEFAULTS, **rule}
        value = rule["separator"].join(labels.get(name, "") for name in rule.get("source_labels", []))
        match = re.fullmatch(rule["regex"], value)
        action = rule["action"]
        if action == "keep" and not match:
            return None
        if action == "drop" and match:
            return None
        if action == "replace" and match:
            target = re.sub(r"\$\{?(\w+)\}?", lambda m: f"\\g<{m.group(1)}>", rule["replacement"])
            labels[rule["target_label"]] = match.expand(target)
        elif action not in ("keep", "drop", "replace"):
            raise NotImplementedError(f"relabel action {action} is not simulated here")
    return labels


def scrape_layers():
    """Every collector/*.yaml that defines prometheus scrape configs, with its jobs."""
    out = {}
    for path in sorted(COLLECTOR.glob("*.yaml")):
        jobs = (effective([path.name]).get("receivers", {}).get("prometheus", {})
                .get("config", {}).get("scrape_configs", []))
        if jobs:
            out[path.name] = jobs
    return out


def compose_candidates(job):
    """The static targets of the job, plus look-alikes on another port or container."""
    for static in job.get("static_configs", []):
        for address in static["targets"]:
            host = address.rsplit(":", 1)[0]
            base = dict(static.get("labels", {}))
            yield {**base, "__address__": address}
            yield {**base, "__address__": f"{host}:9090"}
            yield {**base, "container_name": "collector", "__address__": address}


def k8s_candidates(_job):
    """What role: pod discovery yields for the sidecar pod: one target per declared container
    port (the collector's too), plus a container without ports (its IP only)."""
    ports = {"pethistory": ["8080"], "aws-otel-collector": ["4317", "4318", "13133", "8080"], "init": []}
    for container, numbers in ports.items():
        for number in numbers or [None]:
            target = {"__address__": "10.0.0.7" + (f":{number}" if number else ""),
                      "__meta_kubernetes_namespace": "petlab",
                      "__meta_kubernetes_pod_name": "pethistory-deployment-5c9d-x2x",
                      "__meta_kubernetes_pod_container_name": container}
            if number:
                target["__meta_kubernetes_pod_container_port_number"] = number
            yield target


def candidates(job):
    if job.get("kubernetes_sd_configs"):
        assert [sd["role"] for sd in job["kubernetes_sd_configs"]] == ["pod"], job["job_name"]
        return list(k8s_candidates(job))
    return list(compose_candidates(job))


def test_the_collector_layers_have_scrape_configs():
    """Guards the parametrized tests below against an empty list (a renamed file or key)."""
    assert {"scrape-compose.yaml", "scrape-k8s.yaml"} <= set(scrape_layers())


@pytest.mark.parametrize("layer", sorted(scrape_layers()))
def test_keep_rules_carry_their_pattern_in_regex(layer):
    for job in scrape_layers()[layer]:
        keeps = [r for r in job.get("relabel_configs", []) if r.get("action") == "keep"]
        assert keeps, f"{layer}: job {job['job_name']} has no keep rule"
        for rule in keeps:
            assert "regex" in rule and "target_label" not in rule, f"{layer}: {rule}"
            assert rule.get("source_labels"), f"{layer}: keep rule without source_labels: {rule}"


@pytest.mark.parametrize("layer", sorted(scrape_layers()))
def test_relabelling_keeps_only_pethistory_port_8080_with_both_dimensions(layer):
    for job in scrape_layers()[layer]:
        kept = [out for out in (relabel(t, job["relabel_configs"]) for t in candidates(job)) if out]
        assert len(kept) == 1, f"{layer}: {len(kept)} targets kept, expected pethistory:8080 only: {kept}"
        (target,) = kept
        assert target["__address__"].endswith(":8080"), target
        assert target["container_name"] == "pethistory", target
        assert target["pod_name"] and ":" not in target["pod_name"], target


def test_relabel_simulation_reproduces_the_workshop_bug():
    """Guards the test above: with the pattern in target_label, as the workshop wrote it,
    the keep rules keep every candidate; with `regex`, only pethistory's 8080."""
    job = scrape_layers()["scrape-k8s.yaml"][0]
    workshop = [{"source_labels": r["source_labels"], "target_label": r.get("regex", r.get("target_label")),
                 "action": "keep"}
                if r.get("action") == "keep" else r for r in job["relabel_configs"]]
    every = candidates(job)
    assert len([t for t in every if relabel(t, workshop)]) == len(every) > 1
    assert len([t for t in every if relabel(t, job["relabel_configs"])]) == 1


@pytest.mark.parametrize("files", COMBINATIONS, ids=IDS)
def test_effective_config_scrapes_only_pethistory_8080(files):
    """The merged stack a deployment runs (later layers replace lists) still has exactly the
    discovery layer's job, and it keeps only pethistory's 8080."""
    jobs = effective(files)["receivers"]["prometheus"]["config"]["scrape_configs"]
    assert [j["job_name"] for j in jobs] == ["otel-collector"]
    kept = [t for t in candidates(jobs[0]) if relabel(t, jobs[0]["relabel_configs"])]
    assert len(kept) == 1, kept


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
