"""The ENV a target of the lab's Dockerfile sets, so tests run a program outside its image with the
same settings (one place for them: the Dockerfile)."""
from __future__ import annotations

import shlex
from pathlib import Path

from .checkout import ROOT


def stage_env(target: str, dockerfile: Path | None = None) -> dict[str, str]:
    """Variables set by `ENV` lines in the stage `FROM ... AS target` (not those it inherits)."""
    text = (dockerfile or ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    env, inside, found = {}, False, False
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["FROM"]:
            inside = words[-2:] == ["AS", target]
            found = found or inside
        elif inside and words[:1] == ["ENV"]:
            for item in shlex.split(line.strip()[3:]):
                name, _, value = item.partition("=")
                env[name] = value
    if not found:
        raise LookupError(f"no stage {target!r} in {dockerfile or ROOT / 'Dockerfile'}")
    return env
