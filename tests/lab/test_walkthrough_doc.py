"""docs/walkthrough.md stays true: every command it shows runs against the running lab on the
backends its block names, and prints what the document says it prints; every file, function
and `scripts/lab` subcommand it names exists.

The document's runnable examples are fenced blocks with the info string
`console backends=local,emulated [retry=SECONDS]`: lines starting with `$ ` are commands, the
lines under a command are its expected output, in order, each matched after collapsing runs of
blanks, `…` standing for any text. `retry=N` re-runs the block's last command until its output
matches, for up to N seconds (a metric that shows after the next scrape). An HTML comment
`<!-- not in the output: TEXT -->` right after a block says the last command must not print
TEXT. Commands of one block share shell variables; they run from the repository root.
Blocks for `aws` only are checked statically (no AWS account in CI).
"""
import os
import re
import shlex
import subprocess
import time
from dataclasses import dataclass, field

import pytest

from labtest.checkout import ROOT
from labtest.lab_cli import defined_subcommands

DOC = ROOT / "docs" / "walkthrough.md"
RUNNABLE = ("local", "emulated")
e2e = pytest.mark.e2e


@dataclass
class Command:
    line: str
    expected: list = field(default_factory=list)


@dataclass
class Block:
    number: int          # 1-based, in document order
    lineno: int
    section: str
    backends: tuple
    retry: float
    commands: list = field(default_factory=list)
    absent: list = field(default_factory=list)

    @property
    def name(self):
        return f"block{self.number:02d}-line{self.lineno}"


def parse(text):
    blocks, section, current, lines = [], "", None, text.splitlines()
    for index, line in enumerate(lines):
        if current is None:
            if line.startswith("#"):
                section = line.lstrip("#").strip()
            opening = re.match(r"^```console\b(.*)$", line)
            if opening:
                attrs = dict(a.split("=", 1) for a in opening.group(1).split() if "=" in a)
                if "backends" not in attrs:
                    raise ValueError(f"docs/walkthrough.md:{index + 1}: a console block without backends=")
                current = Block(len(blocks) + 1, index + 1, section, tuple(attrs["backends"].split(",")),
                                float(attrs.get("retry", 0)))
            continue
        if line.startswith("```"):
            following = next((l for l in lines[index + 1:] if l.strip()), "")
            absent = re.match(r"^<!-- not in the output: (.+) -->$", following)
            if absent:
                current.absent.append(absent.group(1))
            blocks.append(current)
            current = None
        elif line.startswith("$ "):
            current.commands.append(Command(line[2:]))
        elif line.strip():
            if not current.commands:
                raise ValueError(f"docs/walkthrough.md:{index + 1}: output before any command")
            current.commands[-1].expected.append(line)
    return blocks


BLOCKS = parse(DOC.read_text())
SUBCOMMANDS = set(defined_subcommands())


def normal(text):
    return " ".join(text.split())


def missing_lines(expected, output):
    """The first expected line not found (in order) in output, or None."""
    lines = [normal(l) for l in output.splitlines()]
    at = 0
    for want in expected:
        parts = [normal(p) for p in want.split("…")]
        pattern = re.compile(".*".join(re.escape(p) for p in parts))
        while at < len(lines) and not pattern.search(lines[at]):
            at += 1
        if at == len(lines):
            return want
        at += 1
    return None


# --- the document names only what exists (no Docker) ----------------------------------------

def test_every_console_block_names_backends_and_commands():
    assert BLOCKS, "docs/walkthrough.md has no console blocks"
    for block in BLOCKS:
        assert block.commands, f"{block.name}: no command"
        assert set(block.backends) <= {"local", "emulated", "aws"}, f"{block.name}: {block.backends}"


def test_every_lab_subcommand_the_document_names_exists():
    named = set(re.findall(r"scripts/lab ([a-z][\w-]*)", DOC.read_text()))
    assert named, "the document names no scripts/lab subcommand"
    assert named <= SUBCOMMANDS, f"not subcommands of scripts/lab: {sorted(named - SUBCOMMANDS)}"


