"""Shared fixtures of the kind/ tests: the overlays rendered once per session, the documents
by kind, every pod template with its containers, and .env / compose.yaml parsed as compose
reads them. All offline: kustomize (kustomize_tool.py) and the bundled schemas of
kubernetes-validate, plus the collector twin (labtest.collector_binary) for the collector config."""
import re
from pathlib import Path

import pytest
import yaml

import kustomize_tool
# The collector binary (twin with `validate`) fixture and helper tests/lab uses too.
from labtest.collector_binary import collector_bin, validate as collector_validate  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
KIND = ROOT / "kind"
OVERLAYS = {"kind": KIND / "overlays" / "kind", "eks": KIND / "overlays" / "eks"}
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")


def dotenv(path=ROOT / ".env"):
    """KEY=VALUE lines with ${NAME} interpolated from earlier keys, as compose reads .env."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key.strip()] = re.sub(r"\$\{(\w+)\}", lambda m: values.get(m.group(1), ""), value.strip())
    return values


def compose():
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def interpolate(text, env):
    """compose's ${NAME}, ${NAME:-default} and ${NAME-default}."""
    def one(m):
        name, op, default = m.group(1), m.group(2), m.group(3) or ""
        if op == ":-":
            return env.get(name) or default
        if op == "-":
            return env.get(name, default)
        return env[name]
    return re.sub(r"\$\{(\w+)(?:(:?-)([^}]*))?\}", one, str(text))


@pytest.fixture(scope="session")
def kustomize_cmd():
    try:
        return kustomize_tool.build_command()
    except kustomize_tool.ToolMissing as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def rendered(kustomize_cmd):
    """overlay name -> the YAML stream kustomize renders for it."""
    return {name: kustomize_tool.build(kustomize_cmd, path) for name, path in OVERLAYS.items()}


@pytest.fixture(scope="session")
def manifests(rendered):
    """overlay name -> list of documents."""
    return {name: [d for d in yaml.safe_load_all(text) if d] for name, text in rendered.items()}


@pytest.fixture(params=sorted(OVERLAYS))
def overlay(request):
    return request.param


def find(docs, kind, name=None):
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    return found


def one(docs, kind, name):
    found = find(docs, kind, name)
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def generated(docs, name):
    """A generated ConfigMap by its name before the hash suffix."""
    found = [d for d in docs if d["kind"] == "ConfigMap" and re.fullmatch(rf"{name}-[a-z0-9]{{10}}", d["metadata"]["name"])]
    assert len(found) == 1, f"expected one generated ConfigMap {name}-<hash>, found {len(found)}"
    return found[0]


def pod_templates(docs):
    """(workload name, pod spec) of every workload."""
    for doc in docs:
        if doc["kind"] in WORKLOAD_KINDS:
            spec = doc["spec"]
            if doc["kind"] == "CronJob":
                spec = spec["jobTemplate"]["spec"]
            yield doc["metadata"]["name"], spec["template"]["spec"]


def all_containers(pod):
    """Init containers (the collector is a native sidecar there) and containers."""
    return list(pod.get("initContainers", [])) + list(pod.get("containers", []))


def containers_by_name(docs):
    """container name -> (workload, pod spec, container); names are unique across the lab."""
    out = {}
    for workload, pod in pod_templates(docs):
        for container in all_containers(pod):
            assert container["name"] not in out, f"container name {container['name']} used twice"
            out[container["name"]] = (workload, pod, container)
    return out
