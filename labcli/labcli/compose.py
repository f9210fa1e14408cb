"""Everything that talks to Docker: one `docker_compose(*args)` helper owns the project
directory, the compose file, the backend (LAB_BACKEND) and the profiles it implies."""
import json
import os
import shutil
import subprocess
from pathlib import Path

from .checkout import ROOT

BACKENDS = ("local", "emulated", "aws")
ALL_PROFILES = "*"


class LabError(Exception):
    """A failure worth one line on stderr and a non-zero exit, never a traceback."""


def root():
    """The lab checkout (see checkout.py), or a LabError saying how to point at one."""
    if ROOT is None or not (ROOT / "compose.yaml").is_file():
        where = f"LAB_ROOT={ROOT}" if ROOT else "no lab checkout at or above the current directory"
        raise LabError(f"{where}: no compose.yaml (run scripts/lab from the repository, or set LAB_ROOT)")
    return ROOT


def _env(backend):
    env = dict(os.environ)
    # With no ~/.aws, Docker would create a root-owned one for the mount (even for the aws
    # backend, whose credentials may all come from the shell).
    if "LAB_AWS_DIR" not in env and not (Path.home() / ".aws").is_dir():
        env["LAB_AWS_DIR"] = str(root() / "collector" / "no-aws-config")
    if backend == "aws" and "LAB_COLLECTOR_USER" not in env and os.getuid() != 0:
        # ~/.aws/credentials is usually 0600: only its owner can read it through the mount.
        env["LAB_COLLECTOR_USER"] = f"{os.getuid()}:{os.getgid()}"
    if backend is not None:
        env["LAB_BACKEND"] = backend
        # Profiles follow the backend ("*" = every profile, for down/logs/stop of any service).
        env["COMPOSE_PROFILES"] = backend
    return env


def docker_compose(*args, backend=None, capture=False, check=True):
    """Run `docker compose <args>` for the lab project.

    backend: local|emulated|aws sets LAB_BACKEND and the matching profile; "*" enables every
    profile (so down/stop/logs reach services of any backend); None leaves .env/the shell decide.
    capture: return stdout as text instead of streaming to the terminal.
    """
    cmd = ["docker", "compose", "--project-directory", str(root()), "-f", str(root() / "compose.yaml"), *args]
    env = _env(backend)
    if backend == ALL_PROFILES:
        env["COMPOSE_PROFILES"] = ALL_PROFILES
        env.setdefault("LAB_BACKEND", "local")
    try:
        proc = subprocess.run(cmd, env=env, text=True, cwd=root(),
                              stdout=subprocess.PIPE if capture else None,
                              stderr=subprocess.PIPE if capture else None)
    except FileNotFoundError:
        raise LabError("docker not found on PATH (install Docker; in CI: .ci/docker-engine start)")
    if check and proc.returncode != 0:
        detail = (proc.stderr or "").strip().splitlines()
        reason = detail[-1] if detail else f"exit status {proc.returncode}"
        raise LabError(f"docker compose {' '.join(args[:2])} failed: {reason}")
    return proc.stdout if capture else proc.returncode


def require_engine():
    """Fail in one line if the docker client, the engine or the compose plugin is missing."""
    if shutil.which("docker") is None:
        raise LabError("docker not found on PATH (install Docker; in CI: .ci/docker-engine start)")
    probe = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        host = os.environ.get("DOCKER_HOST", "the default socket")
        raise LabError(f"cannot reach the Docker engine at {host} (is it running? in CI: .ci/docker-engine start)")
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    if probe.returncode != 0:
        raise LabError("the Docker Compose v2 plugin is missing (`docker compose version` fails)")


def config(backend):
    """The fully resolved compose model (ports, images...) for a backend, as a dict."""
    return json.loads(docker_compose("config", "--format", "json", backend=backend, capture=True))


def services():
    """Every service of compose.yaml, whatever its profile."""
    out = docker_compose("config", "--services", backend=ALL_PROFILES, capture=True)
    return [line for line in out.split() if line]


def containers():
    """The project's containers (running or not) as dicts from `docker compose ps`."""
    out = docker_compose("ps", "-a", "--format", "json", backend=ALL_PROFILES, capture=True).strip()
    if not out:
        return []
    if out.startswith("["):
        return json.loads(out)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def restarts(containers):
    """{service: (restarts, oom_killed)} of the given `docker compose ps` dicts: how often Docker
    restarted each container since it was created (its restart policy), and whether the kernel
    killed it for memory (its last exit, or an `oom` event the engine still holds since then)."""
    if not containers:
        return {}
    names = [c["Name"] for c in containers]
    proc = subprocess.run(["docker", "inspect", "--format",
                           "{{.Name}} {{.RestartCount}} {{.State.OOMKilled}} {{.Created}}", *names],
                          capture_output=True, text=True)
    facts, since = {}, None
    for line in proc.stdout.splitlines():
        name, count, oom, created = line.split()
        facts[name.lstrip("/")] = (int(count), oom == "true")
        since = created if since is None else min(since, created)
    if since:
        events = subprocess.run(["docker", "events", "--since", since, "--until", "0s",
                                 "--filter", "type=container", "--filter", "event=oom",
                                 "--format", "{{.Actor.Attributes.name}}", *[f"--filter=container={n}" for n in names]],
                                capture_output=True, text=True, timeout=30)
        for name in events.stdout.split():
            if name in facts:
                facts[name] = (facts[name][0], True)
    by_name = {c["Name"]: c["Service"] for c in containers}
    return {by_name[name]: fact for name, fact in facts.items() if name in by_name}


def restart_note(restarts, oom_killed):
    """'' or how often Docker restarted a container and whether memory was why ('2 (OOM-killed)')."""
    if not restarts and not oom_killed:
        return ""
    return f"{restarts}{' (OOM-killed)' if oom_killed else ''}"


def running():
    """The project's running containers by service (dicts from `docker compose ps`)."""
    return {c["Service"]: c for c in containers() if c.get("State") == "running"}


def running_backend():
    """The backend the collector container was started with, or None if there is none."""
    for c in containers():
        if c.get("Service") != "collector":
            continue
        inspect = subprocess.run(["docker", "inspect", "--format", "{{json .Args}}", c["Name"]],
                                 capture_output=True, text=True)
        if inspect.returncode != 0:
            return None
        for arg in reversed(json.loads(inspect.stdout)):
            name = Path(arg.split("=", 1)[-1]).stem
            if name in BACKENDS:
                return name
    return None


def dotenv(name):
    """The value .env gives `name` as written (no interpolation), or ''."""
    env_file = root() / ".env"
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() == name:
                return value.strip().strip("'\"")
    return ""


def default_backend():
    """LAB_BACKEND from the shell, else from .env, else local."""
    return os.environ.get("LAB_BACKEND") or dotenv("LAB_BACKEND") or "local"
