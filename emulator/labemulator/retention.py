"""A retention for moto's in-memory X-Ray and CloudWatch Logs: the newest data kept, the oldest
dropped, so the emulator's memory stays bounded however long the lab runs and however fast
traces come.

moto keeps every segment and log event it is sent; under load the emulator outgrew its container
and was OOM-killed, coming back empty. AWS itself drops old data too (X-Ray after 30 days, Logs
after a group's retention); here the bound is a count, because memory is what runs out.

Traces (Traces.install): moto has no call that deletes one, so the retention uses the backend's
public methods only. Every few hundred segments put, it counts the traces; past the bound (plus
SLACK) it finds the newest with get_trace_summary's time window, reads their documents with
get_trace_ids, resets the backend (BaseBackend.reset) and puts those documents back with
process_segment. It runs in the request that crossed the bound, so however fast segments come
the backend never holds much more than the bound. X-Ray's calls wait on one lock meanwhile: no
segment sent during a rebuild is lost and no read sees a half-rebuilt backend.
Log events (run, every few seconds): each stream's `events` list loses its oldest entries past
the bound.

Dropping them frees them only because of track_weakly(): moto also keeps every model instance it
ever created in its class's `instances_tracked` list, for its dashboard (/moto-api/), so without
it a dropped segment or event stayed in memory anyway (1,500 traces through a bound of 200 still
held 88 MiB of parsed segments).
"""
import collections
import datetime
import functools
import sys
import threading
import time
import weakref

from moto.logs.models import LogEvent, logs_backends
from moto.xray.models import TraceSegment, XRayBackend

LOCK = threading.RLock()
EPOCH = datetime.datetime(1970, 1, 2)   # before any trace (naive, as moto compares them)
SLACK = 1.2   # prune past keep * SLACK, down to keep: a rebuild now and then, not on every put


def trace_ids_since(backend, since):
    """Ids of the traces that started after `since` (seconds since the epoch, or EPOCH)."""
    start = since if isinstance(since, datetime.datetime) else datetime.datetime.fromtimestamp(since)
    end = datetime.datetime.fromtimestamp(time.time() + 86400)
    return [s["Id"] for s in backend.get_trace_summary(start, end, None)["TraceSummaries"]]


def newest_trace_ids(backend, keep, now, total):
    """The traces of the longest recent window that holds at most `keep` of the backend's `total`
    (the last 10 ms' even if they are more): doubled from 10 ms, then halved between the last two."""
    def since(seconds):
        return trace_ids_since(backend, now - seconds)

    short, kept = 0.01, since(0.01)
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


class Traces:
    """The bound on one process's X-Ray backends: install() wraps XRayBackend's public calls."""

    def __init__(self, keep):
        self.keep = keep
        self.every = max(25, keep // 4)   # segments put between two counts
        self.pending = collections.Counter()
        self.put = XRayBackend.process_segment   # moto's own, for the rebuild
        self.dropped = 0

    def install(self):
        """X-Ray's writes go through the bound; writes and reads wait while a backend is rebuilt."""
        bound = self

        @functools.wraps(self.put)
        def process_segment(backend, document):
            with LOCK:
                result = bound.put(backend, document)
                bound.pending[id(backend)] += 1
                if bound.pending[id(backend)] >= bound.every:
                    bound.pending[id(backend)] = 0
                    bound.prune(backend)
                return result

        XRayBackend.process_segment = process_segment
        for name in ("get_trace_summary", "get_trace_ids"):
            setattr(XRayBackend, name, serialised(getattr(XRayBackend, name)))

    def prune(self, backend, now=None):
        """Drop the oldest traces of one backend when it holds more than keep * SLACK;
        returns (dropped, kept)."""
        with LOCK:
            total = len(trace_ids_since(backend, EPOCH))
            if total <= self.keep * SLACK:
                return 0, total
            kept = newest_trace_ids(backend, self.keep, time.time() if now is None else now, total)
            documents = [segment["Document"] for trace in backend.get_trace_ids(kept)["Traces"]
                         for segment in trace["Segments"]]
            backend.reset()
            for document in documents:
                self.put(backend, document)
            self.dropped += total - len(kept)
            return total - len(kept), len(kept)


class WeakTracker:
    """moto's instance tracker of one model class (what its dashboard lists), holding the
    instances weakly: one the backends dropped is freed, not kept alive only to be listed."""

    def __init__(self, instances=()):
        self.refs = [weakref.ref(instance) for instance in instances]

    def append(self, instance):
        self.refs.append(weakref.ref(instance))
        if len(self.refs) % 4096 == 0:   # forget the dead references now and then
            self.refs = [ref for ref in self.refs if ref() is not None]

    def __iter__(self):
        return (instance for instance in (ref() for ref in list(self.refs)) if instance is not None)

    def __len__(self):
        return sum(1 for _ in self)


def track_weakly(*models):
    for model in models:
        model.instances_tracked = WeakTracker(model.instances_tracked)


def serialised(method):
    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with LOCK:
            return method(self, *args, **kwargs)
    return locked


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


def run(config, traces):
    """Every config.prune_seconds, forever (a daemon thread of the server): the log streams' bound,
    and one line saying what both bounds dropped since the last time."""
    reported = 0
    while True:
        time.sleep(config.prune_seconds)
        try:
            events = sum(prune_log_events(backend, config.max_log_events) for backend in backends(logs_backends))
        except Exception as err:   # a failed sweep is retried; the server must keep answering
            print(f"emulator: log retention failed: {type(err).__name__}: {err}", file=sys.stderr)
            continue
        dropped, reported = traces.dropped - reported, traces.dropped
        if dropped or events:
            print(f"emulator: retention dropped {dropped} oldest traces (EMULATOR_MAX_TRACES={config.max_traces}) "
                  f"and {events} oldest log events (EMULATOR_MAX_LOG_EVENTS={config.max_log_events} per stream)",
                  file=sys.stderr, flush=True)
