"""scripts/lab fails in one line (no traceback, non-zero exit) on bad input or no engine."""
import os
import re
import subprocess
import sys

import labcli.cli as labcli_cli
from labcli import servicemap
import pytest

from labtest.checkout import LAB
from labtest.commands import path_without
from labtest.lab_session import emulator_env
from labtest.lab_cli import choices_named_by, defined_subcommands


def lab(*args, env=None):
    return subprocess.run([str(LAB), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=60)


@pytest.mark.parametrize("args", [["up", "--backend", "nowhere"], ["frobnicate"], ["logs"], []])
def test_bad_arguments_exit_2_without_traceback(args):
    proc = lab(*args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("args", [["status"], ["up", "--backend", "local"], ["down"], ["logs", "collector"]])
def test_unreachable_engine_is_a_one_line_error(args):
    proc = lab(*args, env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("lab: error:") and "Docker engine" in line


def test_missing_docker_client_is_a_one_line_error(tmp_path):
    # Every command of this machine but docker's (scripts/lab itself needs bash & co).
    proc = lab("status", env={"PATH": path_without(tmp_path, lambda name: name.startswith("docker"))})
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert "docker not found" in line


# --- every subcommand, as the CLI's own parser defines them ---------------------------------
# No lab is needed: --help and argument errors exit before the CLI looks for a Docker engine
# (DOCKER_HOST points nowhere, so a subcommand that did reach for it would fail loudly).
NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}


def listed_in_help(help_text):
    """subcommand -> its help line, from the COMMAND block of `lab --help`."""
    block = help_text.split("COMMAND", 2)[-1]
    return dict(re.findall(r"^    ([a-z][\w-]*)\s+(\S.*)$", block, re.M))


SUBCOMMANDS = defined_subcommands()


def test_the_parser_defines_the_documented_subcommands():
    """Guards the parametrized tests against discovering nothing; the lab has 11 today."""
    assert {"up", "down", "status", "logs", "load", "stop", "start", "map", "insights", "dashboard",
            "verify"} <= set(SUBCOMMANDS)


def test_scripts_lab_runs_the_same_parser():
    proc = lab("no-such-subcommand", env=NO_ENGINE)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert choices_named_by(proc.stderr) == SUBCOMMANDS


def test_help_lists_every_subcommand_with_its_help():
    proc = lab("--help", env=NO_ENGINE)
    assert proc.returncode == 0, proc.stderr
    listed = listed_in_help(proc.stdout)
    missing = [name for name in SUBCOMMANDS if not listed.get(name, "").strip()]
    assert missing == [], f"subcommands without a help line in `lab --help`: {missing}\n{proc.stdout}"


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help(command):
    proc = lab(command, "--help", env=NO_ENGINE)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: lab {command}"), proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_refuses_a_bad_argument_in_short(command):
    proc = lab(command, "--no-such-option", env=NO_ENGINE)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    # argparse reports an unknown option from the top parser ("lab: error: unrecognized
    # arguments"), a missing positional from the subcommand's ("lab logs: error: ...").
    assert re.match(rf"lab(?: {command})?: error: ", lines[-1]), proc.stderr
    assert lines[0].startswith("usage: lab"), proc.stderr
    assert len(lines) <= 6, f"a bad argument should be a usage line and one error, got:\n{proc.stderr}"


def test_the_discovery_sees_a_subcommand_without_help(monkeypatch):
    """Guards the tests above: a subcommand added without help= is found by defined_subcommands
    and is missing from the help listing, so test_help_lists_every_subcommand_with_its_help fails."""
    original_help = labcli_cli.parser().format_help()
    add_map = servicemap.add_parser

    def map_and_an_undocumented_one(sub):  # `sub`: the parser's subcommands, as cli.parser passes it
        add_map(sub)
        sub.add_parser("undocumented")

    monkeypatch.setattr(servicemap, "add_parser", map_and_an_undocumented_one)
    found = defined_subcommands()
    assert "undocumented" in found
    assert "undocumented" not in listed_in_help(labcli_cli.parser().format_help())
    assert set(listed_in_help(original_help)) == set(SUBCOMMANDS)


@pytest.mark.e2e
def test_output_cut_short_by_its_reader_ends_without_traceback(local_lab):
    """`scripts/lab status | head -1`: the reader closes the pipe after one line."""
    proc = subprocess.run(f"{LAB} status | head -1", shell=True, capture_output=True, text=True, timeout=60)
    assert proc.stdout.startswith("backend: local"), proc.stdout
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("args", [[cmd, *bad] for cmd in ("metrics", "trace", "insights", "walkthrough")
                                  for bad in (["--backend", "nowhere"], ["--format", "svg"], ["--minutes", "soon"])])
def test_a_bad_option_value_is_argparse_usage_then_one_error_line(args):
    proc = lab(*args, env=NO_ENGINE)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert errors == [proc.stderr.strip().splitlines()[-1]], proc.stderr
    assert re.match(rf"lab {args[0]}: error: argument --\w+: invalid (choice|float value)", errors[0]), proc.stderr


@pytest.mark.parametrize("command,service", [("metrics", "CloudWatch"), ("trace", "X-Ray")])
def test_an_aws_backend_that_does_not_answer_is_one_line(command, service):
    """boto3 (the test venv's; scripts/lab's own venv has none) aimed at a closed port."""
    env = {**emulator_env("http://127.0.0.1:9", "us-east-1"), "AWS_MAX_ATTEMPTS": "1"}
    proc = subprocess.run([sys.executable, "-P", "-m", "labcli", command, "--backend", "aws"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"lab: error: {service}: Could not connect"), line
