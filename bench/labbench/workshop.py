"""The workshop's own stack, for the vs-workshop figure: its pins (bench/workshop-requirements.txt:
Flask 2.2.5, Werkzeug 2.2.2, psycopg 3.2.5 over the system's libpq) in a venv of their own under
the bench cache, keyed by a hash of the pinned file, running workshop_app.py."""
from __future__ import annotations

import ctypes.util
import fcntl
import hashlib
import shutil
import subprocess
import venv
from pathlib import Path

from labtest.pgserver import PostgresServer

from labbench.common import CACHE, BenchError, log
from labbench.servers import Server

REQUIREMENTS = Path(__file__).resolve().parents[1] / "workshop-requirements.txt"
APP = Path(__file__).with_name("workshop_app.py")
STAMP = "installed-requirements.txt"  # written last: the venv is complete


def venv_dir() -> Path:
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]
    return CACHE / f"workshop-venv-{digest}"


def ensure_venv() -> Path:
    """The workshop venv's Python: built once per version of the pinned file (a few seconds with
    the wheels cached), reused after. A venv counts as built once its stamp is written, after
    pip succeeded; one build at a time (a lock file next to it)."""
    if not ctypes.util.find_library("pq"):
        raise BenchError("the workshop's psycopg needs the system's libpq: apt-get install libpq5 "
                         "(or --no-workshop)")
    target = venv_dir()
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(target.with_name(target.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / STAMP).is_file():
            build(target)
    return target / "bin" / "python"


def build(target: Path) -> None:
    log(f"workshop venv: creating {target} from {REQUIREMENTS.name}")
    venv.EnvBuilder(with_pip=True, clear=True).create(target)
    log("workshop venv: installing Flask 2.2.5, Werkzeug 2.2.2, psycopg 3.2.5 (hash-checked)")
    done = subprocess.run([str(target / "bin" / "python"), "-m", "pip", "install", "-q",
                           "--disable-pip-version-check", "--require-hashes", "--no-deps",
                           "-r", str(REQUIREMENTS)], capture_output=True, text=True)
    if done.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        raise BenchError(f"workshop venv: pip install failed: {done.stderr.strip()[-500:]}")
    (target / STAMP).write_text(REQUIREMENTS.read_text())
    log("workshop venv: ready")
    for stale in CACHE.glob("workshop-venv-*"):  # built from earlier pins
        if stale.is_dir() and stale != target:
            shutil.rmtree(stale, ignore_errors=True)


def start(pg: PostgresServer, workdir: Path) -> Server:
    """The workshop app under Flask's development server; -I: only its venv's packages."""
    return Server("workshop", [str(ensure_venv()), "-I", str(APP)], pg.env(), workdir)
