"""kind/ deploys what compose.yaml runs: the same images and tags (.env), the same environment
variable names per service, values from the same .env keys, the same container ports, memory
limits and collector files. Every difference is listed here with its reason, and in the table
of kind/README.md; anything else fails."""
import re

import pytest

from conftest import compose, containers_by_name, dotenv, generated, interpolate

COMPOSE = compose()
ENV = dotenv()
BACKEND = {"kind": "local", "eks": "aws"}

# compose services that have no Kubernetes counterpart, and why.
NOT_DEPLOYED = {
    "moto": "the emulated backend is compose-only: kind runs local, EKS the real AWS",
    "toxiproxy": "the fault drills (lab fault) are compose-only",
}

# Variables a Kubernetes container has that its compose service has not.
EXTRA_ENV = {
    ("kind", "collector"): {
        "LAB_BACKEND": "compose interpolates it into --config; Kubernetes expands $(LAB_BACKEND) from env",
        "POD_NAME": "downward API: scrape-k8s.yaml discovers this pod only",
    },
    ("kind", "postgres"): {"PGDATA": "initdb must own the data dir; an emptyDir's root is root's"},
    ("kind", "prometheus"): {"PROMETHEUS_RETENTION": "compose interpolates it into the args; $(...) here"},
    ("eks", "pethistory"): {"DB_SECRET_ID": "EKS: credentials from Secrets Manager (IRSA)"},
    ("kind", "pethistory"): {"EKS_RESOURCE_DETECTOR": "kind is no EKS: the detector (on in any pod by default) "
                                                      "could only fail reading kube-system/aws-auth"},
}
EXTRA_ENV[("eks", "collector")] = EXTRA_ENV[("kind", "collector")]

# Variables of a compose service that its Kubernetes container has not.
MISSING_ENV = {
    ("kind", "console"): {"LAB_AWS_ENDPOINT_URL": "the emulator's address; kind runs the local backend, no moto",
                          "LAB_TOXIPROXY_URL": "the fault drills are compose-only",
                          "LAB_FLAGS_FILE": "the fault drills are compose-only"},
    ("eks", "pethistory"): {"DB_PASSWORD": "EKS: no password in the cluster; DB_SECRET_ID instead"},
    ("kind", "pethistory"): {},
}
# The fault drills' feature flag (history-5xx) is compose-only.
for _overlay in ("kind", "eks"):
    MISSING_ENV[(_overlay, "pethistory")].update(
        dict.fromkeys(("FLAGD_RESOLVER", "FLAGD_OFFLINE_FLAG_SOURCE_PATH"), "the fault drills are compose-only"))

# Literal values that differ, because names resolve differently in a pod.
OTHER_VALUE = {
    ("pethistory", "OTEL_EXPORTER_OTLP_ENDPOINT"): "the collector is a sidecar: localhost",
    ("pethistory", "DB_HOST"): "compose: the database through the fault proxy (pethistory-db)",
    ("console", "LAB_PETHISTORY_URL"): "the walkthrough's Service is pethistory-service",
    ("console", "LAB_LINKS"): "no AWS emulator link on kind (test_console_links_are_composes_without_the_emulator)",
}


def compose_env(service):
    env = COMPOSE["services"][service].get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return env


def k8s_services(overlay, manifests):
    return containers_by_name(manifests[overlay])


# EKS runs only the walkthrough's pod; the database is e.g. RDS, the backends are AWS's.
EKS_SERVICES = ("collector", "pethistory")


def pairs():
    """(overlay, service) for every compose service an overlay deploys."""
    kind = [s for s in sorted(COMPOSE["services"]) if s not in NOT_DEPLOYED]
    return [("kind", s) for s in kind] + [("eks", s) for s in EKS_SERVICES]


def deployed(manifests, overlay, service):
    found = k8s_services(overlay, manifests)
    assert service in found, f"compose service {service} has no container {service} in overlay {overlay}"
    return found[service]


def test_every_compose_service_is_deployed_or_listed_as_not_deployed(manifests):
    found = k8s_services("kind", manifests)
    missing = set(COMPOSE["services"]) - set(found) - set(NOT_DEPLOYED)
    assert not missing, f"compose services missing from kind/overlays/kind: {sorted(missing)}"


def test_every_kind_container_is_a_compose_service(manifests):
    extra = sorted(set(k8s_services("kind", manifests)) - set(COMPOSE["services"]))
    assert not extra, f"kind deploys containers compose.yaml does not run: {extra}"


