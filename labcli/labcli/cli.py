"""Argument parsing and one function per subcommand."""
import argparse
import os
import re
import socket
import sys

from . import (adopt, awscreds, cleanup, compose, dashboard, faults, insights, journey, kindlab,
               metricsview, servicemap, traceview, verify)
from .compose import LabError, docker_compose
from .urls import lab_urls, table


def cmd_up(args):
    backend = args.backend or compose.default_backend()
    existing = compose.containers()
    cfg = compose.config(backend)
    _require_free_ports(cfg, existing)  # before anything is stopped or started
    current = compose.running_backend()
    if current and current != backend:
        print(f"lab: switching backend {current} -> {backend}: stopping the {current} lab first", file=sys.stderr)
        docker_compose("down", "--remove-orphans", backend=compose.ALL_PROFILES)
    if backend == "aws":
        for problem in awscreds.problems(cfg["services"]["collector"]):
            print(f"lab: warning: {problem}", file=sys.stderr)
    up = ["up", "--detach", "--wait", "--wait-timeout", str(args.timeout), "--remove-orphans"]
    if args.build is True:
        up.append("--build")
    elif args.build is False:
        up.append("--no-build")
    print(f"lab: starting the lab with backend {backend} (docker compose {' '.join(up)})", file=sys.stderr)
    try:
        docker_compose(*up, backend=backend)
    except LabError:
        if not existing:  # nothing ran before: leave nothing half-started behind
            docker_compose("down", "--remove-orphans", backend=compose.ALL_PROFILES, capture=True, check=False)
        raise
    print(f"\nThe lab is up (backend {backend}):")
    print_urls(backend)
    return 0


def _host_ports(container):
    """Host ports a lab container publishes (from `docker compose ps --format json`)."""
    ports = {int(p["PublishedPort"]) for p in container.get("Publishers") or [] if p.get("PublishedPort")}
    return ports | {int(m) for m in re.findall(r":(\d+)->", container.get("Ports") or "")}


def _require_free_ports(cfg, existing):
    """One clear line, and nothing started, when another program holds a port the lab (resolved
    compose config cfg) publishes."""
    ours = {port for c in existing for port in _host_ports(c)}
    for name, svc in cfg.get("services", {}).items():
        for port in svc.get("ports", []):
            host, number = port.get("host_ip") or "0.0.0.0", int(port.get("published") or 0)
            if not number or number in ours:
                continue
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((host, number))
                except OSError:
                    raise LabError(f"port {host}:{number} ({name}) is already in use by another program: "
                                   f"free it or pick another port in .env/the shell (e.g. PETHISTORY_PORT=18080)")


def cmd_down(args):
    # The flag file outlives the containers (a volume): switch it off now, so the next lab's
    # history service cannot read an old "on" before its console resets the file.
    faults.clear_quietly()
    extra = ["--volumes"] if args.volumes else []
    docker_compose("down", "--remove-orphans", *extra, backend=compose.ALL_PROFILES)
    return 0


def cmd_status(args):
    rows = []
    containers = compose.containers()
    restarted = compose.restarts(containers)
    for c in containers:
        health = c.get("Health") or "-"
        ports = ", ".join(sorted({p.strip() for p in (c.get("Ports") or "").split(",")
                                  if "->" in p and "::" not in p})) or "-"
        service = c.get("Service", "?")
        rows.append((service, c.get("State", "?"), health, compose.restart_note(*restarted.get(service, (0, False))) or "-", ports))
    if not rows:
        print("The lab is not running (scripts/lab up).")
        return 0
    backend = compose.running_backend() or "?"
    print(f"backend: {backend}\n")
    print(table(sorted(rows), headers=("SERVICE", "STATE", "HEALTH", "RESTARTS", "PORTS")))
    lost = sorted(s for s, (count, _) in restarted.items() if count)
    if lost:
        print(f"\nlab: restarted since the lab started: {', '.join(lost)}; what they held in memory before is gone "
              f"(scripts/lab logs SERVICE)", file=sys.stderr)
    if backend in compose.BACKENDS:
        print()
        print_urls(backend)
    return 0


def _service(name):
    known = compose.services()
    if name not in known:
        raise LabError(f"unknown service {name!r} (one of: {', '.join(known)})")
    return name


def cmd_logs(args):
    extra = ["--follow"] if args.follow else []
    return docker_compose("logs", "--tail", str(args.tail), *extra, _service(args.service),
                          backend=compose.ALL_PROFILES, check=False)


def cmd_stop(args):
    docker_compose("stop", _service(args.service), backend=compose.ALL_PROFILES)
    return 0


def cmd_start(args):
    # `start` restarts an existing (stopped) container; it does not create one.
    docker_compose("start", _service(args.service), backend=compose.ALL_PROFILES)
    return 0


