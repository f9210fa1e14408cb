"""The ENV a target of the lab's Dockerfile sets, so tests run a program outside its image with the
same settings (one place for them: the Dockerfile)."""
from __future__ import annotations

import shlex
from pathlib import Path

from .checkout import ROOT


def _stages(dockerfile: Path) -> dict[str, tuple[str, dict[str, str]]]:
    """name -> (the image or stage it starts FROM, the variables its own ENV lines set)."""
    stages: dict[str, tuple[str, dict[str, str]]] = {}
    env: dict[str, str] = {}
    for line in dockerfile.read_text().replace("\\\n", " ").splitlines():
        words = line.split()
        if words[:1] == ["FROM"] and words[-2:-1] == ["AS"]:
            env = {}
            stages[words[-1]] = (words[1], env)
        elif words[:1] == ["ENV"]:
            for item in shlex.split(line.strip()[3:]):
                name, _, value = item.partition("=")
                env[name] = value
    return stages


def stage_env(target: str, dockerfile: Path | None = None) -> dict[str, str]:
    """Variables the stage `target` sets with ENV, its own and those of the stages it builds on."""
    path = dockerfile or ROOT / "Dockerfile"
    stages = _stages(path)
    if target not in stages:
        raise LookupError(f"no stage {target!r} in {path}")
    parent, own = stages[target]
    inherited = stage_env(parent, path) if parent in stages else {}
    return {**inherited, **own}
