"""With LAB_BACKEND=emulated: the same request's X-Ray trace and the EMF metrics land in the
AWS emulator (moto) as they would in X-Ray and CloudWatch Logs."""
import json

import pytest

from e2e_helpers import new_trace_id, poll, traced_get, xray_id

pytestmark = pytest.mark.e2e
boto3 = pytest.importorskip("boto3")

LOG_GROUP = "/metrics/PetAdoptionsHistory"


def client(lab, service):
    return boto3.client(service, endpoint_url=lab.moto, region_name=lab.region,
                        aws_access_key_id="petlab", aws_secret_access_key="petlab")


def test_request_trace_reaches_xray_as_petadoptionshistory_segment(emulated_lab):
    trace_id = new_trace_id()
    assert traced_get(emulated_lab.pethistory, trace_id) == 200
    xray = client(emulated_lab, "xray")

    def fetch():
        traces = xray.batch_get_traces(TraceIds=[xray_id(trace_id)])["Traces"]
        docs = [json.loads(seg["Document"]) for t in traces for seg in t.get("Segments", [])]
        return [d for d in docs if d.get("name") == "PetAdoptionsHistory"]
    segments = poll(fetch, 90, what=f"X-Ray trace {xray_id(trace_id)} in moto")
    assert all(s["trace_id"] == xray_id(trace_id) for s in segments)


def test_emf_events_carry_namespace_and_walkthrough_dimensions(emulated_lab):
    logs = client(emulated_lab, "logs")

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
