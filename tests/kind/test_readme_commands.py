"""kind/README.md's commands match the overlay: its image loop loads every image the kind overlay
runs (kind pulls nothing: imagePullPolicy IfNotPresent), and each `kubectl rollout status` names
one resource (kubectl refuses several: "only supported on individual resources")."""
import re

from conftest import KIND, all_containers, dotenv, interpolate, pod_templates

README = (KIND / "README.md").read_text()


def test_the_image_loop_loads_every_image_the_kind_overlay_runs(manifests):
    loop = re.search(r"^for image in (.*?); do$", README, re.M | re.S)
    assert loop, "kind/README.md has no `for image in ...; do` loop"
    env = dotenv()
    loaded = {interpolate("${" + name + "}", env) for name in re.findall(r'"\$(\w+)"', loop.group(1))}
    used = {c["image"] for _, pod in pod_templates(manifests["kind"]) for c in all_containers(pod)}
    assert used - loaded == set(), f"images the overlay runs that the README never loads: {sorted(used - loaded)}"


def test_rollout_status_names_one_resource_per_command():
    for line in re.findall(r"^kubectl .*rollout status (.*)$", README, re.M):
        assert len(line.split()) == 1, line