def test_every_file_and_function_the_document_names_exists():
    text = DOC.read_text()
    references = re.findall(r"`((?:[\w.-]+/)+[\w.-]+)(?:::(\w+))?`", text)
    assert len(references) > 10, references
    for path, name in references:
        target = ROOT / path
        assert target.exists(), f"docs/walkthrough.md names {path}, which does not exist"
        if name:
            source = target.read_text()
            defined = re.search(rf"^\s*(def|class)\s+{name}\b|^\s*{name}\s*[:=]", source, re.MULTILINE)
            assert defined, f"docs/walkthrough.md names {path}::{name}, which {path} does not define"


def test_the_matcher_finds_lines_in_order_and_reports_the_first_missing():
    output = "NODE  TYPE\nPetSite   service  4\nadoptions  database (postgresql)  6\n"
    assert missing_lines(["PetSite service …", "adoptions …(postgresql)"], output) is None
    assert missing_lines(["adoptions …", "PetSite …"], output) == "PetSite …"
    assert missing_lines(["PetAdoptionsHistory …"], output) == "PetAdoptionsHistory …"


def test_the_parser_reads_commands_expectations_and_attributes():
    blocks = parse("## Step\n```console backends=local retry=30\n$ echo a\na\n$ echo b\nb\n```\n"
                   "<!-- not in the output: c -->\n")
    assert len(blocks) == 1 and blocks[0].backends == ("local",) and blocks[0].retry == 30
    assert [(c.line, c.expected) for c in blocks[0].commands] == [("echo a", ["a"]), ("echo b", ["b"])]
    assert blocks[0].absent == ["c"] and blocks[0].section == "Step"
    with pytest.raises(ValueError):
        parse("```console\n$ echo\n```\n")


def test_commands_aim_only_at_loopback():
    for block in BLOCKS:
        for command in block.commands:
            for url in re.findall(r"(?:https?://)?[\w.-]+:\d{2,5}", command.line):
                assert "127.0.0.1" in url, f"{block.name}: {command.line} aims at {url}"


# --- every runnable block, in document order, per backend ------------------------------------

def run(command, state, backend, timeout=300):
    """One command in bash from the repository root, with the block's shell variables and
    LAB_BACKEND set as the document's first step has the reader export it."""
    script = f"set -a; [ -f {shlex.quote(str(state))} ] && . {shlex.quote(str(state))}\n{command.line}\n" \
             f"status=$?; export -p > {shlex.quote(str(state))}; exit $status"
    proc = subprocess.run(["bash", "-c", script], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout, env={**os.environ, "LAB_BACKEND": backend})
    return proc.returncode, proc.stdout   # stderr interleaved, as a terminal shows it


CASES = [(backend, block) for backend in RUNNABLE for block in BLOCKS if backend in block.backends]


@e2e
@pytest.mark.parametrize("backend,block", CASES, ids=[f"{b}-{blk.name}" for b, blk in CASES])
def test_walkthrough_block_prints_what_the_document_says(lab_session, backend, block, tmp_path):
    lab_session.ensure(backend)
    state = tmp_path / "shell-state"
    last = len(block.commands) - 1
    for index, command in enumerate(block.commands):
        deadline = time.monotonic() + (block.retry if index == last else 0)
        while True:
            status, output = run(command, state, backend)
            missing = missing_lines(command.expected, output) if status == 0 else "(exit status 0)"
            present = [t for t in (block.absent if index == last else []) if t in output]
            if (missing is None and not present) or time.monotonic() > deadline:
                break
            time.sleep(5)
        where = f"{block.section!r} ({block.name}), backend {backend}: $ {command.line}"
        assert status == 0, f"{where}\nexit status {status}\n{output[-3000:]}"
        assert missing is None, f"{where}\nexpected line not printed: {missing!r}\n{output[-3000:]}"
        assert not present, f"{where}\nprinted {present}, which the document says it does not\n{output[-3000:]}"
        changed = re.search(r"scripts/lab (up|down)\b", command.line)
        if changed:   # the session's idea of the running lab follows the document's up/down
            lab_session.backend = backend if changed.group(1) == "up" else None
