"""The emulated backend under a burst through PetSite: the AWS emulator (moto with the lab's
retention, emulator/) is neither OOM-killed nor restarted, stays under its memory limit, drops its
oldest traces once it holds more than EMULATOR_MAX_TRACES, and `lab verify` (a new trace, fresh
EMF events, the map) passes right after."""
import subprocess
import time

import pytest

from labcli import compose as labcompose
from labcli.urls import published
from labtest.checkout import LAB, ROOT
from labtest.docker_memory import container_memory
from labtest.lab_http import traffic

pytestmark = pytest.mark.e2e

DROPPED = "emulator: retention dropped"


def emulator_log(name, since):
    """What the emulator logged since `since` (seconds since the epoch)."""
    proc = subprocess.run(["docker", "logs", "--since", str(int(since)), name], capture_output=True,
                          text=True, timeout=60)
    return proc.stdout + proc.stderr


def test_the_emulator_holds_up_under_a_burst(emulated_lab):
    cfg = labcompose.config("emulated")
    petsite = f"http://{published(cfg, 'petsite-stub', 8000)}"
    limit_mib = int(cfg["services"]["moto"]["mem_limit"]) / 2**20
    (moto,) = [c for c in labcompose.containers() if c["Service"] == "moto"]
    restarts_before = labcompose.restarts([moto])["moto"]
    assert restarts_before[1] is False, "the emulator was OOM-killed before the burst"

    # Until the retention has dropped traces at least once (it holds EMULATOR_MAX_TRACES), then
    # ten seconds more; at most three minutes.
    codes, peak, started, since = [], 0.0, time.monotonic(), time.time()
    while DROPPED not in emulator_log(moto["Name"], since) and time.monotonic() - started < 180:
        codes += traffic(petsite, 10, workers=8)
        peak = max(peak, container_memory([moto["Name"]])[moto["Name"]])
    assert DROPPED in emulator_log(moto["Name"], since), f"no retention sweep dropped traces after {len(codes)} requests"
    codes += traffic(petsite, 10, workers=8)
    peak = max(peak, container_memory([moto["Name"]])[moto["Name"]])

    assert labcompose.restarts([moto]) == {"moto": restarts_before}, "the emulator restarted during the burst"
    assert peak < 0.9 * limit_mib, f"emulator at {peak:.0f} MiB of its {limit_mib:.0f} MiB limit"
    assert codes.count(200) > 0.99 * len(codes), {c: codes.count(c) for c in set(codes)}
    verify = subprocess.run([str(LAB), "verify", "--timeout", "90"], cwd=ROOT, capture_output=True,
                            text=True, timeout=400)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    print(f"\nemulator burst: {len(codes)} requests, emulator peak {peak:.0f} MiB of {limit_mib:.0f}, "
          f"restarts {restarts_before[0]}")
