"""RBAC least privilege: every permission the lab grants is named here with the reason it is
needed; any other verb, resource, namespace or object fails. Nothing is cluster-wide."""
import pytest
import yaml

from conftest import KIND, OVERLAYS

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


def test_every_rule_says_why_in_a_comment():
    for path in sorted(KIND.rglob("*.yaml")):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if line.strip().startswith("- apiGroups:"):
                assert lines[i - 1].strip().startswith("#"), f"{path.relative_to(KIND)}:{i + 1}: rule without a comment"
