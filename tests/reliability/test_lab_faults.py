"""Faults in the running lab (backend local), each under bounded load on 127.0.0.1:
postgres stopped (503 JSON, health says why, 200 within 5 s of its start), collector stopped
(requests keep succeeding, pethistory memory flat, export resumes to Jaeger), Jaeger stopped
(collector memory bounded, traces flow again), SIGTERM to pethistory (buffered spans flushed);
a crashed container restarted by Docker (counted by `lab status`, failing `lab verify`); then (backend
emulated) the AWS emulator stopped (collector memory bounded, X-Ray export resumes)."""
import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from labcli import compose as labcompose
from labtest.checkout import LAB, ROOT
from labtest.docker_memory import container_memory
from labtest.lab_http import API, get, new_trace_id, poll, traced_get, xray_id

pytestmark = pytest.mark.e2e


def lab(*args):
    subprocess.run([str(LAB), *args], cwd=ROOT, check=True, capture_output=True, timeout=180)


def memory_mib(service):
    name = f"petlab-{service}-1"
    return container_memory([name])[name]


class Load:
    """Threads GETting the history until stop() or 60 s; (status, seconds) per request."""

    def __init__(self, base, threads=4):
        self.base, self.results, self._stop = base, [], threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        for t in self.threads:
            t.start()

    def _run(self):
        end = time.monotonic() + 60
        while not self._stop.is_set() and time.monotonic() < end and len(self.results) < 20_000:
            start = time.monotonic()
            try:
                with urllib.request.urlopen(self.base + API, timeout=10) as r:
                    r.read()
                    status = r.status
            except urllib.error.HTTPError as e:
                status = e.code
            except OSError:
                status = 0
            self.results.append((status, time.monotonic() - start))
            time.sleep(0.01)

    def stop(self):
        self._stop.set()
        for t in self.threads:
            t.join(15)
        return self.results


def stopped_under_load(base, service, watched, seconds, warmup=0):
    """Stop `service` for `seconds` while GETs go to `base`: (results, MiB of `watched` before, after)."""
    load = Load(base)
    time.sleep(warmup)
    lab("stop", service)
    try:
        before = memory_mib(watched)
        time.sleep(seconds)
        after = memory_mib(watched)
    finally:
        results = load.stop()
        lab("start", service)
    return results, before, after


def jaeger_has(lab_, trace_id):
    def fetch():
        _, body = get(f"{lab_.jaeger}/api/traces/{trace_id}")
        return (body or {}).get("data")
    return fetch


def test_postgres_stopped_gives_503_json_then_200_within_5s_of_start(local_lab):
    lab("stop", "postgres")
    try:
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(local_lab.pethistory + API, timeout=10)
        assert answer.value.code == 503
        assert json.loads(answer.value.read())["message"].startswith("database unavailable")
        with pytest.raises(urllib.error.HTTPError) as health:
            urllib.request.urlopen(local_lab.pethistory + "/health/status", timeout=10)
        assert json.loads(health.value.read())["database"] == "unreachable"
    finally:
        lab("start", "postgres")
    started = time.monotonic()
    poll(lambda: get(local_lab.pethistory + API)[0] == 200, 5, interval_s=0.2, what="200 after postgres start")
    print(f"\nlab: 200 again {time.monotonic() - started:.1f} s after `scripts/lab start postgres` returned")


def test_collector_stopped_under_load_requests_succeed_and_export_resumes(local_lab):
    results, before, after = stopped_under_load(local_lab.pethistory, "collector", "pethistory", 15, warmup=3)
    assert results and all(status == 200 for status, _ in results), {s for s, _ in results}
    p99 = sorted(t for _, t in results)[int(0.99 * (len(results) - 1))]
    assert after <= before * 1.25, (before, after)
    trace_id = new_trace_id()
    poll(lambda: traced_get(local_lab.pethistory, trace_id) == 200 and jaeger_has(local_lab, trace_id)(),
         90, interval_s=3, what="a new trace in Jaeger after the collector's return")
    print(f"\nlab, collector down: {len(results)} requests all 200, p99 {p99 * 1000:.0f} ms, "
          f"pethistory {before:.0f} -> {after:.0f} MiB")


