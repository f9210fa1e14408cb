"""Each overlay builds with kustomize and every object it renders is valid for Kubernetes
1.32 (strict: unknown fields fail); the collector gets exactly the collector/ files compose
mounts, and the configuration it is started with is accepted by the collector itself."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import kustomize_tool
from conftest import KIND, OVERLAYS, ROOT, collector_validate, containers_by_name, generated, one

K8S_VERSION = "1.32.0"
COLLECTOR_FILES = ["base.yaml", "scrape-k8s.yaml", "aws.yaml", "local.yaml"]
BACKEND = {"kind": "local", "eks": "aws"}


def kubernetes_validate(path):
    exe = Path(sys.executable).parent / "kubernetes-validate"
    exe = str(exe) if exe.exists() else shutil.which("kubernetes-validate")
    if exe is None:
        pytest.fail("kubernetes-validate is not installed (it is in tests/requirements.lock)")
    return subprocess.run([exe, "-k", K8S_VERSION, "--strict", "--quiet", str(path)],
                          capture_output=True, text=True, timeout=120)


def test_overlay_validates_against_kubernetes_1_32_strict(rendered, overlay, tmp_path):
    out = tmp_path / f"{overlay}.yaml"
    out.write_text(rendered[overlay])
    proc = kubernetes_validate(out)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_validator_rejects_an_unknown_field(tmp_path):
    """Guards the test above: strict validation really rejects what Kubernetes would."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {portz: [1]}\n")
    assert kubernetes_validate(bad).returncode != 0


def test_eks_with_the_cluster_info_component_builds_and_validates(kustomize_cmd, tmp_path):
    eks = OVERLAYS["eks"]
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [os.path.relpath(eks, tmp_path)],
        "components": [os.path.relpath(eks / "cluster-info", tmp_path)],
    }))
    text = kustomize_tool.build(kustomize_cmd, tmp_path)
    docs = [d for d in yaml.safe_load_all(text) if d]
    role = [d for d in docs if d["kind"] == "Role" and d["metadata"]["namespace"] == "amazon-cloudwatch"]
    assert len(role) == 1
    out = tmp_path / "eks-cluster-info.yaml"
    out.write_text(text)
    proc = kubernetes_validate(out)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_base_alone_builds(kustomize_cmd):
    kustomize_tool.build(kustomize_cmd, KIND / "base")


def test_collector_configmap_holds_the_collector_files_verbatim(manifests, overlay):
    data = generated(manifests[overlay], "collector-config")["data"]
    assert sorted(data) == sorted(COLLECTOR_FILES)
    for name in COLLECTOR_FILES:
        assert data[name] == (ROOT / "collector" / name).read_text(), name


def test_collector_runs_the_layers_in_composes_order_with_k8s_discovery(manifests, overlay):
    docs = manifests[overlay]
    _, pod, collector = containers_by_name(docs)["collector"]
    assert collector["args"] == [
        "--config=/etc/otelcol/base.yaml",
        "--config=/etc/otelcol/scrape-k8s.yaml",
        "--config=/etc/otelcol/aws.yaml",
        "--config=/etc/otelcol/$(LAB_BACKEND).yaml",
    ]
    env = {e["name"]: e for e in collector["env"]}
    assert env["LAB_BACKEND"]["valueFrom"]["configMapKeyRef"]["key"] == "LAB_BACKEND"
    assert generated(docs, "lab-env")["data"]["LAB_BACKEND"] == BACKEND[overlay]
    (mount,) = [m for m in collector["volumeMounts"] if m["mountPath"] == "/etc/otelcol"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["configMap"]["name"] == generated(docs, "collector-config")["metadata"]["name"]


def test_deployed_collector_config_is_accepted_by_the_collector(manifests, overlay, collector_bin, tmp_path, monkeypatch):
    """The files as mounted in the pod, with the args as Kubernetes expands them."""
    docs = manifests[overlay]
    for name, text in generated(docs, "collector-config")["data"].items():
        (tmp_path / name).write_text(text)
    lab_env = generated(docs, "lab-env")["data"]
    _, _, collector = containers_by_name(docs)["collector"]
    files = [str(tmp_path / a.split("/")[-1].replace("$(LAB_BACKEND)", lab_env["LAB_BACKEND"]))
             for a in collector["args"]]
    monkeypatch.setenv("POD_NAME", "pethistory-0")  # the downward API value in the pod
    proc = collector_validate(collector_bin, files)
    assert proc.returncode == 0, proc.stderr + proc.stdout


def test_local_backends_get_the_repos_config_files(manifests):
    docs = manifests["kind"]
    assert generated(docs, "jaeger-config")["data"] == {"config.yaml": (ROOT / "jaeger" / "config.yaml").read_text()}
    assert generated(docs, "prometheus-config")["data"] == {
        "prometheus.yml": (ROOT / "prometheus" / "prometheus.yml").read_text()}


def test_lab_env_is_dotenv(manifests, overlay):
    """.env is the one source of pins and tunables: every key reaches the ConfigMap as written."""
    data = generated(manifests[overlay], "lab-env")["data"]
    for line in (ROOT / ".env").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            if key not in ("LAB_BACKEND", "AWS_REGION"):  # the overlays' own (kind/README.md)
                assert data[key] == value, key


def test_namespace_enforces_the_restricted_pod_security_standard(manifests, overlay):
    labels = one(manifests[overlay], "Namespace", "petlab")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_pethistory_service_is_the_walkthroughs_nodeport(manifests, overlay):
    svc = one(manifests[overlay], "Service", "pethistory-service")
    assert svc["spec"]["type"] == "NodePort"
    (port,) = svc["spec"]["ports"]
    assert (port["port"], port["nodePort"]) == (8080, 30303)
    assert svc["spec"]["selector"] == {"app.kubernetes.io/name": "pethistory"}


def test_everything_but_rbac_for_the_detector_lives_in_the_lab_namespace(manifests, overlay):
    for doc in manifests[overlay]:
        if doc["kind"] in ("Namespace",):
            continue
        ns = doc["metadata"].get("namespace")
        if doc["metadata"]["name"] == "petlab-pethistory-eks-detector":
            assert ns == "kube-system"
        else:
            assert ns == "petlab", f"{doc['kind']}/{doc['metadata']['name']} in {ns}"
