"""The users kind/ pins (runAsUser/runAsGroup, so kubelet can enforce non-root) are the users the
images really run as: every process of every running lab container whose image kind deploys has
that uid, and that gid unless the image leaves the group at root's 0 (jaegertracing/jaeger:
`USER 10001`), where kind gives the user's own group instead. A wrong pin would make the pod fail
on a cluster (e.g. a data directory it cannot write) while every static test still passes."""
import subprocess
from pathlib import Path

import pytest
import yaml

from labcli import compose as labcompose
from labtest.checkout import ROOT

KIND_FILES = sorted((ROOT / "kind" / "base").glob("*.yaml")) + sorted((ROOT / "kind" / "overlays" / "kind").glob("*.yaml"))


def kind_users():
    """image -> (runAsUser, runAsGroup) of every container the kind overlay's files declare."""
    users = {}
    for path in KIND_FILES:
        for doc in yaml.safe_load_all(Path(path).read_text()):
            spec = ((doc or {}).get("spec") or {}).get("template", {}).get("spec")
            if not spec:
                continue
            for c in spec.get("containers", []) + spec.get("initContainers", []):
                if "image" not in c:
                    continue  # a strategic-merge patch of a container declared in base/
                sc = c.get("securityContext", {})
                users[c["image"]] = (sc.get("runAsUser"), sc.get("runAsGroup"))
    return users


def process_ids(container):
    """(uid, gid, command) of each process in the container, as the engine's `docker top` sees them."""
    # docker top needs the pid column to pick the container's processes out of ps's output.
    out = subprocess.run(["docker", "top", container, "-o", "pid,uid,gid,comm"], text=True,
                         capture_output=True, check=True).stdout.splitlines()[1:]
    return [(int(uid), int(gid), comm) for _, uid, gid, comm in (line.split(None, 3) for line in out)]


def test_kind_files_pin_a_user_for_every_image():
    users = kind_users()
    assert len(users) >= 8, users
    assert all(uid and gid for uid, gid in users.values()), users


@pytest.mark.e2e
def test_every_container_runs_as_the_user_kind_pins_for_its_image(local_lab):
    users = kind_users()
    checked, wrong = [], []
    for c in labcompose.running().values():
        if c["Image"] not in users:
            continue  # moto: compose-only (tests/kind/test_parity.py NOT_DEPLOYED)
        want = users[c["Image"]]
        for uid, gid, comm in process_ids(c["Name"]):
            if uid != want[0] or gid not in (want[1], 0):
                wrong.append(f"{c['Service']}: {comm} runs as {uid}:{gid}, kind pins {want[0]}:{want[1]}")
        checked.append(c["Service"])
    assert not wrong, "\n".join(wrong)
    assert {"pethistory", "collector", "postgres", "jaeger", "prometheus", "console"} <= set(checked), checked

