"""A collector binary that has `validate`, and validate() itself: the collector config tests of
tests/lab and tests/kind. Use the fixture by importing it into a conftest or test module."""
import os
import shutil
import subprocess

import pytest

from .checkout import dotenv
from .collector_layers import COLLECTOR


@pytest.fixture(scope="session")
def collector_bin(tmp_path_factory):
    """A collector binary with `validate`: $LAB_COLLECTOR_BIN, else the ocb-built twin copied
    out of the collector image named in .env (docker create + docker cp). The real ADOT
    binary has no `validate`; the CI stand-in keeps the twin at /otelcol-twin behind its
    /awscollector entrypoint wrapper."""
    path = os.environ.get("LAB_COLLECTOR_BIN")
    if path:
        if not os.access(path, os.X_OK):
            pytest.fail(f"LAB_COLLECTOR_BIN={path} is not an executable file")
        return path
    image = dotenv("COLLECTOR_IMAGE")
    if shutil.which("docker") is None:
        pytest.skip(f"no LAB_COLLECTOR_BIN and no docker client to extract /awscollector from {image}")
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0:
        pytest.skip(f"no LAB_COLLECTOR_BIN and image {image} is not built here (.ci/images builds it)")
    cid = subprocess.run(["docker", "create", image], capture_output=True, text=True, check=True).stdout.strip()
    try:
        dest = tmp_path_factory.mktemp("collector") / "otelcol"
        for inside in ("/otelcol-twin", "/awscollector"):
            if subprocess.run(["docker", "cp", f"{cid}:{inside}", str(dest)], capture_output=True).returncode == 0:
                break
        else:
            pytest.skip(f"{image} holds neither /otelcol-twin nor /awscollector")
    finally:
        subprocess.run(["docker", "rm", cid], capture_output=True)
    return str(dest)


def validate(binary, files):
    """`<binary> validate --config=...` over collector/ files (names, or paths elsewhere)."""
    env = dict(os.environ, AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
    args = [binary, "validate"] + [f"--config={COLLECTOR / f}" for f in files]
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)
