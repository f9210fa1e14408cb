"""The servers under test: the service under gunicorn, as its image runs it, in named variants.

- instrumented: the service as shipped (the walkthrough's wiring), 100 % of requests traced,
  spans exported over OTLP/gRPC to the bench's receiver;
- uninstrumented: the same with OTEL_SDK_DISABLED=true;
- --variant NAME:VAR=VALUE,...: an instrumented server with these variables on top (server
  settings such as WEB_CONCURRENCY, GUNICORN_THREADS, DB_POOL_SIZE, or any OTEL_* setting).
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from labtest.dockerfile import stage_env
from labtest.pgserver import PostgresServer, free_port

from labbench.common import GUNICORN_CONF, ROOT, TRANSACTIONS, BenchError
from labbench.procs import cpu_ticks, terminate, wait_http, wait_port

# The service's own server settings, printed for every variant (defaults: gunicorn.conf.py, config.py).
SETTINGS = ("WEB_CONCURRENCY", "GUNICORN_THREADS", "DB_POOL_SIZE")
BUILT_IN = ("instrumented", "uninstrumented", "workshop")


class Server:
    """One server process on a free loopback port, its output in workdir/NAME.log; `traced`
    when it exports spans (3 per GET: the receiver's count is checked against it)."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], workdir: Path,
                 traced: bool = False):
        self.name, self.traced, self.env = name, traced, env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"{name}.log"
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [part.replace("{port}", str(self.port)) for part in command],
            cwd=ROOT, env={**os.environ, **env, "PORT": str(self.port)},
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            wait_port(self.port, self.process, what=name)
            wait_http(self.url + TRANSACTIONS)
        except RuntimeError as error:
            self.stop()
            raise RuntimeError(f"{error}; the end of its log:\n{self.log_tail()}") from None

    def log_tail(self, lines: int = 15) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def cpu_ticks(self) -> int:
        """CPU time (clock ticks) used so far by the server and its worker processes."""
        return cpu_ticks(self.process.pid)

    def stop(self) -> None:
        # gunicorn's workers are in the server's session: a stuck one goes with the group.
        terminate(self.process, 30, lambda: os.killpg(self.process.pid, signal.SIGKILL))
        self._log.close()


def service_env(pg: PostgresServer) -> dict[str, str]:
    """What every variant of the service gets: the OpenTelemetry settings its image sets
    (Dockerfile, target pethistory), the database, the log level the image runs with."""
    image = {name: value for name, value in stage_env("pethistory").items() if name.startswith("OTEL_")}
    return {**image, **pg.env(), "LOG_LEVEL": "INFO"}


def traced_env(endpoint: str) -> dict[str, str]:
    """Instrumented as shipped, every request sampled, export to `endpoint`."""
    return {"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_SAMPLER": "always_on",
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}


UNTRACED_ENV = {"OTEL_SDK_DISABLED": "true"}


def gunicorn(name: str, env: dict[str, str], workdir: Path, traced: bool) -> Server:
    """The service as its image runs it: gunicorn with the service's config, the installed package.
    The config fixes one worker (its Prometheus reader counts per process); WEB_CONCURRENCY, when
    set, is passed as --workers, which overrides it: to measure what more workers would buy."""
    workers = env.get("WEB_CONCURRENCY", os.environ.get("WEB_CONCURRENCY"))
    command = [sys.executable, "-m", "gunicorn", "-c", GUNICORN_CONF, "--bind", "127.0.0.1:{port}",
               *(["--workers", workers] if workers else []), "pethistory.wsgi:app"]
    return Server(name, command, env, workdir, traced)


def seed(pg: PostgresServer, rows: int) -> None:
    """The service's own `flask seed` command: `rows` rows of history."""
    env = {**os.environ, **pg.env(), **UNTRACED_ENV}
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "pethistory:create_app()", "seed",
                           "--rows", str(rows)], env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"flask seed failed: {done.stderr.strip()[-500:]}")


def parse_variant(spec: str) -> tuple[str, dict[str, str]]:
    """`NAME:VAR=VALUE,VAR=VALUE` (a --variant option) as (NAME, {VAR: VALUE}); BenchError when
    malformed. Values cannot contain commas."""
    name, colon, assignments = spec.partition(":")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name) or not colon:
        raise BenchError(f"--variant {spec!r}: expected NAME:VAR=VALUE[,VAR=VALUE...]")
    if name in BUILT_IN:
        raise BenchError(f"--variant {spec!r}: {name} is a built-in variant's name")
    extra = {}
    for item in assignments.split(","):
        var, equals, value = item.partition("=")
        if not equals or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", var):
            raise BenchError(f"--variant {spec!r}: {item!r} is not VAR=VALUE")
        extra[var] = value
    return name, extra


def settings(server: Server) -> str:
    """The server's settings ("default": gunicorn.conf.py's and config.py's, when unset)."""
    return " ".join(f"{var}={server.env.get(var, os.environ.get(var, 'default'))}" for var in SETTINGS)


def start_service_variants(pg: PostgresServer, workdir: Path, endpoint: str,
                           variants: list[tuple[str, dict[str, str]]], started) -> dict[str, Server]:
    """instrumented, then each --variant (instrumented, with its variables), then uninstrumented.
    started(server) is called as each one is up (to stop it, even if a later one fails)."""
    traced = {**service_env(pg), **traced_env(endpoint)}
    specs = [("instrumented", traced), *((name, {**traced, **extra}) for name, extra in variants),
             ("uninstrumented", {**service_env(pg), **UNTRACED_ENV})]
    servers = {}
    for name, env in specs:
        servers[name] = gunicorn(name, env, workdir, traced=env["OTEL_SDK_DISABLED"].lower() != "true")
        started(servers[name])
    return servers
