"""HTTP against the running lab, for the e2e tests of tests/lab and tests/reliability: trace ids,
traced requests, bounded polling, on 127.0.0.1."""
import json
import secrets
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

API = "/petadoptionshistory/api/home/transactions"


def new_trace_id():
    """A W3C trace id that is also a valid X-Ray id (first 8 hex digits: epoch seconds)."""
    return f"{int(time.time()):08x}{secrets.token_hex(12)}"


def xray_id(trace_id):
    return f"1-{trace_id[:8]}-{trace_id[8:]}"


def get(url, headers=None, timeout=10):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        body = resp.read()
        return resp.status, (json.loads(body) if body else None)


def traced_get(base, trace_id):
    """GET the transactions list with a known traceparent; returns the HTTP status."""
    parent = secrets.token_hex(8)
    status, _ = get(base + API, headers={"traceparent": f"00-{trace_id}-{parent}-01"})
    return status


def poll(fetch, deadline_s, interval_s=2, what="the expected data"):
    """Call fetch() until it returns something truthy or the deadline passes; the last
    exception or empty result ends up in the assertion message."""
    end = time.monotonic() + deadline_s
    last = None
    while True:
        try:
            result = fetch()
            if result:
                return result
            last = result
        except (urllib.error.URLError, OSError, ValueError, KeyError) as err:
            last = err
        except Exception as err:  # boto errors etc.: keep polling until the deadline
            last = err
        if time.monotonic() > end:
            raise AssertionError(f"no {what} within {deadline_s}s (last: {last!r})")
        time.sleep(interval_s)


def status_of(url, timeout=30):
    """The HTTP status of a GET of url (0: no answer)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code
    except (urllib.error.URLError, OSError):
        return 0


def traffic(petsite, seconds, workers=4):
    """GETs of PetSite's history page from `workers` threads for about `seconds`: their statuses."""
    end = time.monotonic() + seconds

    def worker(_):
        codes = []
        while time.monotonic() < end:
            codes.append(status_of(petsite + "/pethistory"))
        return codes
    with ThreadPoolExecutor(workers) as pool:
        return [code for codes in pool.map(worker, range(workers)) for code in codes]
