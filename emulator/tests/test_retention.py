"""The retention keeps the emulator's memory bounded: the newest X-Ray traces and log events stay,
whole and queryable; the oldest go; nothing sent while a backend is rebuilt is lost."""
import json
import secrets
import threading
import time
import urllib.request

import pytest

from labemulator import retention


def trace_id(started):
    return f"1-{int(started):08x}-{secrets.token_hex(12)}"


def segments(tid, started, count=3):
    """A trace's documents as the awsxray exporter sends them: a segment and its subsegments."""
    root = secrets.token_hex(8)
    docs = [{"name": "PetAdoptionsHistory", "id": root, "trace_id": tid, "start_time": started,
             "end_time": started + 0.02}]
    docs += [{"name": f"sub{i}", "id": secrets.token_hex(8), "trace_id": tid, "parent_id": root,
              "type": "subsegment", "start_time": started + 0.001 * i, "end_time": started + 0.01}
             for i in range(1, count)]
    return [json.dumps(d) for d in docs]


def put(xray, traces):
    docs = [doc for tid, started in traces for doc in segments(tid, started)]
    for i in range(0, len(docs), 50):
        assert not xray.put_trace_segments(TraceSegmentDocuments=docs[i:i + 50])["UnprocessedTraceSegments"]


def stored(xray):
    now = time.time()
    pages = xray.get_paginator("get_trace_summaries").paginate(StartTime=now - 7200, EndTime=now + 60)
    return {s["Id"] for page in pages for s in page["TraceSummaries"]}


def most_held(keep):
    """What a backend holds at most: keep * SLACK, plus the traces (3 segments each here) put
    between two counts."""
    return keep * retention.SLACK + retention.Traces(keep).every // 3 + 1


def wait_for(condition, seconds=15):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.3)


@pytest.mark.settings(EMULATOR_MAX_TRACES="100")
def test_the_newest_traces_stay_whole_and_the_oldest_go(emulator):
    xray = emulator.client("xray")
    now = time.time()
    traces = [(trace_id(now - (400 - i) * 0.5), now - (400 - i) * 0.5) for i in range(400)]  # oldest first
    put(xray, traces)
    kept = stored(xray)
    assert 80 <= len(kept) <= most_held(100), len(kept)
    newest, oldest = [t for t, _ in traces[-80:]], [t for t, _ in traces[:300]]
    assert set(newest) <= kept and not set(oldest) & kept
    got = xray.batch_get_traces(TraceIds=newest[-5:])["Traces"]
    assert sorted(len(t["Segments"]) for t in got) == [3] * 5


@pytest.mark.settings(EMULATOR_MAX_TRACES="100", EMULATOR_PRUNE_SECONDS="3600")
def test_the_bound_holds_however_fast_traces_come(emulator):
    """The traces are counted in the requests that put them, not by a timer: right after 1,500
    traces (4,500 segments, as fast as one client sends them) the emulator holds about the bound."""
    xray = emulator.client("xray")
    now = time.time()
    put(xray, [(trace_id(now - 1500 + i), now - 1500 + i) for i in range(1500)])
    assert 80 <= len(stored(xray)) <= most_held(100)


@pytest.mark.settings(EMULATOR_MAX_TRACES="100", EMULATOR_MAX_LOG_EVENTS="10")
def test_what_the_retention_drops_is_freed_not_kept_for_motos_dashboard(emulator):
    """moto lists every model instance it still tracks at /moto-api/data.json; a dropped segment or
    log event must not be among them (moto's tracker held every one ever made, so memory grew
    without bound whatever the backends kept)."""
    xray, logs = emulator.client("xray"), emulator.client("logs")
    now = time.time()
    put(xray, [(trace_id(now - 400 + i), now - 400 + i) for i in range(400)])
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    logs.put_log_events(logGroupName="g", logStreamName="s",
                        logEvents=[{"timestamp": int(now * 1000) + i, "message": str(i)} for i in range(50)])
    time.sleep(2.5)   # the log bound's sweeps

    def tracked():
        with urllib.request.urlopen(emulator.url + "/moto-api/data.json", timeout=30) as resp:
            data = json.load(resp)
        return len(data["xray"]["TraceSegment"]), len(data["logs"]["LogEvent"])
    segments, events = tracked()
    assert segments == 3 * len(stored(xray)) and segments <= 3 * most_held(100), segments
    assert events == 10, events


@pytest.mark.settings(EMULATOR_MAX_TRACES="30")
def test_segments_sent_while_a_backend_is_rebuilt_are_kept(emulator):
    xray = emulator.client("xray")
    sent, stop = [], threading.Event()

    def send():
        while not stop.is_set():
            started = time.time()
            tid = trace_id(started)
            put(xray, [(tid, started)])
            sent.append(tid)

    writer = threading.Thread(target=send)
    writer.start()
    time.sleep(4)   # several sweeps, each a rebuild
    stop.set()
    writer.join()
    assert len(sent) > 60, len(sent)
    assert len(stored(xray)) <= most_held(30)
    last = sent[-10:]
    assert set(last) <= stored(xray)
    assert [len(t["Segments"]) for t in xray.batch_get_traces(TraceIds=last)["Traces"]] == [3] * 10


@pytest.mark.settings(EMULATOR_MAX_LOG_EVENTS="100")
def test_log_streams_keep_their_newest_events_and_count_only_those_bytes(emulator):
    logs = emulator.client("logs")
    logs.create_log_group(logGroupName="/metrics/PetAdoptionsHistory")
    logs.create_log_stream(logGroupName="/metrics/PetAdoptionsHistory", logStreamName="s")
    start = int(time.time() * 1000)
    messages = [json.dumps({"n": i, "transactions_history_count": i}) for i in range(250)]
    for i in range(0, 250, 50):
        logs.put_log_events(logGroupName="/metrics/PetAdoptionsHistory", logStreamName="s",
                            logEvents=[{"timestamp": start + j, "message": messages[j]} for j in range(i, i + 50)])

    def events():
        return logs.get_log_events(logGroupName="/metrics/PetAdoptionsHistory", logStreamName="s",
                                   startFromHead=True, limit=1000)["events"]

    wait_for(lambda: len(events()) == 100)
    assert [e["message"] for e in events()] == messages[150:]
    (group,) = logs.describe_log_groups(logGroupNamePrefix="/metrics/PetAdoptionsHistory")["logGroups"]
    assert group["storedBytes"] == sum(len(m) for m in messages[150:])


def test_under_the_bounds_nothing_is_dropped(emulator):
    xray = emulator.client("xray")
    now = time.time()
    traces = [(trace_id(now - i), now - i) for i in range(50)]
    put(xray, traces)
    time.sleep(2.5)   # two sweeps
    assert stored(xray) == {t for t, _ in traces}
