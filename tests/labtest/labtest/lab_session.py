"""The running lab for e2e tests (marker e2e), as a pytest plugin: a suite's conftest.py says
`pytest_plugins = ["labtest.lab_session"]` (tests/lab, tests/reliability).

e2e tests bring the lab up with `scripts/lab up --backend X` once per backend (each backend's
first with --build, so a session never runs images an earlier checkout left, the emulated
backend's emulator included) and `scripts/lab down` at the end: the emulated backend's tests run
after all others, so a session switches backend once. They only talk to the 127.0.0.1 ports
published by compose (read from the resolved compose config).
Env: LAB_E2E=auto|required|off; LAB_E2E_KEEP=1 leaves the lab running.
The lab is one compose project per machine, so a session holds the lock LAB_E2E_LOCK
(default /tmp/petlab-lab.lock, the file `flock` users take too) while it drives the lab; it
waits up to LAB_E2E_LOCK_WAIT seconds (900) for another session, and does not lock again
when started under `flock <same file> ...`. LAB_E2E_LOCK= (empty) disables the lock.
"""
import os
import shutil
import subprocess

import pytest
from labcli import compose as labcompose
from labcli import lablock
from labcli.urls import published

from .checkout import LAB, ROOT

# moto checks no signature: the lab's fixed dummy key (collector/env/emulated.env has the same).
EMULATOR_KEY = "petlab"


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: needs Docker; starts the lab with scripts/lab up")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("LAB_E2E", "auto") == "off":
        skip = pytest.mark.skip(reason="LAB_E2E=off")
        for item in items:
            if "e2e" in item.keywords:
                item.add_marker(skip)
    # The emulated backend's tests last, in their order: bringing the lab up on the other backend
    # takes half a minute, and modules alternate between backends.
    items.sort(key=lambda item: backend_of(item) == "emulated")


def backend_of(item):
    """The backend a test runs the lab on: that of its lab fixture, or its `backend` parameter
    when it drives lab_session itself; None when it needs no lab."""
    names = item.fixturenames
    if "emulated_lab" in names:
        return "emulated"
    if "local_lab" in names:
        return "local"
    callspec = getattr(item, "callspec", None)
    if "lab_session" in names and callspec is not None:
        return callspec.params.get("backend")
    return None


def docker_engine_answers():
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                           capture_output=True, text=True)
    return probe.returncode == 0


def _take_lab_lock():
    try:
        return lablock.acquire(float(os.environ.get("LAB_E2E_LOCK_WAIT", "900")))
    except TimeoutError as error:
        pytest.fail(f"{error}; LAB_E2E_LOCK_WAIT exceeded")


class LabSession:
    """The one running lab of a test session; switches backend on demand."""

    def __init__(self):
        self.backend = None
        self.built = set()   # backends whose images this session built
        self.lock = _take_lab_lock()

    def ensure(self, backend):
        if self.backend != backend:
            # The lab's own images are rebuilt once per session and backend (quick when nothing
            # changed; a backend's profile brings its own, like the emulator), so the tests never
            # run images an earlier checkout left behind.
            build = [] if backend in self.built else ["--build"]
            proc = subprocess.run([str(LAB), "up", "--backend", backend, *build],
                                  cwd=ROOT, text=True, capture_output=True)
            if proc.returncode != 0:
                logs = subprocess.run([str(LAB), "status"], cwd=ROOT,
                                      text=True, capture_output=True).stdout
                pytest.fail(f"scripts/lab up --backend {backend} failed:\n{proc.stderr[-3000:]}\n{logs}")
            self.backend = backend
            self.built.add(backend)
        return LabEndpoints(backend)

    def close(self):
        if self.backend and not os.environ.get("LAB_E2E_KEEP"):
            subprocess.run([str(LAB), "down"], cwd=ROOT, capture_output=True)
        if self.lock:
            self.lock.close()  # releases the flock


class LabEndpoints:
    """Base URLs of the running lab on 127.0.0.1, from the resolved compose config."""

    def __init__(self, backend):
        self.backend = backend
        cfg = labcompose.config(backend)

        def url(service, port):
            addr = published(cfg, service, port)
            if addr is None:
                return None
            assert addr.startswith("127.0.0.1:"), f"{service} is published on {addr}, not loopback"
            return f"http://{addr}"

        self.pethistory = url("pethistory", 8080)
        self.jaeger = url("jaeger", 16686)
        self.prometheus = url("prometheus", 9090)
        self.moto = url("moto", 4566)
        self.region = cfg["services"]["collector"]["environment"]["AWS_REGION"]

    def aws(self, service):
        """A boto3 client of the AWS emulator (backend emulated), with the lab's dummy credentials."""
        import boto3  # the emulated backend's tests only

        return boto3.client(service, endpoint_url=self.moto, region_name=self.region,
                            aws_access_key_id=EMULATOR_KEY, aws_secret_access_key=EMULATOR_KEY)

    def aws_env(self):
        """The environment of `python -m labcli ... --backend aws` aimed at this lab's emulator."""
        return emulator_env(self.moto, self.region)


def emulator_env(endpoint, region):
    """The environment in which `python -m labcli ... --backend aws` (boto3, the real-AWS path)
    talks to an emulator at endpoint instead: boto3 honours AWS_ENDPOINT_URL."""
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": EMULATOR_KEY,
           "AWS_SECRET_ACCESS_KEY": EMULATOR_KEY, "AWS_REGION": region, "LAB_ROOT": str(ROOT)}
    env.pop("AWS_PROFILE", None)
    return env


@pytest.fixture(scope="session")
def lab_session():
    if os.environ.get("LAB_E2E", "auto") == "off":  # also for a test that lacks the e2e marker
        pytest.skip("LAB_E2E=off")
    if not docker_engine_answers():
        reason = "no Docker engine answers (start one: .ci/docker-engine start)"
        if os.environ.get("LAB_E2E", "auto") == "required":
            pytest.fail(f"LAB_E2E=required but {reason}")
        pytest.skip(reason)
    session = LabSession()
    yield session
    session.close()


@pytest.fixture(scope="module")
def local_lab(lab_session):
    return lab_session.ensure("local")


@pytest.fixture(scope="module")
def emulated_lab(lab_session):
    return lab_session.ensure("emulated")


@pytest.fixture(scope="session", autouse=True)
def lab_cli_ready():
    """scripts/lab prepares its venv on its first run and says so on stderr: done here, once, so
    no test that reads a command's stderr line by line sees that line."""
    proc = subprocess.run([str(LAB), "--help"], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"scripts/lab --help failed:\n{proc.stderr[-2000:]}")
