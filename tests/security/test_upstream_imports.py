"""The lab's code uses upstream packages through their public API only, and finds its own
packages because they are installed, never through path hacks.

1. No Python file of the lab's code (services/, labcli/, bench/, loadgen/, console/, emulator/) imports an
   `_`-prefixed module or name of a package that is not the lab's own (`from opentelemetry.x
   import _y`, `import opentelemetry._x`, `from opentelemetry.instrumentation._semconv import
   ...`, `from x._internal import ...`), nor reads an `_`-prefixed attribute straight off an
   upstream module it imported (`trace._TRACER_PROVIDER`). Private names change in any
   release without notice: pinned upgrades would break in ways no test predicts.
   Attributes of upstream *objects* (`span._attributes`) are not traced; review catches those.
2. No Python file or script anywhere in the repository edits the import path: no
   `sys.path` edits (insert, append, extend, +=), no `PYTHONPATH` written into `os.environ`, an env dict,
   `dict(os.environ, PYTHONPATH=...)`, or exported by a shell script.

Parsed with `ast` (comments and strings are not code); each finding names file and line.
"""
import ast
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE_DIRS = ("services", "labcli", "bench", "loadgen", "console", "emulator")
# The lab's own packages: their `_names` are the lab's to use.
OWN_PACKAGES = {"labservice", "pethistory", "petsite", "labcli", "labtest", "labbench", "labemulator"}
SKIP_PARTS = {".git", "node_modules", "__pycache__", ".venv"}
# `_`-prefixed names that are documented public API, and where.
DOCUMENTED = {
    "_get_current_object": "werkzeug LocalProxy (flask.request, flask.g): documented way to the proxied object",
    "_replace": "collections.namedtuple", "_asdict": "collections.namedtuple",
    "_fields": "collections.namedtuple", "_make": "collections.namedtuple",
}


def is_private(name):
    """`_x` and `__x`, but not dunders (`__version__`, `__future__`)."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def upstream(module):
    return module.split(".")[0] not in OWN_PACKAGES


# --- 1. private names of upstream packages ---------------------------------------------------
def private_imports(source, filename="<source>"):
    """(line, what) for every `_`-prefixed upstream module, name or module attribute used."""
    tree = ast.parse(source, filename)
    found = []
    modules = {}  # local name -> upstream module it is bound to (import x.y as z / from x import y)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not upstream(alias.name):
                    continue
                if any(is_private(part) for part in alias.name.split(".")):
                    found.append((node.lineno, f"import {alias.name}"))
                local = alias.asname or alias.name.split(".")[0]
                modules[local] = alias.name if alias.asname else alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if not upstream(node.module):
                continue
            if any(is_private(part) for part in node.module.split(".")):
                found.append((node.lineno, f"from {node.module} import ..."))
            for alias in node.names:
                if is_private(alias.name):
                    found.append((node.lineno, f"from {node.module} import {alias.name}"))
                else:
                    # may be a submodule (from opentelemetry import trace); an attribute lookup
                    # on a plain function or class is reported too, which is what we want.
                    modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and is_private(node.attr) and node.attr not in DOCUMENTED:
            base = node.value
            chain = []
            while isinstance(base, ast.Attribute):
                chain.append(base.attr)
                base = base.value
            if isinstance(base, ast.Name) and base.id in modules and not any(is_private(c) for c in chain):
                dotted = ".".join([modules[base.id], *reversed(chain), node.attr])
                found.append((node.lineno, f"{dotted} (attribute of an upstream module)"))
    return sorted(set(found))


# --- 2. import-path edits ----------------------------------------------------------------------
def _is_sys_path(node):
    return (isinstance(node, ast.Attribute) and node.attr == "path"
            and isinstance(node.value, ast.Name) and node.value.id == "sys")


def _is_pythonpath(node):
    return isinstance(node, ast.Constant) and node.value == "PYTHONPATH"


def path_hacks(source, filename="<source>"):
    """(line, what) for every edit of sys.path or PYTHONPATH in Python source."""
    tree = ast.parse(source, filename)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if _is_sys_path(node.func.value) and node.func.attr in ("insert", "append", "extend", "__setitem__"):
                found.append((node.lineno, f"sys.path.{node.func.attr}()"))
            if node.func.attr in ("setdefault", "update", "putenv", "__setitem__") and node.args \
                    and _is_pythonpath(node.args[0]):
                found.append((node.lineno, f"{node.func.attr}('PYTHONPATH', ...)"))
        if isinstance(node, ast.Call):
            found += [(node.lineno, "PYTHONPATH=... keyword") for k in node.keywords if k.arg == "PYTHONPATH"]
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if _is_sys_path(target) or (isinstance(target, ast.Subscript) and _is_sys_path(target.value)):
                    found.append((node.lineno, "assignment to sys.path"))
                if isinstance(target, ast.Subscript) and _is_pythonpath(target.slice):
                    found.append((node.lineno, "[...]['PYTHONPATH'] = ..."))
        if isinstance(node, ast.Dict):
            found += [(node.lineno, "{'PYTHONPATH': ...} in a dict") for k in node.keys if k is not None and _is_pythonpath(k)]
    return sorted(set(found))


SHELL_PYTHONPATH = re.compile(r"^\s*(?:export\s+|env\s+|[\w-]+=\S*\s+)*PYTHONPATH=|\bexport\s+PYTHONPATH\b|\benv\b[^#\n]*\sPYTHONPATH=")
SHELL_SYS_PATH = re.compile(r"sys\.path\.(?:insert|append|extend)\b")


def script_hacks(text):
    """(line, what) in a shell script: PYTHONPATH set or exported, or sys.path edited in an
    embedded `python -c`; comment lines are skipped."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        if SHELL_PYTHONPATH.search(line):
            found.append((number, "PYTHONPATH set in a script"))
        if SHELL_SYS_PATH.search(line):
            found.append((number, "sys.path edited in a script"))
    return found


