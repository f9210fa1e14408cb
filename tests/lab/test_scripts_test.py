"""scripts/test's suite selection (TEST_SUITES: names, -NAME to leave one out): a name it does
not know, none, or a selection that leaves nothing stops it before it builds anything, in one line."""
import os
import subprocess

from labtest.checkout import ROOT

SCRIPT = ROOT / "scripts" / "test"


def run(suites, venv):
    env = {**os.environ, "TEST_SUITES": suites, "PETLAB_VENV": str(venv), "LAB_E2E": "off"}
    return subprocess.run([str(SCRIPT)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)


def test_unknown_suite_is_one_line_and_builds_nothing(tmp_path):
    venv = tmp_path / "venv"
    result = run("tests/security tests/nope", venv)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "scripts/test: TEST_SUITES: unknown suite 'tests/nope' (known: services/pethistory "
        "services/petsite-stub emulator tests/kind tests/security tests/lab tests/reliability tests/bench)"]
    assert not venv.exists()


def test_blank_selection_is_refused(tmp_path):
    result = run("  ", tmp_path / "venv")
    assert result.returncode == 1
    assert "TEST_SUITES names no suite" in result.stderr


def test_a_selection_that_leaves_nothing_is_refused(tmp_path):
    result = run("tests/lab -tests/lab/", tmp_path / "venv")
    assert result.returncode == 1
    assert result.stderr.strip() == "scripts/test: TEST_SUITES leaves no suite to run"
