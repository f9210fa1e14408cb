"""`lab adopt` (past the walkthrough's 90 history rows) and `lab cleanup` (its clean-up step):
the batching, the one-line errors, and on the emulated lab: adopt through PetSite, the EMF log
group's retention, cleanup listing and deleting what `lab dashboard` and the collector created,
through the stdlib client (emulated) and through boto3 (aws, pointed at the emulator)."""
import os
import subprocess
import sys
import time

import pytest

from labcli import adopt
from labcli.compose import LabError
from labcli.endpoints import LOG_GROUP
from labtest.checkout import LAB, ROOT
from labtest.collector_layers import combination, effective
from labtest.lab_http import poll
from labtest.lab_session import docker_engine_answers

DASHBOARD = "PetAdoptionsHistory"
RETENTION_DAYS = 7


def lab(*args, env=None, timeout=120):
    return subprocess.run([str(LAB), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def one_error_line(proc):
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("lab: error: ")
    return line


needs_engine = pytest.mark.skipif(not docker_engine_answers(), reason="no Docker engine answers")


# --- adopt: pure parts and bad input --------------------------------------------------------

@pytest.mark.parametrize("n, calls", [(1, [1]), (100, [100]), (101, [100, 1]), (250, [100, 100, 50]),
                                      (10000, [100] * 100)])
def test_adoptions_go_in_calls_of_at_most_100(n, calls):
    assert adopt.batches(n) == calls


@pytest.mark.parametrize("n", [0, -5, 10001])
def test_a_count_out_of_range_is_refused(n):
    with pytest.raises(LabError, match="from 1 to 10000"):
        adopt.batches(n)


@needs_engine
@pytest.mark.parametrize("n", ["0", "10001"])
def test_lab_adopt_out_of_range_is_one_line(n):
    assert "from 1 to 10000" in one_error_line(lab("adopt", n))


def test_lab_adopt_not_a_number_is_a_usage_error():
    proc = lab("adopt", "many", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("lab adopt: error: argument N: invalid int value")


# --- cleanup: the collector's retention, the local backend ----------------------------------

@pytest.mark.parametrize("backend", ["aws", "emulated"])
def test_the_emf_log_group_gets_a_retention(backend):
    emf = effective(combination("scrape-compose.yaml", backend))["exporters"]["awsemf"]
    assert emf["log_retention"] == RETENTION_DAYS


@needs_engine
def test_cleanup_on_local_has_nothing_to_do():
    proc = lab("cleanup", "--backend", "local", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "backend local: nothing in AWS to clean up"


# --- the running emulated lab -----------------------------------------------------------------

def log_group(client):
    groups = client.describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"]
    return next((g for g in groups if g["logGroupName"] == LOG_GROUP), None)


def dashboards(client):
    return [d["DashboardName"] for d in client.list_dashboards()["DashboardEntries"]]


@pytest.mark.e2e
def test_adopt_reports_petsite_errors_in_one_line(emulated_lab):
    from labcli.endpoints import resolve
    petsite = resolve("emulated").petsite
    with pytest.raises(LabError, match=r"HTTP 400: count must be a whole number from 1 to 100"):
        adopt.petsite_call(petsite, "POST", "/api/adoptions?count=101")
    assert lab("stop", "petsite-stub").returncode == 0
    try:
        assert "does not answer" in one_error_line(lab("adopt", "5"))
    finally:
        assert lab("start", "petsite-stub").returncode == 0
        poll(lambda: lab("adopt", "1").returncode == 0, 60, interval_s=2, what="PetSite answering again")


@pytest.mark.e2e
def test_cleanup_lists_then_deletes_and_the_collector_recreates_the_group_with_retention(emulated_lab):
    logs, cloudwatch = emulated_lab.aws("logs"), emulated_lab.aws("cloudwatch")
    assert lab("dashboard").returncode == 0
    poll(lambda: log_group(logs), 90, interval_s=5, what=f"log group {LOG_GROUP}")

    listed = lab("cleanup")
    assert listed.returncode == 0, listed.stderr
    assert f"CloudWatch dashboard  {DASHBOARD}" in listed.stdout
    assert f"CloudWatch log group  {LOG_GROUP}" in listed.stdout
    assert "X-Ray traces cannot be deleted: they expire 30 days" in listed.stdout
    assert listed.stdout.strip().endswith("run again with --yes to delete them")
    assert DASHBOARD in dashboards(cloudwatch) and log_group(logs)   # listing deleted nothing

    deleted_at = time.time()
    proc = lab("cleanup", "--yes")
    assert proc.returncode == 0, proc.stderr
    assert f"deleted CloudWatch dashboard {DASHBOARD}" in proc.stdout
    assert f"deleted CloudWatch log group {LOG_GROUP}" in proc.stdout
    assert DASHBOARD not in dashboards(cloudwatch)
    group = log_group(logs)   # gone, or already created anew by the collector's next export
    assert group is None or group["creationTime"] / 1000 >= deleted_at - 1

    # The exporter creates the group again at its next export, with the configured retention.
    group = poll(lambda: log_group(logs), 90, interval_s=5, what=f"{LOG_GROUP} created again by the collector")
    assert group["retentionInDays"] == RETENTION_DAYS
    proc = lab("cleanup")
    assert f"retention {RETENTION_DAYS} days" in proc.stdout and "CloudWatch dashboard" not in proc.stdout


@pytest.mark.e2e
def test_cleanup_on_aws_through_boto3_pointed_at_the_emulator(emulated_lab):
    """The aws path (Boto3Client), with boto3 sent to moto by AWS_ENDPOINT_URL; the collector is
    stopped meanwhile so that the deleted log group stays gone."""
    logs, cloudwatch = emulated_lab.aws("logs"), emulated_lab.aws("cloudwatch")
    env = emulated_lab.aws_env()

    def cleanup_aws(*args):
        return subprocess.run([sys.executable, "-P", "-m", "labcli", "cleanup", "--backend", "aws", *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)

    assert lab("dashboard").returncode == 0
    poll(lambda: log_group(logs), 90, interval_s=5, what=f"log group {LOG_GROUP}")
    assert lab("stop", "collector").returncode == 0
    try:
        listed = cleanup_aws()
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.startswith(f"backend aws, region {emulated_lab.region}: what the lab created")
        assert DASHBOARD in listed.stdout and LOG_GROUP in listed.stdout
        assert listed.stdout.strip().endswith("run again with --yes to delete them")

        proc = cleanup_aws("--yes")
        assert proc.returncode == 0, proc.stderr
        assert DASHBOARD not in dashboards(cloudwatch) and log_group(logs) is None

        again = cleanup_aws()
        assert again.returncode == 0
        assert "nothing the lab created is there" in again.stdout
    finally:
        assert lab("start", "collector").returncode == 0
