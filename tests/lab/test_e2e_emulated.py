"""With LAB_BACKEND=emulated: the same request's X-Ray trace and the EMF metrics land in the
AWS emulator (moto) as they would in X-Ray and CloudWatch Logs."""
import json
import os
import secrets
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from labcli import awscreds
from labcli import compose as labcompose
from labtest.lab_http import new_trace_id, poll, traced_get, xray_id
from test_aws_credentials import collector

pytestmark = pytest.mark.e2e
pytest.importorskip("boto3")  # the emulator client (LabEndpoints.aws)

LOG_GROUP = "/metrics/PetAdoptionsHistory"


def test_request_trace_reaches_xray_as_petadoptionshistory_segment(emulated_lab):
    trace_id = new_trace_id()
    assert traced_get(emulated_lab.pethistory, trace_id) == 200
    xray = emulated_lab.aws("xray")

    def fetch():
        traces = xray.batch_get_traces(TraceIds=[xray_id(trace_id)])["Traces"]
        docs = [json.loads(seg["Document"]) for t in traces for seg in t.get("Segments", [])]
        return [d for d in docs if d.get("name") == "PetAdoptionsHistory"]
    segments = poll(fetch, 90, what=f"X-Ray trace {xray_id(trace_id)} in moto")
    assert all(s["trace_id"] == xray_id(trace_id) for s in segments)