_DURATION = re.compile(r"^(\d+[hms])+$|^\d+$")


def cmd_load(args):
    """A headless Locust run (loadgen/locustfile.py) against the running lab's PetSite."""
    backend = compose.running_backend()
    if backend is None:
        raise LabError("the lab is not running (scripts/lab up)")
    if args.users < 1:
        raise LabError("--users must be at least 1")
    if not _DURATION.match(args.duration):
        raise LabError(f"--duration {args.duration!r}: use seconds or e.g. 30s, 5m, 1h30m")
    think = ["-e", f"LOADGEN_THINK_SECONDS={args.think}"] if args.think is not None else []
    run = ["run", "--rm", "--no-deps", *think, "loadgen",
           "--headless", "-u", str(args.users), "-r", str(args.spawn_rate or args.users),
           "-t", args.duration, "--stop-timeout", "10", "--only-summary", "--exit-code-on-error", "1"]
    print(f"lab: {args.users} Locust users for {args.duration} against petsite-stub "
          f"(docker compose {' '.join(run)})", file=sys.stderr)
    code = docker_compose(*run, backend=backend, check=False)
    if code:
        print(f"lab: load run failed (exit status {code}): see Locust's summary above", file=sys.stderr)
    return code

def print_urls(backend):
    cfg = compose.config(backend)
    region = os.environ.get("AWS_REGION") or _dotenv_region(cfg)
    print(table(lab_urls(cfg, backend, region)))


def _dotenv_region(cfg):
    env = cfg.get("services", {}).get("collector", {}).get("environment", {}) or {}
    return env.get("AWS_REGION", "us-east-1")


def parser():
    p = argparse.ArgumentParser(prog="lab", description="Run the PetAdoptionsHistory observability lab.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="build and start the lab, wait until healthy, print its URLs")
    up.add_argument("--backend", choices=compose.BACKENDS,
                    help="where telemetry goes (default: LAB_BACKEND from the shell or .env)")
    build = up.add_mutually_exclusive_group()
    build.add_argument("--build", dest="build", action="store_true", default=None,
                       help="rebuild the lab's own images first")
    build.add_argument("--no-build", dest="build", action="store_false",
                       help="never build; fail if an image is missing")
    up.add_argument("--timeout", type=int, default=300, help="seconds to wait for health (default 300)")
    up.set_defaults(func=cmd_up)

    down = sub.add_parser("down", help="stop and remove every container of the lab")
    down.add_argument("--volumes", action="store_true", help="also remove volumes")
    down.set_defaults(func=cmd_down)

    sub.add_parser("status", help="containers, health, ports and URLs").set_defaults(func=cmd_status)

    logs = sub.add_parser("logs", help="show a service's logs")
    logs.add_argument("service")
    logs.add_argument("-f", "--follow", action="store_true")
    logs.add_argument("--tail", default=200, type=int, help="lines (default 200)")
    logs.set_defaults(func=cmd_logs)

    load = sub.add_parser("load", help="run the workshop's traffic headless with Locust, print its summary")
    load.add_argument("-u", "--users", type=int, default=5, help="simulated users (default 5)")
    load.add_argument("-r", "--spawn-rate", type=float, help="users started per second (default: all at once)")
    load.add_argument("-t", "--duration", default="1m", help="run time: seconds or 30s, 5m, 1h30m (default 1m)")
    load.add_argument("--think", type=float, help="mean seconds between a user's cycles (default LOADGEN_THINK_SECONDS)")
    load.set_defaults(func=cmd_load)

    for name, func, text in (("stop", cmd_stop, "stop one service (e.g. postgres, to watch /health/status go 503)"),
                             ("start", cmd_start, "start a stopped service again")):
        s = sub.add_parser(name, help=text)
        s.add_argument("service")
        s.set_defaults(func=func)

    # The walkthrough's steps (one module per subcommand): adopt pets past the blog's 90 rows; read
    # the signals back as its figures show them (map, trace, insights, metrics, dashboard); check
    # them (verify, walkthrough); remove what the aws backend created (cleanup).
    for module in (adopt, servicemap, traceview, insights, metricsview, dashboard, verify, journey, cleanup):
        module.add_parser(sub)
    # Faults to switch on and find with the views above (docs/drills.md).
    faults.add_parser(sub)
    # The same lab on a local Kubernetes cluster (kind/README.md).
    kindlab.add_parser(sub)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        compose.require_engine()
        return args.func(args) or 0
    except LabError as err:
        print(f"lab: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`scripts/lab status | head`): as the Python docs advise, point
        # stdout at /dev/null so the interpreter's final flush does not fail a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