def test_eks_deploys_only_the_walkthroughs_pod(manifests):
    assert sorted(k8s_services("eks", manifests)) == sorted(EKS_SERVICES)


@pytest.mark.parametrize("overlay,service", pairs())
def test_same_image_and_tag_as_compose(manifests, overlay, service):
    _, _, container = deployed(manifests, overlay, service)
    want = interpolate(COMPOSE["services"][service]["image"], ENV)
    if overlay == "eks" and service == "pethistory":
        # Pushed to the account's ECR (kustomization images:): same repository path and tag.
        name, tag = container["image"].rsplit(":", 1)
        assert name.endswith("/" + want.rsplit(":", 1)[0]) and tag == want.rsplit(":", 1)[1]
    else:
        assert container["image"] == want
    assert container["imagePullPolicy"] == "IfNotPresent"


@pytest.mark.parametrize("overlay,service", pairs())
def test_same_environment_variable_names_as_compose(manifests, overlay, service):
    _, _, container = deployed(manifests, overlay, service)
    k8s = {e["name"] for e in container.get("env", [])}
    want = set(compose_env(service))
    extra = set(EXTRA_ENV.get((overlay, service), {}))
    missing = set(MISSING_ENV.get((overlay, service), {}))
    assert k8s - extra == want - missing, (
        f"only in Kubernetes: {sorted(k8s - extra - want)}; only in compose: {sorted(want - missing - k8s)}")


@pytest.mark.parametrize("overlay,service", pairs())
def test_values_come_from_the_same_dotenv_keys(manifests, overlay, service):
    """compose `NAME: ${KEY}` <-> configMapKeyRef lab-env/KEY; literals are equal."""
    docs = manifests[overlay]
    _, _, container = deployed(manifests, overlay, service)
    lab_env = generated(docs, "lab-env")["metadata"]["name"]
    k8s = {e["name"]: e for e in container.get("env", [])}
    for name, value in compose_env(service).items():
        if name not in k8s:
            continue
        ref = re.fullmatch(r"\$\{(\w+)\}", str(value))
        if ref:
            key_ref = k8s[name].get("valueFrom", {}).get("configMapKeyRef", {})
            assert (key_ref.get("name"), key_ref.get("key")) == (lab_env, ref.group(1)), name
        elif (service, name) in OTHER_VALUE:
            assert k8s[name].get("value") != interpolate(value, ENV)
        else:
            assert k8s[name].get("value") == interpolate(value, ENV), name


@pytest.mark.parametrize("overlay,service", pairs())
def test_container_declares_the_ports_compose_publishes(manifests, overlay, service):
    _, _, container = deployed(manifests, overlay, service)
    declared = {p["containerPort"] for p in container.get("ports", [])}
    for mapping in COMPOSE["services"][service].get("ports", []):
        assert int(str(mapping).rsplit(":", 1)[-1]) in declared, mapping


def _bytes(quantity):
    match = re.fullmatch(r"(\d+)([a-zA-Z]*)", str(quantity))
    unit = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}[match.group(2)]
    return int(match.group(1)) * unit


@pytest.mark.parametrize("overlay,service", pairs())
def test_memory_limit_is_composes_mem_limit(manifests, overlay, service):
    _, _, container = deployed(manifests, overlay, service)
    assert _bytes(container["resources"]["limits"]["memory"]) == _bytes(COMPOSE["services"][service]["mem_limit"])


@pytest.mark.parametrize("overlay", ["kind", "eks"])
def test_collector_reads_composes_files_with_k8s_discovery(manifests, overlay):
    _, _, container = deployed(manifests, overlay, "collector")
    backend = BACKEND[overlay]
    k8s = [a.rsplit("/", 1)[-1].replace("$(LAB_BACKEND)", backend) for a in container["args"]]
    compose_files = [interpolate(a, {**ENV, "LAB_BACKEND": backend}).rsplit("/", 1)[-1]
                     for a in COMPOSE["services"]["collector"]["command"]]
    assert k8s == [f.replace("scrape-compose.yaml", "scrape-k8s.yaml") for f in compose_files]


def _links(value):
    return dict(item.split("=", 1) for item in value.split(","))


def test_console_links_are_composes_without_the_emulator(manifests):
    """The kind console links to kind/README.md's port-forwards, which use compose's host ports."""
    _, _, container = deployed(manifests, "kind", "console")
    kind = _links({e["name"]: e for e in container["env"]}["LAB_LINKS"]["value"])
    want = _links(interpolate(compose_env("console")["LAB_LINKS"], ENV))
    assert want.pop("AWS emulator").endswith("/moto-api/")
    assert kind == want
