"""compose.yaml and .env: schema-valid, every image pinned in .env, loopback-only ports,
a memory limit and a healthcheck on every service, one switch (LAB_BACKEND) for backends."""
import json
import re
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from labcli import awscreds
from labcli import compose as labcompose
from labtest.checkout import ROOT

COMPOSE = ROOT / "compose.yaml"
RAW = yaml.safe_load(COMPOSE.read_text())
SERVICES = sorted(RAW["services"])
DOTENV = dict(
    line.split("=", 1) for line in (ROOT / ".env").read_text().splitlines()
    if line.strip() and not line.lstrip().startswith("#")
)


def compose_config(backend):
    if shutil.which("docker") is None or subprocess.run(
            ["docker", "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("docker compose v2 is not installed")
    env = {"LAB_BACKEND": backend, "COMPOSE_PROFILES": backend}
    proc = subprocess.run(["docker", "compose", "--project-directory", str(ROOT), "config", "--format", "json"],
                          capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **env})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_compose_file_matches_the_compose_specification():
    pytest.importorskip("check_jsonschema", reason="check-jsonschema is not installed")
    proc = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
                           str(COMPOSE)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_image_comes_from_dotenv_and_is_pinned(service):
    ref = RAW["services"][service]["image"]
    match = re.fullmatch(r"\$\{(\w+)\}", ref)
    assert match, f"{service}: image {ref!r} is not a single .env variable"
    value = DOTENV[match.group(1)]
    value = re.sub(r"\$\{(\w+)\}", lambda m: DOTENV[m.group(1)], value)
    name, _, tag = value.rpartition(":")
    assert name and tag and "/" not in tag, f"{service}: {value!r} has no tag"
    assert tag != "latest", f"{service}: {value!r} is unpinned"


@pytest.mark.parametrize("service", SERVICES)
def test_service_has_memory_limit_and_healthcheck(service):
    svc = RAW["services"][service]
    assert svc.get("mem_limit"), f"{service}: no mem_limit"
    assert svc.get("healthcheck", {}).get("test"), f"{service}: no healthcheck"
    assert not svc["healthcheck"].get("disable"), f"{service}: healthcheck disabled"


@pytest.mark.parametrize("service", SERVICES)
def test_ports_are_published_on_loopback_from_dotenv(service):
    for port in RAW["services"][service].get("ports", []):
        assert port.startswith("${LAB_BIND}:${"), f"{service}: {port!r}"
    assert DOTENV["LAB_BIND"] == "127.0.0.1"


def test_project_images_build_with_host_network():
    for name, svc in RAW["services"].items():
        if "build" in svc:
            assert svc["build"].get("network") == "host", name


def test_only_the_schema_dependency_waits_for_health():
    """Everything starts at once (the first trace within seconds of `lab up`) except PetSite, which
    writes to tables pethistory creates before its probe passes."""
    waits = {(name, dep): cond["condition"]
             for name, svc in RAW["services"].items()
             for dep, cond in (svc.get("depends_on") or {}).items()}
    assert waits.pop(("petsite-stub", "pethistory")) == "service_healthy"
    assert waits and set(waits.values()) == {"service_started"}, waits
    # Stop order still flushes spans: compose stops pethistory before the collector it depends on.
    assert ("pethistory", "collector") in waits


@pytest.mark.parametrize("backend,present,absent", [
    ("local", {"jaeger", "prometheus"}, {"moto"}),
    ("emulated", {"moto"}, {"jaeger", "prometheus"}),
    ("aws", set(), {"jaeger", "prometheus", "moto"}),
])
def test_lab_backend_alone_picks_services_and_collector_layer(backend, present, absent):
    cfg = compose_config(backend)
    services = set(cfg["services"])
    assert {"postgres", "pethistory", "collector"} | present <= services
    assert not services & absent
    command = cfg["services"]["collector"]["command"]
    assert command[-1] == f"--config=/etc/otelcol/{backend}.yaml"
    assert command[:3] == ["--config=/etc/otelcol/base.yaml", "--config=/etc/otelcol/scrape-compose.yaml",
                           "--config=/etc/otelcol/aws.yaml"]


def test_aws_credentials_are_mounted_read_only_for_user_aoc():
    volumes = RAW["services"]["collector"]["volumes"]
    assert any(v.endswith(":/home/aoc/.aws:ro") for v in volumes)


def test_image_pins_agree_with_the_ci_stand_ins():
    """CI builds stand-ins under the exact tags of .ci/images/versions.env: same pins here."""
    versions = ROOT / ".ci" / "images" / "versions.env"
    if not versions.exists():
        pytest.skip("no .ci/images/versions.env")
    pins = dict(line.split("=", 1) for line in versions.read_text().splitlines()
                if re.match(r"^\w+_IMAGE=", line))
    for key in ("POSTGRES_IMAGE", "PROMETHEUS_IMAGE", "MOTO_IMAGE", "JAEGER_IMAGE", "COLLECTOR_IMAGE"):
        assert DOTENV[key] == pins[key], f"{key}: .env {DOTENV[key]} != versions.env {pins[key]}"


def test_collector_runs_as_aoc_and_as_you_for_the_aws_backend(monkeypatch):
    """.env pins ADOT's uid; `lab` runs the aws backend's collector as the invoking user, who
    owns the mounted ~/.aws (its credentials file is usually 0600)."""
    assert DOTENV["LAB_COLLECTOR_USER"] == "4317:4317"
    compose_config("local")  # skips without docker compose
    monkeypatch.delenv("LAB_COLLECTOR_USER", raising=False)
    monkeypatch.setattr(os, "getuid", lambda: 1234)
    monkeypatch.setattr(os, "getgid", lambda: 1235)
    assert labcompose.config("local")["services"]["collector"]["user"] == "4317:4317"
    assert labcompose.config("aws")["services"]["collector"]["user"] == "1234:1235"
    monkeypatch.setattr(os, "getuid", lambda: 0)  # root's files stay root's: keep aoc, lab up warns
    assert labcompose.config("aws")["services"]["collector"]["user"] == "4317:4317"
    monkeypatch.setenv("LAB_COLLECTOR_USER", "2000:2000")
    assert labcompose.config("aws")["services"]["collector"]["user"] == "2000:2000"


AWS_SHELL = {"AWS_PROFILE": "dev", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "petlab",
             "AWS_SESSION_TOKEN": "token"}


def test_aws_backend_takes_profile_and_credentials_from_the_shell_only_when_set(monkeypatch):
    """collector/env/aws.env: a workshop account's exported credentials or a named profile reach
    the aws backend's collector; unset, nothing is passed (the files' default profile is used);
    the emulator keeps its dummy credentials and ignores the shell's profile."""
    assert sorted(AWS_SHELL) == sorted(awscreds.SHELL_VARIABLES)
    passed = (ROOT / "collector" / "env" / "aws.env").read_text().splitlines()
    assert [line for line in passed if line and not line.startswith("#")] == list(awscreds.SHELL_VARIABLES)
    for name in AWS_SHELL:
        monkeypatch.delenv(name, raising=False)
    env = compose_config("aws")["services"]["collector"]["environment"]
    assert not set(AWS_SHELL) & set(env), env
    for name, value in AWS_SHELL.items():
        monkeypatch.setenv(name, value)
    env = compose_config("aws")["services"]["collector"]["environment"]
    assert {name: env.get(name) for name in AWS_SHELL} == AWS_SHELL
    emulated = compose_config("emulated")["services"]["collector"]["environment"]
    assert emulated["AWS_ACCESS_KEY_ID"] == "petlab" and "AWS_PROFILE" not in emulated
    assert not set(AWS_SHELL) & set(compose_config("local")["services"]["collector"]["environment"])


def test_without_a_home_aws_every_backend_mounts_the_empty_stand_in(monkeypatch, tmp_path):
    """No ~/.aws: scripts/lab mounts collector/no-aws-config rather than let Docker create a
    root-owned ~/.aws; the aws backend then needs a key pair from the shell, and says so."""
    compose_config("local")  # skips without docker compose
    monkeypatch.setattr(labcompose.Path, "home", lambda: tmp_path)  # not HOME: docker finds its plugins there
    monkeypatch.delenv("LAB_AWS_DIR", raising=False)
    for name in AWS_SHELL:
        monkeypatch.delenv(name, raising=False)
    for backend in ("local", "emulated", "aws"):
        (mount,) = [v for v in labcompose.config(backend)["services"]["collector"]["volumes"]
                    if v["target"] == awscreds.AWS_TARGET]
        assert mount["source"] == str(ROOT / "collector" / "no-aws-config"), backend
    (problem,) = awscreds.problems(labcompose.config("aws")["services"]["collector"])
    assert "export a key pair" in problem
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "petlab")
    assert awscreds.problems(labcompose.config("aws")["services"]["collector"]) == []
    assert not (tmp_path / ".aws").exists()
