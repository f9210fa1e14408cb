"""RBAC least privilege: every permission the lab grants is named here with the reason it is
needed; any other verb, resource, namespace or object fails. Nothing is cluster-wide."""
import ast
import copy
import importlib
import inspect
import re
from pathlib import Path

import pytest
import yaml

from conftest import OVERLAYS, all_containers, one, pod_templates

SA = ("petlab", "pethistory-sa")

# (namespace, apiGroup, resource, resourceName or "*", verb) -> why it is needed.
POD_DISCOVERY = {
    ("petlab", "", "pods", "*", "list"):
        "collector prometheus receiver, kubernetes_sd_configs role: pod: the informer's initial list",
    ("petlab", "", "pods", "*", "watch"):
        "the same informer then watches for pods coming and going",
}
EKS_DETECTOR = {
    ("kube-system", "", "configmaps", "aws-auth", "get"):
        "pethistory's AwsEksResourceDetector: reading aws-auth tells EKS from other Kubernetes",
}
CLUSTER_INFO = {
    ("amazon-cloudwatch", "", "configmaps", "cluster-info", "get"):
        "optional component: the detector reads the cluster name from Container Insights' cluster-info",
}
EXPECTED = {"kind": POD_DISCOVERY, "eks": {**POD_DISCOVERY, **EKS_DETECTOR}}


def grants(docs):
    """Every (namespace, group, resource, name, verb) granted to any subject, by subject."""
    roles = {(d["metadata"].get("namespace"), d["metadata"]["name"]): d
             for d in docs if d["kind"] in ("Role", "ClusterRole")}
    out = {}
    for binding in (d for d in docs if d["kind"] in ("RoleBinding", "ClusterRoleBinding")):
        ns = binding["metadata"].get("namespace")
        ref = binding["roleRef"]
        role = roles[(ns if ref["kind"] == "Role" else None, ref["name"])]
        for subject in binding["subjects"]:
            who = (subject.get("namespace"), subject["name"])
            for rule in role["rules"]:
                for group in rule.get("apiGroups", []):
                    for resource in rule.get("resources", []):
                        for name in rule.get("resourceNames", ["*"]):
                            for verb in rule["verbs"]:
                                out.setdefault(who, set()).add((ns, group, resource, name, verb))
    return out


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_pethistory_sa_has_exactly_the_needed_permissions(manifests, overlay):
    granted = grants(manifests[overlay])
    assert set(granted) == {SA}, f"permissions granted to other subjects: {set(granted) - {SA}}"
    extra = granted[SA] - set(EXPECTED[overlay])
    missing = set(EXPECTED[overlay]) - granted[SA]
    assert not extra, f"granted without a reason in this test: {sorted(extra)}"
    assert not missing, f"needed but not granted: {[(g, EXPECTED[overlay][g]) for g in sorted(missing)]}"


def test_cluster_info_component_adds_only_the_cluster_name_read():
    text = (OVERLAYS["eks"] / "cluster-info" / "rbac.yaml").read_text()
    docs = [d for d in yaml.safe_load_all(text) if d]
    assert grants(docs) == {SA: set(CLUSTER_INFO)}


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_nothing_is_cluster_wide_or_wildcarded(manifests, overlay):
    for doc in manifests[overlay]:
        assert doc["kind"] not in ("ClusterRole", "ClusterRoleBinding"), doc["metadata"]["name"]
        for rule in doc.get("rules", []):
            for field in ("apiGroups", "resources", "verbs", "resourceNames"):
                assert "*" not in rule.get(field, []), (doc["metadata"]["name"], rule)


# --- each rule derived from what uses it, in the rendered manifests ---------------------------
READ_VERBS = {"get", "list", "watch"}
# Prometheus kubernetes_sd_configs: what each role's informer lists and watches (discovery/kubernetes).
SD_ROLE_RESOURCES = {"pod": {"pods"}, "service": {"services"}, "node": {"nodes"},
                     "endpoints": {"endpoints", "pods", "services"}, "endpointslice": {"endpointslices", "pods", "services"},
                     "ingress": {"ingresses"}}
CONFIGMAP_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/configmaps/([^/]+)$")


def rules_by_role(docs):
    for doc in docs:
        if doc["kind"] in ("Role", "ClusterRole"):
            for rule in doc.get("rules", []):
                yield f"{doc['metadata'].get('namespace')}/{doc['metadata']['name']}", rule


def collector_scrape_jobs(docs):
    """The scrape jobs of the discovery layer the collector sidecar of pethistory runs, read
    from the rendered collector ConfigMap, and the pod spec that runs it."""
    deployment = one(docs, "Deployment", "pethistory")
    pod = deployment["spec"]["template"]["spec"]
    collector = next(c for c in all_containers(pod) if any("scrape-" in a for a in c.get("args", [])))
    layer = next(a.rsplit("/", 1)[1] for a in collector["args"] if "scrape-" in a)
    (config_map,) = [d for d in docs if d["kind"] == "ConfigMap" and layer in d.get("data", {})]
    jobs = yaml.safe_load(config_map["data"][layer])["receivers"]["prometheus"]["config"]["scrape_configs"]
    return deployment, pod, jobs


