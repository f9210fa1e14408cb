"""The one lab lock (labcli/labcli/lablock.py) that the e2e tests and bench/run --lab take:
exclusive between processes, not waited for under a `flock` of the same file, off when empty."""
import os
import shutil
import subprocess
import sys

import pytest

PROBE = ("import sys; from labcli import lablock\n"
         "try:\n    h = lablock.acquire(0)\nexcept TimeoutError as e:\n    print(e); sys.exit(3)\n"
         "print('none' if h is None else 'held')")


def probe(lock, *prefix):
    env = {**os.environ, "LAB_E2E_LOCK": str(lock)}
    return subprocess.run([*prefix, sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=30)


def test_a_second_process_times_out_while_the_first_holds_it(tmp_path):
    lock = tmp_path / "lab.lock"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from labcli import lablock; "
                               "h = lablock.acquire(0); print('held', flush=True); time.sleep(30)"],
                              env={**os.environ, "LAB_E2E_LOCK": str(lock)},
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        other = probe(lock)
        assert other.returncode == 3 and f"another session holds {lock}" in other.stdout
    finally:
        holder.kill()
        holder.wait()
    assert probe(lock).stdout.strip() == "held"  # released with its holder


@pytest.mark.skipif(shutil.which("flock") is None, reason="util-linux flock is not installed")
def test_under_flock_of_the_same_file_it_is_not_waited_for(tmp_path):
    lock = tmp_path / "lab.lock"
    result = probe(lock, "flock", str(lock))
    assert result.returncode == 0 and result.stdout.strip() == "none", result.stdout + result.stderr


def test_an_empty_path_disables_it():
    assert probe("").stdout.strip() == "none"
