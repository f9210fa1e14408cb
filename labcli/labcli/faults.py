"""The fault drills: faults a user switches on and then finds in the map, the traces and the metrics.

Every fault is off by default and breaks one real thing:
  network    a toxic (or a disabled proxy) of the lab's Toxiproxy (faults/toxiproxy.json): PetSite
             reaches the history service, and the history service its database, through it
  flag       the OpenFeature flag pethistoryFailure, in the flagd flag file the history service
             reads (services/pethistory/pethistory/faults.py)
  container  the collector container stopped (`lab fault` only: the console has no Docker)
The console owns Toxiproxy's API and the flag file (Controller, its /api/faults); `lab fault`
asks the console, and stops or starts the collector itself (cmd_fault).
"""
import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass

from .compose import LabError

FLAG = "pethistoryFailure"
FLAGD_SCHEMA = "https://flagd.dev/schema/v0/flags.json"
MAX_DELAY_MS = 60000


@dataclass(frozen=True)
class Fault:
    name: str
    summary: str
    shows: str              # where a user finds it
    kind: str               # toxic | proxy | flag | container
    proxy: str = ""         # the Toxiproxy proxy (toxic, proxy)
    toxic: str = ""         # Toxiproxy's toxic type
    stream: str = "downstream"
    options: tuple = ()     # which of "rate", "delay" it takes
    rate: float = 1.0       # default --rate
    delay_ms: int = 0       # default --delay

    def toxic_body(self, rate, delay_ms):
        attributes = {"latency": delay_ms, "jitter": delay_ms // 10} if self.toxic == "latency" else {"timeout": 0}
        return {"name": self.name, "type": self.toxic, "stream": self.stream, "toxicity": rate,
                "attributes": attributes}


FAULTS = (
    Fault("db-slow", "slow database queries: every reply of PostgreSQL to the history service is delayed",
          "map: latency of PetAdoptionsHistory -> adoptions (and of PetAdoptionsHistory); trace: long "
          "psycopg2 spans; metrics: flask_http_request_duration_seconds",
          "toxic", proxy="pethistory-db", toxic="latency", options=("delay", "rate"), delay_ms=300),
    Fault("history-5xx", "the history service answers 500 for a share of its API requests (feature flag)",
          "map: faults on PetAdoptionsHistory and PetSite -> PetAdoptionsHistory; trace: error status and an "
          "exception event on its server span; metrics: flask_http_request_total{status=\"500\"}",
          "flag", options=("rate",), rate=0.5),
    Fault("history-latency", "added latency on the network between PetSite and the history service",
          "map: latency of PetSite -> PetAdoptionsHistory, not of PetAdoptionsHistory itself; trace: PetSite's "
          "client span much longer than the server span under it",
          "toxic", proxy="pethistory-service", toxic="latency", options=("delay", "rate"), delay_ms=500),
    Fault("petsite-timeout", "PetSite's calls to the history service never get there and time out",
          "map: faults on PetSite and PetSite -> pethistory-service (a remote node: no PetAdoptionsHistory span); "
          "trace: PetSite's client span with a ReadTimeout exception, about PETHISTORY_READ_TIMEOUT long",
          "toxic", proxy="pethistory-service", toxic="timeout", stream="upstream", options=("rate",)),
    Fault("db-down", "the history service's database is unreachable (connections refused)",
          "map: faults (503) on PetAdoptionsHistory, no calls to adoptions; trace: no database spans; "
          "/health/status 503",
          "proxy", proxy="pethistory-db"),
    Fault("collector-down", "the collector is stopped",
          "no new traces or metrics anywhere (the map of the last minutes empties); the services keep "
          "answering and log their failed exports; lab verify fails",
          "container"),
)
BY_NAME = {f.name: f for f in FAULTS}


class FaultError(LabError):
    """A request the drills refuse (unknown fault, bad option): the console's 400 with its message."""


class NoDrills(LabError):
    """This deployment has no fault injector (kind): the console's 501 with its message."""


def lookup(name):
    if name not in BY_NAME:
        raise FaultError(f"unknown fault {name!r} (one of: {', '.join(BY_NAME)})")
    return BY_NAME[name]


def settings(fault, rate=None, delay_ms=None):
    """The checked (rate, delay_ms) of turning `fault` on: defaults filled in, bad values refused."""
    for option, value in (("rate", rate), ("delay", delay_ms)):
        if value is not None and option not in fault.options:
            takes = " and ".join("--" + o for o in fault.options) or "no options"
            raise FaultError(f"fault {fault.name} takes {takes}, not --{option}")
    rate = fault.rate if rate is None else rate
    delay_ms = fault.delay_ms if delay_ms is None else delay_ms
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 1:
        raise FaultError(f"--rate must be a share above 0 and at most 1, not {rate!r}")
    if isinstance(delay_ms, bool) or not isinstance(delay_ms, int) or not 0 <= delay_ms <= MAX_DELAY_MS:
        raise FaultError(f"--delay must be whole milliseconds from 0 to {MAX_DELAY_MS}, not {delay_ms!r}")
    return float(rate), delay_ms


def flag_document(rate):
    """flagd's flag file with pethistoryFailure at `rate` (0: off)."""
    return {"$schema": FLAGD_SCHEMA,
            "flags": {FLAG: {"state": "ENABLED", "variants": {"on": float(rate), "off": 0.0},
                             "defaultVariant": "on" if rate else "off"}}}


class Controller:
    """Switches the network and flag faults (runs in the console, which reaches Toxiproxy and
    mounts the flag volume read-write)."""

    def __init__(self, toxiproxy_url, flags_file):
        self.toxiproxy = toxiproxy_url.rstrip("/")
        self.flags_file = flags_file

    @classmethod
    def from_env(cls):
        """The drills of this deployment: compose sets both variables; kind runs no Toxiproxy and
        sets neither, so every call says the drills are compose-only (NoDrills)."""
        toxiproxy, flags = os.environ.get("LAB_TOXIPROXY_URL"), os.environ.get("LAB_FLAGS_FILE")
        if not (toxiproxy and flags):
            raise NoDrills("the fault drills run in the compose lab only (this console has no "
                           "LAB_TOXIPROXY_URL and LAB_FLAGS_FILE): scripts/lab up, then scripts/lab fault list")
        return cls(toxiproxy, flags)

    def _call(self, method, path, body=None, missing_ok=False):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.toxiproxy + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                text = resp.read()
                return json.loads(text) if text.strip() else None
        except urllib.error.HTTPError as err:
            if missing_ok and err.code == 404:
                return None
            raise LabError(f"toxiproxy {method} {path}: HTTP {err.code} {err.read().decode(errors='replace').strip()}")
        except (urllib.error.URLError, OSError) as err:
            raise LabError(f"toxiproxy at {self.toxiproxy} does not answer ({getattr(err, 'reason', err)})")

    def _flag_rate(self):
        try:
            with open(self.flags_file) as f:
                flag = json.load(f)["flags"][FLAG]
            return float(flag["variants"][flag["defaultVariant"]])
        except (OSError, ValueError, KeyError, TypeError):
            return 0.0

    def write_flag(self, rate):
        """Rewrite the flag file in one step (a reader never sees half a file)."""
        tmp = f"{self.flags_file}.tmp"
        with open(tmp, "w") as f:
            json.dump(flag_document(rate), f, indent=2)
        os.replace(tmp, self.flags_file)

    def status(self):
        """[{name, summary, shows, kind, on, settings}] of every fault but the container one,
        whose state only Docker knows (on is None)."""
        proxies = self._call("GET", "/proxies") or {}
        rows = []
        for fault in FAULTS:
            on, detail = None, {}
            if fault.kind == "flag":
                rate = self._flag_rate()
                on, detail = rate > 0, ({"rate": rate} if rate > 0 else {})
            elif fault.kind == "proxy":
                on = not proxies.get(fault.proxy, {}).get("enabled", True)
            elif fault.kind == "toxic":
                toxic = next((t for t in proxies.get(fault.proxy, {}).get("toxics") or [] if t["name"] == fault.name), None)
                on = toxic is not None
                if toxic:
                    detail = {"rate": toxic.get("toxicity", 1.0)}
                    if "latency" in toxic.get("attributes", {}):
                        detail["delay_ms"] = toxic["attributes"]["latency"]
            rows.append({"name": fault.name, "summary": fault.summary, "shows": fault.shows,
                         "kind": fault.kind, "options": list(fault.options), "on": on, "settings": detail})
        return rows

    def switch(self, name, on, rate=None, delay_ms=None):
        fault = lookup(name)
        if fault.kind == "container":
            raise FaultError(f"fault {name} stops a container: the console has no Docker; "
                             f"run scripts/lab fault {'on' if on else 'off'} {name}")
        if not on and (rate is not None or delay_ms is not None):
            raise FaultError("--rate and --delay go with 'on'")
        rate, delay_ms = settings(fault, rate, delay_ms) if on else (0.0, 0)
        if fault.kind == "flag":
            self.write_flag(rate)
        elif fault.kind == "proxy":
            self._call("POST", f"/proxies/{fault.proxy}", {"enabled": not on})
        else:
            # Replacing it keeps one toxic per fault: `on` again with new options updates it.
            self._call("DELETE", f"/proxies/{fault.proxy}/toxics/{fault.name}", missing_ok=True)
            if on:
                self._call("POST", f"/proxies/{fault.proxy}/toxics", fault.toxic_body(rate, delay_ms))
        return next(row for row in self.status() if row["name"] == name)

    def clear(self):
        """Every network and flag fault off (Toxiproxy's reset: proxies enabled, no toxics)."""
        self._call("POST", "/reset")
        self.write_flag(0)
        return self.status()


# --- `lab fault` ------------------------------------------------------------------------------

def _console(path, body=None):
    """The console's /api/faults answer, or a LabError with its message."""
    from . import compose
    from .urls import published
    addr = published(compose.config(compose.running_backend() or compose.default_backend()), "console", 8070)
    if not addr or not compose.running_backend():
        raise LabError("the lab is not running (scripts/lab up)")
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://{addr}{path}", data=data, method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as err:
        try:
            message = json.load(err)["message"]
        except (ValueError, KeyError, TypeError):
            message = f"HTTP {err.code}"
        raise LabError(message)
    except (urllib.error.URLError, OSError) as err:
        raise LabError(f"the lab console at {addr} does not answer ({getattr(err, 'reason', err)}): "
                       f"is it running? (scripts/lab status)")


def clear_quietly():
    """Every network and flag fault off if the console answers (before `lab down`); else nothing."""
    try:
        _console("/api/faults/clear", {})
    except LabError:
        pass


def _collector_running():
    from . import compose
    return any(c.get("Service") == "collector" and c.get("State") == "running" for c in compose.containers())


def _switch_collector(on):
    from . import compose
    compose.docker_compose("stop" if on else "start", "collector", backend=compose.ALL_PROFILES)


def _print(rows):
    from .urls import table

    def state(row):
        if row["on"] is None:
            return "?"
        if not row["on"]:
            return "off"
        parts = [f"rate {row['settings']['rate']:g}" if "rate" in row["settings"] else "",
                 f"delay {row['settings']['delay_ms']} ms" if "delay_ms" in row["settings"] else ""]
        return "ON " + ", ".join(p for p in parts if p)
    print(table([(r["name"], state(r), r["summary"]) for r in rows], headers=("FAULT", "STATE", "WHAT BREAKS")))


def cmd_fault(args):
    action, name = args.action, args.name
    if action in ("list", "clear") and name:
        raise LabError(f"lab fault {action} takes no fault name")
    if action in ("on", "off") and not name:
        raise LabError(f"lab fault {action} NAME (one of: {', '.join(BY_NAME)})")
    if action == "off" and (args.rate is not None or args.delay is not None):
        raise LabError("--rate and --delay go with 'on'")
    if action in ("list", "clear") and (args.rate is not None or args.delay is not None):
        raise LabError(f"lab fault {action} takes no --rate or --delay")
    if name and action == "on":
        settings(lookup(name), args.rate, args.delay)   # refused here, before anything is asked
    elif name:
        lookup(name)
    if name and BY_NAME[name].kind == "container":
        _switch_collector(action == "on")
        print(f"lab: fault {name} {'on: the collector is stopped' if action == 'on' else 'off: the collector runs again'}",
              file=sys.stderr)
    elif action == "on":
        body = {"on": True, **({"rate": args.rate} if args.rate is not None else {}),
                **({"delay_ms": args.delay} if args.delay is not None else {})}
        _console(f"/api/faults/{name}", body)
        print(f"lab: fault {name} on. Where it shows: {BY_NAME[name].shows}", file=sys.stderr)
    elif action == "off":
        _console(f"/api/faults/{name}", {"on": False})
        print(f"lab: fault {name} off", file=sys.stderr)
    elif action == "clear":
        _console("/api/faults/clear", {})
        if not _collector_running():
            _switch_collector(False)
        print("lab: every fault off", file=sys.stderr)
    rows = _console("/api/faults")["faults"]
    collector = next(r for r in rows if r["kind"] == "container")
    collector["on"] = not _collector_running()
    _print(rows)
    return 0


def add_parser(sub):
    p = sub.add_parser("fault", help="switch a fault drill on or off (list, on NAME, off NAME, clear); docs/drills.md",
                       description="Faults to switch on and find in the map, the traces and the metrics "
                                   "(docs/drills.md). Every fault is off by default; `lab down` clears them.\n\n"
                                   + "\n".join(f"  {f.name:16} {f.summary}" for f in FAULTS),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=("list", "on", "off", "clear"))
    p.add_argument("name", nargs="?", help="the fault (see above)")
    p.add_argument("--rate", type=float, help="share of requests (history-5xx) or of connections (network faults), 0-1")
    p.add_argument("--delay", type=int, help="milliseconds added (db-slow, history-latency)")
    p.set_defaults(func=cmd_fault)