def test_emf_events_carry_namespace_and_walkthrough_dimensions(emulated_lab):
    logs = emulated_lab.aws("logs")

    def fetch():
        events = logs.filter_log_events(logGroupName=LOG_GROUP)["events"]
        docs = [json.loads(e["message"]) for e in events]
        return [d for d in docs if "transactions_history_count" in d]
    # the collector scrapes every 20 s; the EMF exporter flushes soon after
    docs = poll(fetch, 120, what=f"EMF events with transactions_history_count in {LOG_GROUP}")
    doc = docs[-1]
    (directive, *_) = doc["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "PetAdoptionsHistory"
    assert [sorted(d) for d in directive["Dimensions"]] == [["container_name", "pod_name"]]
    assert doc["container_name"] == "pethistory" and doc["pod_name"]


# --- the aws backend's credentials path, against moto ---------------------------------------
# The aws backend mounts your ~/.aws at /home/aoc/.aws and (scripts/lab) runs the collector as
# you. Here the lab's collector image runs alone on the lab network, with no credentials in its
# environment, a 0600 credentials file in the mount, and moto as its X-Ray endpoint.
XRAY_ONLY = """
receivers:
  otlp:
    protocols:
      http: {endpoint: "0.0.0.0:4318"}
exporters:
  awsxray:
    region: ${env:AWS_REGION}
    endpoint: http://moto:4566
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [awsxray]}
"""


def run_collector(lab, aws_dir, user, env=None):
    """Start the collector image as `user` with aws_dir mounted and `env` added; returns (name,
    OTLP/HTTP url)."""
    running = labcompose.running()
    moto, image = running["moto"]["Name"], running["collector"]["Image"]
    network = docker("inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", moto).split()[0]
    name = f"petlab-credentials-test-{secrets.token_hex(3)}"
    env = {"AWS_REGION": lab.region, "AWS_EC2_METADATA_DISABLED": "true", **(env or {}),
           "AOT_CONFIG_CONTENT": XRAY_ONLY}
    docker("run", "--detach", "--name", name, "--network", network, "--user", user,
           "--volume", f"{aws_dir}:/home/aoc/.aws:ro", "--publish", "127.0.0.1::4318",
           *(arg for key, value in env.items() for arg in ("--env", f"{key}={value}")), image)
    port = docker("port", name, "4318/tcp").split()[0].rsplit(":", 1)[1]
    return name, f"http://127.0.0.1:{port}"


def send_span(otlp_http, trace_id):
    now = time.time_ns()
    body = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "credentials-test"}}]},
        "scopeSpans": [{"spans": [{"traceId": trace_id, "spanId": secrets.token_hex(8), "name": "probe",
                                   "kind": 2, "startTimeUnixNano": str(now - 1_000_000),
                                   "endTimeUnixNano": str(now)}]}]}]}
    request = urllib.request.Request(otlp_http + "/v1/traces", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:  # an answer: the exporter's verdict, not a closed port
        return error.code, error.read().decode()


@pytest.fixture
def aws_dir(tmp_path):
    """~/.aws as `aws configure` leaves it: credentials 0600, owned by one user (uid 1000 when
    the tests run as root, else the tests' own user)."""
    owner = (1000, 1000) if os.getuid() == 0 else (os.getuid(), os.getgid())
    d = tmp_path / ".aws"
    d.mkdir()
    (d / "credentials").write_text("[default]\naws_access_key_id = petlab\naws_secret_access_key = petlab\n")
    (d / "credentials").chmod(0o600)
    if os.getuid() == 0:
        for path in (d, d / "credentials"):
            os.chown(path, *owner)
    return d, owner


@pytest.mark.parametrize("as_owner", [True, False], ids=["as-the-files-owner", "as-aoc"])
def test_collector_reads_a_0600_credentials_file_only_as_its_owner(emulated_lab, aws_dir, as_owner):
    directory, owner = aws_dir
    if not as_owner and owner[0] == 4317:
        pytest.skip("the tests' user is aoc")
    user = f"{owner[0]}:{owner[1]}" if as_owner else "4317:4317"
    assert (awscreds.problems(collector(directory, user)) == []) is as_owner
    name, otlp_http = run_collector(emulated_lab, directory, user)
    try:
        trace_id = new_trace_id()
        status, body = poll(lambda: send_span(otlp_http, trace_id), 30, what="the collector's OTLP/HTTP receiver")

        def fetch():
            return emulated_lab.aws("xray").batch_get_traces(TraceIds=[xray_id(trace_id)])["Traces"]
        if as_owner:
            assert status == 200, body
            poll(fetch, 60, what=f"X-Ray trace {xray_id(trace_id)} sent with the file's credentials")
        else:
            # Without a sending queue the exporter's error comes back to the sender.
            assert status == 503 and "get credentials" in body, (status, body)
            assert not fetch()
    finally:
        docker("rm", "--force", name)


def docker(*args):
    proc = subprocess.run(["docker", *args], capture_output=True, text=True)
    assert proc.returncode == 0, f"docker {' '.join(args[:2])}: {proc.stderr.strip()[-500:]}"
    return proc.stdout


SHELL_CREDENTIALS = {
    # a workshop account's temporary credentials, exported in the shell; no ~/.aws at all
    "exported-keys": ({"AWS_ACCESS_KEY_ID": "ASIAPETLAB", "AWS_SECRET_ACCESS_KEY": "petlab",
                       "AWS_SESSION_TOKEN": "petlab-session"}, None),
    # a named profile, the only one in ~/.aws/credentials
    "named-profile": ({"AWS_PROFILE": "workshop"},
                      "[workshop]\naws_access_key_id = petlab\naws_secret_access_key = petlab\n"),
}


@pytest.mark.parametrize("how", sorted(SHELL_CREDENTIALS))
def test_collector_uses_the_credentials_the_aws_backend_takes_from_the_shell(emulated_lab, tmp_path, monkeypatch, how):
    """What the aws backend's compose config passes from the shell (collector/env/aws.env) is what
    the collector's SDK signs with: sent here to moto's X-Ray with the lab's collector image."""
    shell, credentials = SHELL_CREDENTIALS[how]
    aws_dir = tmp_path / ".aws"
    aws_dir.mkdir()
    aws_dir.chmod(0o755)
    if credentials:
        (aws_dir / "credentials").write_text(credentials)
        (aws_dir / "credentials").chmod(0o644)
    with monkeypatch.context() as shell_env:  # only for compose: the test's own boto3 talks to moto
        for key in awscreds.SHELL_VARIABLES:
            shell_env.delenv(key, raising=False)
        for key, value in {**shell, "LAB_AWS_DIR": str(aws_dir)}.items():
            shell_env.setenv(key, value)
        service = labcompose.config("aws")["services"]["collector"]
    env = service["environment"]
    assert {key: env.get(key) for key in shell} == shell
    assert awscreds.problems(service) == []
    name, otlp_http = run_collector(emulated_lab, aws_dir, "4317:4317", {k: v for k, v in env.items() if k in shell})
    try:
        trace_id = new_trace_id()
        status, body = poll(lambda: send_span(otlp_http, trace_id), 30, what="the collector's OTLP/HTTP receiver")
        assert status == 200, body
        poll(lambda: emulated_lab.aws("xray").batch_get_traces(TraceIds=[xray_id(trace_id)])["Traces"], 60,
             what=f"X-Ray trace {xray_id(trace_id)} sent with the {how} credentials")
    finally:
        docker("rm", "--force", name)