def pod_discovery_needs(docs):
    """(namespace, group, resource, name, verb) the collector's kubernetes_sd_configs need."""
    deployment, pod, jobs = collector_scrape_jobs(docs)
    assert pod.get("serviceAccountName") == SA[1]
    own = deployment["metadata"]["namespace"]
    needs = set()
    for job in jobs:
        for sd in job.get("kubernetes_sd_configs", []):
            namespaces = sd.get("namespaces", {})
            assert namespaces.get("own_namespace") is True and not namespaces.get("names"), \
                f"{job['job_name']}: discovery beyond the collector's own namespace would need more than a Role: {sd}"
            for resource in SD_ROLE_RESOURCES[sd["role"]]:
                needs |= {(own, "", resource, "*", verb) for verb in ("list", "watch")}
    return needs


def eks_detector_reads():
    """The configmaps the installed AwsEksResourceDetector GETs (namespace, name), found in its
    source: the API paths it requests."""
    source = Path(inspect.getsourcefile(importlib.import_module("opentelemetry.sdk.extension.aws.resource.eks")))
    found = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = CONFIGMAP_PATH.match(node.value)
            if match:
                found.add(match.groups())
    assert found, f"{source}: no configmap path found; has the detector changed?"
    return found


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_every_rule_is_a_read_of_core_pods_or_named_configmaps(manifests, overlay):
    rules = list(rules_by_role(manifests[overlay]))
    assert rules
    for role, rule in rules:
        assert rule.get("apiGroups") == [""], f"{role}: {rule}"
        assert set(rule["verbs"]) <= READ_VERBS, f"{role}: write verbs {set(rule['verbs']) - READ_VERBS}"
        assert set(rule["resources"]) <= {"pods", "configmaps"}, f"{role}: {rule}"
        assert not ("pods" in rule["resources"] and "configmaps" in rule["resources"]), f"{role}: one need per rule"
        if "configmaps" in rule["resources"]:
            assert rule.get("resourceNames") and rule["verbs"] == ["get"], \
                f"{role}: configmaps only by name and only get: {rule}"
        if "pods" in rule["resources"]:
            assert "get" not in rule["verbs"], f"{role}: pod discovery lists and watches, it never gets one pod"


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_pod_grants_are_exactly_what_the_collector_discovery_needs(manifests, overlay):
    granted = {g for g in grants(manifests[overlay]).get(SA, set()) if g[2] != "configmaps"}
    assert granted == pod_discovery_needs(manifests[overlay])


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_configmap_grants_are_reads_the_eks_detector_makes(manifests, overlay):
    granted = {(g[0], g[3]) for g in grants(manifests[overlay]).get(SA, set()) if g[2] == "configmaps"}
    assert granted <= eks_detector_reads(), f"configmap reads no detector makes: {granted - eks_detector_reads()}"
    # Only EKS has aws-auth; kind's detector gets 403/404 either way, so kind grants none.
    assert bool(granted) == (overlay == "eks")


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_every_role_is_bound_and_only_to_pethistory_sa(manifests, overlay):
    docs = manifests[overlay]
    bound = {(d["metadata"].get("namespace"), d["roleRef"]["name"])
             for d in docs if d["kind"] in ("RoleBinding", "ClusterRoleBinding")}
    roles = {(d["metadata"].get("namespace"), d["metadata"]["name"]) for d in docs if d["kind"] in ("Role", "ClusterRole")}
    assert roles == bound, f"unbound roles {roles - bound}, bindings to missing roles {bound - roles}"
    runs_as_sa = [name for name, pod in pod_templates(docs) if pod.get("serviceAccountName") == SA[1]]
    assert runs_as_sa == ["pethistory"], runs_as_sa


def test_rule_checks_catch_what_they_are_for(manifests):
    """Guards the tests above: a pods `get`, a configmaps read without resourceNames, another API
    group, and discovery beyond the collector's namespace are each refused."""
    role = {"kind": "Role", "metadata": {"name": "r", "namespace": "petlab"}, "rules": []}
    for bad in ({"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
                {"apiGroups": ["apps"], "resources": ["pods"], "verbs": ["list"]}):
        role["rules"] = [bad]
        with pytest.raises(AssertionError):
            test_every_rule_is_a_read_of_core_pods_or_named_configmaps({"x": [role]}, "x")
    docs = copy.deepcopy(manifests["kind"])
    (config_map,) = [d for d in docs if d["kind"] == "ConfigMap" and "scrape-k8s.yaml" in d.get("data", {})]
    assert "own_namespace: true" in config_map["data"]["scrape-k8s.yaml"]
    config_map["data"]["scrape-k8s.yaml"] = config_map["data"]["scrape-k8s.yaml"].replace(
        "own_namespace: true", "own_namespace: false")
    with pytest.raises(AssertionError, match="own namespace"):
        pod_discovery_needs(docs)
