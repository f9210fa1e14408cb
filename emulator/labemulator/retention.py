"""A retention for moto's in-memory X-Ray and CloudWatch Logs: the newest data kept, the oldest
dropped, so the emulator's memory stays bounded however long the lab runs.

moto keeps every segment and log event it is sent; under load the emulator outgrew its container
and was OOM-killed, coming back empty. AWS itself drops old data too (X-Ray after 30 days, Logs
after a group's retention); here the bound is a count, because memory is what runs out.

Traces: moto has no call that deletes one, so the retention uses the backend's public methods
only: it finds the newest traces with get_trace_summary's time window, reads their segment
documents with get_trace_ids, resets the backend (BaseBackend.reset) and puts those documents
back with process_segment. X-Ray's calls wait on one lock meanwhile (install()), so no segment
sent during a rebuild is lost and no read sees a half-rebuilt backend.
Log events: each stream's `events` list loses its oldest entries past the bound.
"""
import datetime
import functools
import sys
import threading
import time

from moto.logs.models import logs_backends
from moto.xray.models import XRayBackend, xray_backends

LOCK = threading.RLock()
EPOCH = datetime.datetime(1970, 1, 2)   # before any trace (naive, as moto compares them)
SLACK = 1.2   # prune past keep * SLACK, down to keep: a rebuild now and then, not on every sweep


def serialised(method):
    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with LOCK:
            return method(self, *args, **kwargs)
    return locked


def install():
    """X-Ray's writes and reads wait while a backend is rebuilt."""
    for name in ("process_segment", "get_trace_summary", "get_trace_ids"):
        method = getattr(XRayBackend, name)
        if not getattr(method, "__wrapped__", None):
            setattr(XRayBackend, name, serialised(method))


def trace_ids_since(backend, since):
    """Ids of the traces that started after `since` (seconds since the epoch, or EPOCH)."""
    start = since if isinstance(since, datetime.datetime) else datetime.datetime.fromtimestamp(since)
    end = datetime.datetime.fromtimestamp(time.time() + 86400)
    return [s["Id"] for s in backend.get_trace_summary(start, end, None)["TraceSummaries"]]


def newest_trace_ids(backend, keep, now, total):
    """The traces of the longest recent window that holds at most `keep` of the backend's `total`
    (the last second's even if it holds more): doubled from 1 s, then halved between the last two."""
    def since(seconds):
        return trace_ids_since(backend, now - seconds)

    short, kept = 1.0, since(1.0)
    long = None
    while len(kept) < total:
        wider = since(2 * short)
        if len(wider) > keep:
            long = 2 * short
            break
        short, kept = 2 * short, wider
    for _ in range(6 if long else 0):   # within 1/64 of the window
        middle = (short + long) / 2
        ids = since(middle)
        if len(ids) > keep:
            long = middle
        else:
            short, kept = middle, ids
    return kept


def prune_traces(backend, keep, now=None):
    """Drop the oldest traces of one X-Ray backend when it holds more than keep * SLACK;
    returns (dropped, kept)."""
    with LOCK:
        total = len(trace_ids_since(backend, EPOCH))
        if total <= keep * SLACK:
            return 0, total
        kept = newest_trace_ids(backend, keep, time.time() if now is None else now, total)
        documents = [segment["Document"] for trace in backend.get_trace_ids(kept)["Traces"]
                     for segment in trace["Segments"]]
        backend.reset()
        for document in documents:
            backend.process_segment(document)
        return total - len(kept), len(kept)


def prune_log_events(backend, keep):
    """Drop the oldest events of every stream of one Logs backend past `keep`; returns how many."""
    dropped = 0
    for group in list(backend.groups.values()):
        for stream in list(group.streams.values()):
            extra = len(stream.events) - keep
            if extra > 0:
                gone = stream.events[:extra]
                del stream.events[:extra]
                stream.stored_bytes -= sum(len(event.message) for event in gone)
                dropped += extra
    return dropped


def backends(backend_dict):
    """Every (account, region) backend moto has created so far."""
    return [backend for regions in list(backend_dict.values()) for backend in list(regions.values())]


def sweep(max_traces, max_log_events):
    """One pass over every backend; returns (traces dropped, traces kept, log events dropped)."""
    dropped = kept = 0
    for backend in backends(xray_backends):
        d, k = prune_traces(backend, max_traces)
        dropped, kept = dropped + d, kept + k
    events = sum(prune_log_events(backend, max_log_events) for backend in backends(logs_backends))
    return dropped, kept, events


def run(config):
    """Sweep every config.prune_seconds, forever (a daemon thread of the server)."""
    while True:
        time.sleep(config.prune_seconds)
        try:
            dropped, kept, events = sweep(config.max_traces, config.max_log_events)
        except Exception as err:   # a failed sweep is retried; the server must keep answering
            print(f"emulator: retention sweep failed: {type(err).__name__}: {err}", file=sys.stderr)
            continue
        if dropped or events:
            print(f"emulator: retention dropped {dropped} oldest traces (kept {kept}, "
                  f"EMULATOR_MAX_TRACES={config.max_traces}) and {events} oldest log events "
                  f"(EMULATOR_MAX_LOG_EVENTS={config.max_log_events} per stream)", file=sys.stderr)
