"""How the tests build kustomizations: `kubectl kustomize` when kubectl is installed, else a
kustomize binary (on PATH, or built once with `go install` and cached).

    PETLAB_KUSTOMIZE   a kustomize binary to use instead of looking
    PETLAB_CACHE       cache root (default /var/cache/petlab): artifacts/kustomize-<version>/
"""
import os
import shutil
import subprocess
from pathlib import Path

# The kustomize kubectl 1.32 embeds; the Go module proxy here serves it.
KUSTOMIZE_VERSION = "v5.5.0"
KUSTOMIZE_MODULE = "sigs.k8s.io/kustomize/kustomize/v5"
# Files outside the kustomization root (.env, collector/, jaeger/, prometheus/) are read.
BUILD_FLAGS = ["--load-restrictor", "LoadRestrictionsNone"]


class ToolMissing(RuntimeError):
    pass


def _works(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _go_install():
    cache = Path(os.environ.get("PETLAB_CACHE", "/var/cache/petlab")) / "artifacts" / f"kustomize-{KUSTOMIZE_VERSION}"
    binary = cache / "kustomize"
    if binary.exists():
        return binary
    if shutil.which("go") is None:
        raise ToolMissing("neither kubectl nor kustomize is installed, and no Go toolchain to build kustomize")
    cache.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["go", "install", f"{KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION}"],
                          env=dict(os.environ, GOBIN=str(cache)), capture_output=True, text=True, timeout=900)
    if proc.returncode != 0 or not binary.exists():
        raise ToolMissing(f"go install {KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION} failed:\n{proc.stderr[-2000:]}")
    return binary


def build_command():
    """The argv prefix that renders a kustomization directory given as the last argument."""
    forced = os.environ.get("PETLAB_KUSTOMIZE")
    if forced:
        return [forced, "build", *BUILD_FLAGS]
    if shutil.which("kubectl") and _works(["kubectl", "kustomize", "--help"]):
        return ["kubectl", "kustomize", *BUILD_FLAGS]
    if shutil.which("kustomize"):
        return ["kustomize", "build", *BUILD_FLAGS]
    return [str(_go_install()), "build", *BUILD_FLAGS]


def build(command, directory):
    proc = subprocess.run([*command, str(directory)], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(command)} {directory} failed:\n{proc.stderr}")
    return proc.stdout
