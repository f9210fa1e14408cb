"""The OTLP/gRPC receiver the instrumented servers export to: a real one, in its own process.

The ADOT collector twin (the lab's collector binary, copied out of its image once and cached) with
the debug exporter, whose log lines count the spans; without Docker (or BENCH_RECEIVER=sink),
labtest's discard-and-count receiver (`python -m labtest.otlp PORT`).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from labtest.checkout import dotenv
from labtest.pgserver import free_port

from labbench.common import CACHE
from labbench.procs import terminate, wait_port

COLLECTOR_IMAGE = dotenv("COLLECTOR_IMAGE")  # the lab's collector image, pinned in .env

COLLECTOR_CONFIG = """\
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{port}
processors:
  batch: {{}}
exporters:
  debug:
    verbosity: basic
service:
  telemetry:
    logs:
      level: info
      sampling:
        enabled: false  # one log line per received batch: the bench counts the spans from them
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [debug]
"""


def docker_engine() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _copy_twin(cached: Path) -> str | None:
    """Copies /otelcol-twin out of the collector image to `cached`; None when done, else why not."""
    if subprocess.run(["docker", "image", "inspect", COLLECTOR_IMAGE], capture_output=True).returncode:
        return f"image {COLLECTOR_IMAGE} not present"
    created = subprocess.run(["docker", "create", COLLECTOR_IMAGE], capture_output=True, text=True)
    if created.returncode != 0:
        return f"docker create failed: {created.stderr.strip()}"
    container = created.stdout.strip()
    try:
        CACHE.mkdir(parents=True, exist_ok=True)
        copied = subprocess.run(["docker", "cp", f"{container}:/otelcol-twin", str(cached)],
                                capture_output=True, text=True)
        if copied.returncode != 0:
            return f"no /otelcol-twin in {COLLECTOR_IMAGE} ({copied.stderr.strip()})"
    finally:
        subprocess.run(["docker", "rm", container], capture_output=True)
    return None


def collector_binary() -> tuple[Path | None, str]:
    """The ADOT collector twin: $BENCH_COLLECTOR_BIN, the cached copy, or a new copy from the
    lab's collector image (`docker create` + `docker cp`); (None, why not) when none."""
    explicit = os.environ.get("BENCH_COLLECTOR_BIN")
    if explicit:
        return Path(explicit), f"otelcol-twin ({explicit})"
    cached = CACHE / "otelcol-twin"
    if cached.is_file() and os.access(cached, os.X_OK):
        return cached, f"otelcol-twin (cached copy from {COLLECTOR_IMAGE}, {cached})"
    if not docker_engine():
        return None, "no Docker engine"
    why_not = _copy_twin(cached)
    if why_not:
        return None, why_not
    return cached, f"otelcol-twin (docker cp from {COLLECTOR_IMAGE})"


class Receiver:
    """A real OTLP/gRPC receiver on 127.0.0.1: the collector twin if it can be had, else labtest's."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.log_path = workdir / "receiver.log"
        if os.environ.get("BENCH_RECEIVER") == "sink":
            binary, why = None, "BENCH_RECEIVER=sink"
        else:
            binary, why = collector_binary()
        self.is_collector = binary is not None
        if self.is_collector:
            config = workdir / "collector.yaml"
            config.write_text(COLLECTOR_CONFIG.format(port=self.port))
            command = [str(binary), f"--config={config}"]
            self.description = why
        else:
            command = [sys.executable, "-m", "labtest.otlp", str(self.port)]
            self.description = f"labtest.otlp, a discard-and-count OTLP/gRPC receiver ({why})"
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT,
                                        env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true"})
        try:
            wait_port(self.port, self.process, what=f"OTLP receiver ({self.description})")
        except RuntimeError:
            self.stop()
            raise

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def spans(self) -> int | None:
        """Spans received so far, from the receiver's log: the collector's debug exporter logs
        each batch ("spans": N); labtest.otlp prints its running total (the last "N spans")."""
        text = self.log_path.read_text(errors="replace")
        if self.is_collector:
            counts = re.findall(r'"spans": (\d+)', text)
            return sum(int(c) for c in counts) if counts else None
        counts = re.findall(r"(\d+) spans", text)
        return int(counts[-1]) if counts else None

    def stop(self) -> None:
        terminate(self.process, 10, self.process.kill)
        self._log.close()
