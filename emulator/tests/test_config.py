"""The emulator's settings: documented defaults, and a bad value is one line and exit 2."""
import subprocess
import sys

import pytest

from labemulator.config import Config, ConfigError


def test_defaults():
    assert Config.from_env({}) == Config(port=4566, max_traces=1000, max_log_events=5000, prune_seconds=5)


def test_values_are_read():
    got = Config.from_env({"MOTO_PORT": "5000", "EMULATOR_MAX_TRACES": "10", "EMULATOR_MAX_LOG_EVENTS": "7",
                           "EMULATOR_PRUNE_SECONDS": "2"})
    assert got == Config(port=5000, max_traces=10, max_log_events=7, prune_seconds=2)


@pytest.mark.parametrize("env,message", [
    ({"EMULATOR_MAX_TRACES": "many"}, "EMULATOR_MAX_TRACES must be a whole number, not 'many'"),
    ({"EMULATOR_MAX_LOG_EVENTS": "0"}, "EMULATOR_MAX_LOG_EVENTS must be at least 1, not 0"),
    ({"EMULATOR_MAX_TRACE": "5"}, "unknown setting EMULATOR_MAX_TRACE (known: EMULATOR_MAX_TRACES"),
])
def test_bad_settings_are_refused(env, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Config.from_env(env)


def test_the_server_refuses_a_bad_setting_in_one_line():
    proc = subprocess.run([sys.executable, "-m", "labemulator"], env={"EMULATOR_PRUNE_SECONDS": "-1"},
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "emulator: EMULATOR_PRUNE_SECONDS must be at least 1, not -1"
