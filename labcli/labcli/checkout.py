"""The lab checkout labcli drives (compose.yaml, .env, collector/).

$LAB_ROOT when set (scripts/lab sets it); else the checkout this package is installed from in
editable mode (pip install -e labcli); else the nearest directory at or above the current one
that holds the lab. None when there is no checkout at all (the console image needs none).
"""
import os
from pathlib import Path


def is_checkout(path):
    return (path / "compose.yaml").is_file() and (path / "labcli" / "pyproject.toml").is_file()


def find():
    if os.environ.get("LAB_ROOT"):
        return Path(os.environ["LAB_ROOT"]).resolve()
    here = Path(__file__).resolve().parents[2]
    cwd = Path.cwd()
    return next((p for p in (here, cwd, *cwd.parents) if is_checkout(p)), None)


ROOT = find()
