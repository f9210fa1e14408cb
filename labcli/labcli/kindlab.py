"""`lab kind up|down|status`: the lab on a local kind cluster, kind/README.md's steps as one command.

up      create the cluster from kind/cluster.yaml (node image: --image, else KIND_NODE_IMAGE from
        .env), build the project's images with compose, load every image the kind overlay runs into
        the node, render the overlay (kustomize) and apply it, wait for every Deployment, start
        port-forwards to the UIs on the host ports compose publishes, print the URLs
down    stop those port-forwards, delete the cluster
status  the cluster, its Deployments, the port-forwards and the URLs
The kind overlay runs the local backend (Jaeger and Prometheus in the cluster); the eks overlay
is for Amazon EKS (kind/README.md). Progress and each step's seconds go to stderr.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from . import compose
from .compose import LabError
from .urls import PETHISTORY_API, published, table

CLUSTER = "petlab"
CONTEXT = f"kind-{CLUSTER}"
NAMESPACE = "petlab"
# The project's images: the compose services that build them.
BUILT = ("pethistory", "petsite-stub", "loadgen", "console")
# The UIs reached through `kubectl port-forward` (Service, its port), on the host port compose
# publishes the same service on (.env).
FORWARDS = (("petsite-stub", 8000), ("loadgen", 8089), ("console", 8070), ("jaeger", 16686),
            ("prometheus", 9090))
# kind/cluster.yaml maps the walkthrough's NodePort 30303 to this host port.
PETHISTORY_HOST_PORT = 8080
HOW_TO_GET = {
    "kind": "go install sigs.k8s.io/kind@v0.33.0 (or https://kind.sigs.k8s.io/docs/user/quick-start/#installation)",
    "kubectl": "https://kubernetes.io/docs/tasks/tools/ (1.29 or later)",
}


def say(message, started=None):
    took = f" ({time.monotonic() - started:.0f} s)" if started is not None else ""
    print(f"lab kind: {message}{took}", file=sys.stderr, flush=True)


def tool(name):
    path = shutil.which(name)
    if path is None:
        raise LabError(f"{name} not found on PATH: {HOW_TO_GET[name]}")
    return path


def run(*cmd, stdin=None, capture=False, timeout=None):
    """A command whose failure is one LabError line (its last line of stderr)."""
    proc = subprocess.run(cmd, input=stdin, text=True, capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise LabError(f"{' '.join(cmd[:3])} failed: {detail[-1] if detail else f'exit status {proc.returncode}'}")
    return proc.stdout if capture else None


def settings():
    """What the kind lab takes from compose's resolved configuration (.env, the shell overriding
    it): the host port of each forwarded UI, the project's image names, the node image."""
    cfg = compose.config("local")
    ports = {service: int(published(cfg, service, port).rsplit(":", 1)[1]) for service, port in FORWARDS}
    images = {name: cfg["services"][name]["image"] for name in BUILT}
    return {"ports": ports, "images": images,
            "node_image": os.environ.get("KIND_NODE_IMAGE") or compose.dotenv("KIND_NODE_IMAGE")}


def clusters():
    return run(tool("kind"), "get", "clusters", capture=True).split()


def rendered():
    """The kind overlay as kubectl kustomize renders it (kind/README.md's command)."""
    return run(tool("kubectl"), "kustomize", "--load-restrictor", "LoadRestrictionsNone",
               str(compose.root() / "kind" / "overlays" / "kind"), capture=True)


def images_of(manifests):
    """Every container image the rendered manifests run."""
    return sorted(set(re.findall(r"^\s*(?:-\s+)?image:\s*['\"]?([^\s'\"]+)", manifests, re.M)))


def state_file():
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "petlab" / f"kind-{CLUSTER}-port-forwards.json"


def require_free(ports):
    for port in ports:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                raise LabError(f"127.0.0.1:{port} is taken (the compose lab? scripts/lab down; or another "
                               f"program): the kind lab publishes the same ports") from None


