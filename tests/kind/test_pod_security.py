"""Every pod of both overlays meets the Kubernetes "restricted" Pod Security Standard
(https://kubernetes.io/docs/concepts/security/pod-security-standards/), field by field, plus
the lab's own rules: read-only root filesystem, the images' own numeric users, requests and
limits, readiness and liveness probes, no service-account token where none is needed."""
import pytest

from conftest import OVERLAYS, all_containers, pod_templates

# The user each image runs as (its Dockerfile's USER), pinned so kubelet can enforce it.
IMAGE_USER = {
    "petlab/": 10001,                                     # services/*/Dockerfile: USER 10001:10001
    "public.ecr.aws/aws-observability/aws-otel-collector:": 4317,  # ADOT's Dockerfile: aoc = 4317
    "postgres:": 999,
    "prom/prometheus:": 65534,                            # nobody
    "jaegertracing/jaeger:": 10001,
}
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                      "persistentVolumeClaim", "projected", "secret"}
# Only the pethistory pod talks to the Kubernetes API (pod discovery, EKS detector).
NEEDS_API_TOKEN = {"pethistory"}


def cases(manifests):
    return [(overlay, name, pod) for overlay in sorted(manifests) for name, pod in pod_templates(manifests[overlay])]


def expected_user(image):
    for prefix, uid in IMAGE_USER.items():
        if image.startswith(prefix) or f"/{prefix}" in image:
            return uid
    raise AssertionError(f"no known user for image {image}")


def test_every_pod_and_container_meets_the_restricted_standard(manifests):
    problems = []
    for overlay, name, pod in cases(manifests):
        where = f"{overlay}/{name}"
        psc = pod.get("securityContext", {})
        for field in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.get(field):
                problems.append(f"{where}: {field}")
        for volume in pod.get("volumes", []):
            kinds = set(volume) - {"name"}
            if not kinds <= RESTRICTED_VOLUMES:
                problems.append(f"{where}: volume {volume['name']} of type {kinds}")
        if psc.get("runAsNonRoot") is not True:
            problems.append(f"{where}: pod runAsNonRoot is not true")
        if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{where}: pod seccompProfile is not RuntimeDefault")
        if psc.get("runAsUser") == 0:
            problems.append(f"{where}: pod runAsUser 0")
        for c in all_containers(pod):
            cw = f"{where}/{c['name']}"
            sc = c.get("securityContext", {})
            if sc.get("privileged"):
                problems.append(f"{cw}: privileged")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{cw}: allowPrivilegeEscalation is not false")
            if sc.get("capabilities", {}).get("drop") != ["ALL"]:
                problems.append(f"{cw}: capabilities.drop is not [ALL]")
            if set(sc.get("capabilities", {}).get("add", [])) - {"NET_BIND_SERVICE"}:
                problems.append(f"{cw}: adds capabilities")
            if sc.get("runAsNonRoot") is False or sc.get("runAsUser") == 0:
                problems.append(f"{cw}: may run as root")
            if sc.get("seccompProfile", {}).get("type") not in (None, "RuntimeDefault", "Localhost"):
                problems.append(f"{cw}: seccompProfile {sc['seccompProfile']}")
            if sc.get("procMount", "Default") != "Default":
                problems.append(f"{cw}: procMount")
            for port in c.get("ports", []):
                if port.get("hostPort"):
                    problems.append(f"{cw}: hostPort {port['hostPort']}")
    assert not problems, "\n".join(problems)


def test_containers_run_as_their_images_numeric_user_on_a_read_only_root(manifests):
    for overlay, name, pod in cases(manifests):
        for c in all_containers(pod):
            sc = c["securityContext"]
            uid = expected_user(c["image"])
            assert (sc.get("runAsUser"), sc.get("runAsGroup")) == (uid, uid), f"{overlay}/{c['name']}"
            assert sc.get("readOnlyRootFilesystem") is True, f"{overlay}/{c['name']}"


def test_services_that_write_to_tmp_get_an_emptydir(manifests):
    """PROMETHEUS_MULTIPROC_DIR and gunicorn's heartbeat files are under /tmp."""
    for overlay, name, pod in cases(manifests):
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for c in all_containers(pod):
            if expected_user(c["image"]) == 10001 and "jaeger" not in c["image"]:  # the project's images
                (tmp,) = [m for m in c["volumeMounts"] if m["mountPath"] == "/tmp"]
                assert "emptyDir" in volumes[tmp["name"]], f"{overlay}/{c['name']}"


def test_every_container_has_requests_limits_and_probes(manifests):
    for overlay, name, pod in cases(manifests):
        for c in all_containers(pod):
            cw = f"{overlay}/{c['name']}"
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c.get("resources", {}).get(kind, {})), f"{cw}: {kind}"
            assert c.get("readinessProbe"), f"{cw}: no readinessProbe"
            assert c.get("livenessProbe"), f"{cw}: no livenessProbe"


def test_pethistory_probes_health_status_and_collector_its_health_check(manifests):
    for overlay in manifests:
        (pod,) = [p for n, p in pod_templates(manifests[overlay]) if n == "pethistory"]
        containers = {c["name"]: c for c in all_containers(pod)}
        app = containers["pethistory"]
        assert app["readinessProbe"]["httpGet"] == {"path": "/health/status", "port": "http"}
        assert {"name": "http", "containerPort": 8080} in app["ports"]
        # Liveness must not follow the database: the service heals itself after an outage.
        assert "tcpSocket" in app["livenessProbe"]
        collector = containers["collector"]
        assert {"name": "health", "containerPort": 13133} in collector["ports"]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert collector[probe]["httpGet"]["port"] == "health", probe
        # A native sidecar: started (and healthy, startupProbe) before pethistory.
        assert collector["restartPolicy"] == "Always"
        assert collector in pod["initContainers"]


def test_only_the_pethistory_pod_mounts_an_api_token(manifests):
    for overlay, name, pod in cases(manifests):
        if name in NEEDS_API_TOKEN:
            assert pod.get("serviceAccountName") == "pethistory-sa"
            assert pod.get("automountServiceAccountToken") is not False
        else:
            assert pod.get("automountServiceAccountToken") is False, f"{overlay}/{name}"
            assert pod.get("serviceAccountName", "default") == "default", f"{overlay}/{name}"