def test_jaeger_stopped_collector_memory_bounded_and_traces_flow_again(local_lab):
    results, before, after = stopped_under_load(local_lab.pethistory, "jaeger", "collector", 20)
    assert all(status == 200 for status, _ in results)
    assert after < 256 * 0.8 and after <= before * 1.5 + 20, (before, after)  # under its mem_limit
    trace_id = new_trace_id()
    poll(lambda: traced_get(local_lab.pethistory, trace_id) == 200 and jaeger_has(local_lab, trace_id)(),
         90, interval_s=3, what="a new trace in Jaeger after its return")
    print(f"\nlab, jaeger down: collector {before:.0f} -> {after:.0f} MiB")


def test_sigterm_to_pethistory_flushes_the_last_requests_spans(local_lab):
    last = [new_trace_id() for _ in range(5)]
    for trace_id in last:
        assert traced_get(local_lab.pethistory, trace_id) == 200
    # docker compose stop: SIGTERM; gunicorn lets workers finish and flush (worker_exit).
    subprocess.run(["docker", "compose", "--project-directory", str(ROOT), "stop", "pethistory"],
                   cwd=ROOT, check=True, capture_output=True, timeout=60)
    try:
        for trace_id in last:
            poll(jaeger_has(local_lab, trace_id), 60, what=f"trace {trace_id} flushed at shutdown")
    finally:
        lab("start", "pethistory")
        poll(lambda: get(local_lab.pethistory + "/health/status")[0] == 200, 60, what="pethistory back")


def test_a_crashed_container_shows_in_status_and_fails_verify(local_lab):
    """Docker restarts a crashed container (restart: unless-stopped); `lab status` counts it and
    `lab verify` fails naming it, until the container is created anew."""
    (console,) = [c for c in labcompose.containers() if c["Service"] == "console"]
    pid = int(subprocess.run(["docker", "inspect", "--format", "{{.State.Pid}}", console["Name"]],
                             capture_output=True, text=True, check=True).stdout)
    os.kill(pid, signal.SIGKILL)   # a crash, not a stop: the restart policy applies
    try:
        poll(lambda: labcompose.restarts([console])["console"][0] == 1, 60, interval_s=1,
             what="the console restarted by Docker")
        poll(lambda: labcompose.running()["console"].get("Health") == "healthy", 60, interval_s=1,
             what="the restarted console healthy again")
        status = subprocess.run([str(LAB), "status"], cwd=ROOT, capture_output=True, text=True, timeout=60)
        (row,) = [line.split() for line in status.stdout.splitlines() if line.startswith("console ")]
        assert row[3] == "1", status.stdout   # SERVICE STATE HEALTH RESTARTS PORTS
        assert "restarted since the lab started: console" in status.stderr
        verify = subprocess.run([str(LAB), "verify", "--timeout", "5"], cwd=ROOT, capture_output=True,
                                text=True, timeout=300)
        assert verify.returncode == 1 and "console restarted 1" in verify.stderr, verify.stderr
    finally:
        labcompose.docker_compose("up", "--detach", "--wait", "--force-recreate", "--no-deps", "console",
                                  backend="local", capture=True)
    assert labcompose.restarts([c for c in labcompose.containers() if c["Service"] == "console"]) == {"console": (0, False)}


def test_emulator_stopped_collector_memory_bounded_and_xray_export_resumes(emulated_lab):
    results, before, after = stopped_under_load(emulated_lab.pethistory, "moto", "collector", 20)
    assert results and all(status == 200 for status, _ in results)
    assert after < 256 * 0.8 and after <= before * 1.5 + 20, (before, after)
    trace_id = new_trace_id()
    xray = emulated_lab.aws("xray")

    def exported():
        if traced_get(emulated_lab.pethistory, trace_id) != 200:
            return None
        return xray.batch_get_traces(TraceIds=[xray_id(trace_id)])["Traces"]

    poll(exported, 90, interval_s=3, what="a new X-Ray trace in the emulator after its return")
    print(f"\nlab, emulator down: collector {before:.0f} -> {after:.0f} MiB")