def start_forwards(conf):
    """Background `kubectl port-forward`s to the UIs; their pids go to the state file."""
    kubectl, started = tool("kubectl"), []
    log_dir = state_file().parent
    log_dir.mkdir(parents=True, exist_ok=True)
    for service, port in FORWARDS:
        host_port = conf["ports"][service]
        log = open(log_dir / f"kind-{CLUSTER}-forward-{service}.log", "w")
        proc = subprocess.Popen([kubectl, "--context", CONTEXT, "-n", NAMESPACE, "port-forward",
                                 "--address", "127.0.0.1", f"svc/{service}", f"{host_port}:{port}"],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        started.append({"service": service, "pid": proc.pid, "port": host_port})
    state_file().write_text(json.dumps(started, indent=1))
    deadline = time.monotonic() + 30
    for forward in started:
        while not answers(forward["port"]):
            if time.monotonic() > deadline:
                raise LabError(f"port-forward to {forward['service']} on 127.0.0.1:{forward['port']} does not "
                               f"answer (log: {log_dir}/kind-{CLUSTER}-forward-{forward['service']}.log)")
            time.sleep(0.5)
    return started


def answers(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def alive(pid):
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"port-forward" in cmdline


def stop_forwards():
    stopped = 0
    try:
        forwards = json.loads(state_file().read_text())
    except (OSError, ValueError):
        return 0
    for forward in forwards:
        if alive(forward["pid"]):   # not a pid reused by another program since
            os.killpg(forward["pid"], signal.SIGTERM)
            stopped += 1
    state_file().unlink(missing_ok=True)
    return stopped


def urls(conf):
    rows = [("pethistory API (NodePort 30303)", f"http://127.0.0.1:{PETHISTORY_HOST_PORT}{PETHISTORY_API}"),
            ("pethistory metrics", f"http://127.0.0.1:{PETHISTORY_HOST_PORT}/metrics")]
    labels = {"petsite-stub": "PetSite page", "loadgen": "Locust web UI (load)", "console": "lab console",
              "jaeger": "Jaeger UI (traces)", "prometheus": "Prometheus (metrics)"}
    paths = {"jaeger": "/search?service=PetAdoptionsHistory", "prometheus": "/graph?g0.expr=transactions_history_count"}
    for service, _ in FORWARDS:
        rows.append((labels[service], f"http://127.0.0.1:{conf['ports'][service]}{paths.get(service, '/')}"))
    return rows


def cmd_up(args):
    kind, kubectl = tool("kind"), tool("kubectl")
    conf = settings()
    image = args.image or conf["node_image"]
    if not image:
        raise LabError("no node image: set KIND_NODE_IMAGE (.env) or pass --image")
    t0 = time.monotonic()
    if CLUSTER in clusters():
        say(f"cluster {CLUSTER} exists: reusing it")
    else:
        require_free([PETHISTORY_HOST_PORT, *conf["ports"].values()])
        say(f"creating cluster {CLUSTER} (kind create cluster --config kind/cluster.yaml --image {image})")
        step = time.monotonic()
        run(kind, "create", "cluster", "--name", CLUSTER, "--config", str(compose.root() / "kind" / "cluster.yaml"),
            "--image", image, "--wait", "120s")
        say("cluster created", step)
    if args.build:
        step = time.monotonic()
        say(f"building the project's images (docker compose build {' '.join(BUILT)})")
        compose.docker_compose("build", *BUILT, backend="local", capture=True)
        say("images built", step)
    manifests = rendered()
    images = images_of(manifests)
    missing = [i for i in images if subprocess.run(["docker", "image", "inspect", i], capture_output=True).returncode]
    for name in missing:
        step = time.monotonic()
        say(f"pulling {name}")
        run("docker", "pull", name)
        say(f"pulled {name}", step)
    step = time.monotonic()
    say(f"loading {len(images)} images into the node (kind load docker-image)")
    run(kind, "load", "docker-image", "--name", CLUSTER, *images)
    say("images loaded", step)
    step = time.monotonic()
    say("applying kind/overlays/kind (kubectl kustomize ... | kubectl apply -f -)")
    run(kubectl, "--context", CONTEXT, "apply", "-f", "-", stdin=manifests)
    say(f"waiting for every Deployment in namespace {NAMESPACE} (up to {args.timeout} s)")
    run(kubectl, "--context", CONTEXT, "-n", NAMESPACE, "wait", "--for=condition=Available", "deployment",
        "--all", f"--timeout={args.timeout}s")
    say("every Deployment available", step)
    stop_forwards()   # an earlier up's, if any
    start_forwards(conf)
    say(f"the kind lab is up: cluster {CLUSTER}, context {CONTEXT}", t0)
    print(table(urls(conf)))
    return 0


def cmd_down(args):
    kind = tool("kind")
    stopped = stop_forwards()
    say(f"stopped {stopped} port-forward(s)")
    if CLUSTER in clusters():
        step = time.monotonic()
        run(kind, "delete", "cluster", "--name", CLUSTER)
        say(f"cluster {CLUSTER} deleted", step)
    else:
        say(f"no cluster {CLUSTER}")
    return 0


def cmd_status(args):
    tool("kind")   # both missing: the same one-line error as up and down
    kubectl = tool("kubectl")
    if CLUSTER not in clusters():
        print(f"No kind cluster {CLUSTER} (scripts/lab kind up).")
        return 0
    print(f"cluster: {CLUSTER} (context {CONTEXT})\n")
    print(run(kubectl, "--context", CONTEXT, "-n", NAMESPACE, "get", "deployments", capture=True).rstrip())
    try:
        forwards = json.loads(state_file().read_text())
    except (OSError, ValueError):
        forwards = []
    rows = [(f["service"], f"127.0.0.1:{f['port']}", "running" if alive(f["pid"]) else "stopped") for f in forwards]
    print()
    print(table(rows, headers=("PORT-FORWARD", "ADDRESS", "STATE")) if rows else "no port-forwards (scripts/lab kind up starts them)")
    print()
    print(table(urls(settings())))
    return 0


def add_parser(sub):
    p = sub.add_parser("kind", help="the lab on a local kind cluster: up, down, status (kind/README.md)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = actions.add_parser("up", help="create the cluster, load the images, apply the kind overlay, wait, port-forward")
    up.add_argument("--image", help="kind node image (default: KIND_NODE_IMAGE from .env)")
    up.add_argument("--no-build", dest="build", action="store_false", help="do not build the project's images first")
    up.add_argument("--timeout", type=int, default=600, help="seconds to wait for the Deployments (default 600)")
    up.set_defaults(func=cmd_up)
    actions.add_parser("down", help="stop the port-forwards, delete the cluster").set_defaults(func=cmd_down)
    actions.add_parser("status", help="the cluster's Deployments, the port-forwards, the URLs").set_defaults(func=cmd_status)