# --- which files ---------------------------------------------------------------------------------
def repo_files(root):
    """Tracked and new (not ignored) files of the checkout; every file when it is no git checkout."""
    proc = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                          cwd=root, capture_output=True)
    if proc.returncode == 0:
        names = [n for n in proc.stdout.decode().split("\0") if n]
        paths = [root / n for n in names]
    else:
        paths = [p for p in root.rglob("*")]
    return sorted(p for p in paths if p.is_file() and not SKIP_PARTS & set(p.relative_to(root).parts))


def kind_of(path):
    """'python', 'shell' or None, by suffix or shebang."""
    if path.suffix == ".py":
        return "python"
    if path.suffix in ("", ".sh", ".bash"):
        try:
            first = path.open("rb").readline(200).decode(errors="replace")
        except OSError:
            return None
        if first.startswith("#!"):
            return "python" if "python" in first else "shell" if re.search(r"\b(ba|da|z)?sh\b", first) else None
    return None


def scan(root):
    """'path:line: what' for every finding under root (1 in CODE_DIRS, 2 everywhere)."""
    root = Path(root)
    findings = []
    for path in repo_files(root):
        rel = path.relative_to(root).as_posix()
        kind = kind_of(path)
        if kind is None:
            continue
        text = path.read_text(errors="replace")
        if kind == "shell":
            findings += [f"{rel}:{line}: {what}" for line, what in script_hacks(text)]
            continue
        try:
            hacks = path_hacks(text, rel)
            privates = private_imports(text, rel) if rel.split("/")[0] in CODE_DIRS else []
        except SyntaxError as error:
            findings.append(f"{rel}:{error.lineno}: does not parse: {error.msg}")
            continue
        findings += [f"{rel}:{line}: {what}: import path edited; install the package instead" for line, what in hacks]
        findings += [f"{rel}:{line}: {what}: private name of an upstream package" for line, what in privates]
    return findings


# --- the tests ---------------------------------------------------------------------------------
def test_lab_code_uses_no_private_upstream_names_and_no_path_hacks():
    findings = scan(ROOT)
    assert findings == [], f"{len(findings)} finding(s):\n" + "\n".join(findings)


CLEAN = '''\
from __future__ import annotations
import os
import opentelemetry.trace as trace
from opentelemetry.sdk.trace import TracerProvider
from labservice._pool import _Pool          # the lab's own package
from ._local import _helper                 # relative: the lab's own
from pethistory.config import _defaults

env = dict(os.environ, OTEL_SDK_DISABLED="true")
version = trace.__name__
os.environ.get("PYTHONPATH")                # reading is not setting
self_private = object()._private            # an object, not an upstream module
from flask import request
real = request._get_current_object()        # documented, see DOCUMENTED
'''

BAD = '''\
import sys, os
from opentelemetry.instrumentation._semconv import _OpenTelemetrySemanticConventionStability
import opentelemetry._logs
from opentelemetry.sdk.trace import _Span
from botocore._internal import thing
from opentelemetry import trace
provider = trace._TRACER_PROVIDER
SYS_PATH.insert(0, "/elsewhere")
SYS_PATH.append("x")
os.environ["PYTHONPATH"] = "x"
run(env={"PYTHONPATH": "x"})
run(env=dict(os.environ, PYTHONPATH="x"))
sys.path[:0] = ["y"]
'''.replace("SYS_PATH", "sys" + ".path")  # spelled out, the repository's own greps would flag this file

BAD_SCRIPT = '''\
#!/usr/bin/env bash
# PYTHONPATH=comment is fine
export PYTHONPATH=/x
PYTHONPATH=/y python3 -m thing
python3 -c 'import sys; SYS_PATH.insert(0, "z")'
'''.replace("SYS_PATH", "sys" + ".path")


def test_the_checker_passes_a_clean_tree_and_names_each_bad_line(tmp_path):
    (tmp_path / "services" / "svc").mkdir(parents=True)
    (tmp_path / "scripts").mkdir()
    (tmp_path / "services" / "svc" / "clean.py").write_text(CLEAN)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "outside_code_dirs.py").write_text("from opentelemetry.sdk.trace import _Span\n")
    assert scan(tmp_path) == [], "a clean tree must pass (tests/ may name private names: only rule 2 applies there)"

    (tmp_path / "services" / "svc" / "bad.py").write_text(BAD)
    script = tmp_path / "scripts" / "run"
    script.write_text(BAD_SCRIPT)
    lines = {}
    for finding in scan(tmp_path):
        path, line, _what = finding.split(":", 2)
        lines.setdefault(path, set()).add(int(line))
    assert lines == {"services/svc/bad.py": {2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13}, "scripts/run": {3, 4, 5}}, lines
    message = "\n".join(scan(tmp_path))
    assert "services/svc/bad.py:2: from opentelemetry.instrumentation._semconv import" in message
    assert "services/svc/bad.py:7: opentelemetry.trace._TRACER_PROVIDER" in message


def test_the_checker_reports_a_file_that_does_not_parse(tmp_path):
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "broken.py").write_text("def f(:\n")
    (finding,) = scan(tmp_path)
    assert finding.startswith("bench/broken.py:1: does not parse")
