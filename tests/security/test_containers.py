"""Containers get no more than they need: non-root, no extra privileges or host namespaces,
ports on 127.0.0.1 only, configuration and AWS credentials mounted read-only, bounded memory."""
import re

import pytest

from conftest import ROOT

# Images that start as root by design, and why (everything else must run as a non-root user).
ROOT_AT_START = {
    "postgres": "the official entrypoint starts as root only to chown PGDATA, then execs postgres "
                "as the unprivileged `postgres` user (gosu)",
}
# Images we do not build, and the unprivileged user their image declares.
THIRD_PARTY_USER = {
    "collector": "aoc (ADOT image; mount credentials at /home/aoc/.aws)",
    "jaeger": "10001 (jaegertracing/jaeger)",
    "prometheus": "nobody (prom/prometheus)",
    "toxiproxy": "10001:10001 (compose's user:; the official image is FROM scratch and would run as root)",
}


def our_dockerfiles():
    return sorted(p for p in ROOT.glob("**/Dockerfile") if ".ci" not in p.parts and ".git" not in p.parts
                  and "node_modules" not in p.parts)


def final_user(dockerfile):
    users = [line.split(None, 1)[1].strip() for line in dockerfile.read_text().splitlines()
             if line.strip().upper().startswith("USER ")]
    return users[-1] if users else None


def test_every_service_is_accounted_for_as_non_root(compose):
    built = {name for name, svc in compose["services"].items() if "build" in svc}
    unaccounted = set(compose["services"]) - built - set(ROOT_AT_START) - set(THIRD_PARTY_USER)
    assert not unaccounted, f"say which user these run as: {sorted(unaccounted)}"


@pytest.mark.parametrize("dockerfile", our_dockerfiles(), ids=lambda p: str(p.relative_to(ROOT)))
def test_our_images_end_as_a_non_root_user(dockerfile):
    user = final_user(dockerfile)
    assert user, f"{dockerfile} has no USER: it would run as root"
    assert user.split(":")[0] not in ("root", "0"), user


def test_compose_never_asks_for_root_privileges_or_host_namespaces(compose):
    for name, svc in compose["services"].items():
        assert str(svc.get("user", "")).split(":")[0] not in ("root", "0"), name
        assert not svc.get("privileged"), f"{name} is privileged"
        assert not svc.get("cap_add"), f"{name} adds capabilities {svc.get('cap_add')}"
        for key in ("network_mode", "pid", "ipc", "userns_mode", "uts"):
            assert svc.get(key) != "host", f"{name}: {key}: host"
        assert not svc.get("devices"), name
        for option in svc.get("security_opt", []):
            assert "unconfined" not in option, f"{name}: {option}"


def volume_parts(volume):
    if isinstance(volume, dict):
        return volume.get("source", ""), volume.get("target", ""), bool(volume.get("read_only"))
    parts = volume.split(":")
    return parts[0], parts[1] if len(parts) > 1 else "", len(parts) > 2 and "ro" in parts[2].split(",")


def test_bind_mounts_are_read_only_and_never_the_docker_socket(compose):
    for name, svc in compose["services"].items():
        for volume in svc.get("volumes", []):
            source, target, read_only = volume_parts(volume)
            assert "docker.sock" not in source, f"{name} mounts the Docker socket"
            if source.startswith((".", "/", "$", "~")):  # a host path, not a named volume
                assert read_only, f"{name}: {source}:{target} is writable"


def test_aws_credentials_are_mounted_read_only_and_only_into_the_collector(compose):
    mounts = [(name, *volume_parts(v)) for name, svc in compose["services"].items()
              for v in svc.get("volumes", [])]
    aws = [m for m in mounts if ".aws" in m[1] or "AWS" in m[1] or m[2].endswith("/.aws")]
    assert aws, "no ~/.aws mount found (the aws backend needs one)"
    for name, source, target, read_only in aws:
        assert name == "collector", f"{name} gets AWS credentials"
        assert read_only, f"{source}:{target} is writable"


def test_ports_are_published_on_loopback_only(compose, dotenv):
    assert dotenv["LAB_BIND"] == "127.0.0.1"
    for name, svc in compose["services"].items():
        for port in svc.get("ports", []):
            text = port if isinstance(port, str) else f"{port.get('host_ip', '')}:{port.get('published')}"
            assert text.startswith(("${LAB_BIND}:", "127.0.0.1:")), f"{name} publishes {text} beyond loopback"
    assert not re.search(r"0\.0\.0\.0:\d+:", (ROOT / "compose.yaml").read_text())


def test_every_service_has_a_memory_limit(compose):
    for name, svc in compose["services"].items():
        limit = svc.get("mem_limit") or svc.get("deploy", {}).get("resources", {}).get("limits", {}).get("memory")
        assert limit, f"{name} has no memory limit"


# Capabilities postgres' entrypoint needs to chown its data directory and drop to `postgres`.
POSTGRES_CAPS = {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"}


def test_capabilities_are_dropped_and_privileges_cannot_be_regained(compose):
    for name, svc in compose["services"].items():
        assert svc.get("cap_drop") == ["ALL"], f"{name}: cap_drop: [ALL] missing"
        assert "no-new-privileges:true" in svc.get("security_opt", []), f"{name}: no-new-privileges missing"
        assert set(svc.get("cap_add", [])) <= (POSTGRES_CAPS if name == "postgres" else set()), name


def test_root_filesystems_are_read_only_and_services_restart_after_a_crash(compose):
    for name, svc in compose["services"].items():
        assert svc.get("read_only") is True, f"{name}: read_only: true missing"
        assert "/tmp" in svc.get("tmpfs", []), f"{name}: no tmpfs for /tmp on a read-only root"
        assert svc.get("restart") == "unless-stopped", f"{name}: restart policy missing"


def test_postgres_data_lives_in_a_named_volume(compose):
    assert "pgdata:/var/lib/postgresql/data" in compose["services"]["postgres"]["volumes"]
    assert "pgdata" in compose["volumes"]
