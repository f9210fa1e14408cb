"""Soak: steady load on the running lab for N minutes; the service's and the collector's memory
(docker stats) over time, and the errors. Target: RSS flat within +-10 %, zero errors.

    scripts/lab up && bench/soak                 # 10 minutes, the default Locust load
    bench/soak --quick                           # 2 minutes, to see that it works
    bench/soak --minutes 30 --driver python      # a fixed-rate stdlib loop instead of Locust

The load: `scripts/lab load` (Locust, loadgen/) when the lab has a loadgen service, else (or with
--driver python) a bounded loop of GET/DELETE on pethistory at --rate requests/s. Only 127.0.0.1.
Memory is compared between the end of the warm-up (default: half the run) and the end of the run
(mean of 2 samples each); with the emulated backend the emulator (moto) is sampled too. The
collector's memory climbs for its first ~4 minutes under load (its buffers filling) and is flat
after, so --quick (2 minutes) judges pethistory only and prints the collector's figure unjudged
(--judge picks the services).
Exit status: 0 when the target holds, 1 when it does not, 2 when the lab is not running.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from labcli import compose
from labcli.urls import published

from labtest import docker_memory
from labbench.common import ROOT, LAB_CLI

WATCHED = ("pethistory", "collector", "petsite-stub", "postgres", "moto")   # moto: the emulated backend
JUDGEABLE = ("pethistory", "collector", "moto")
API = "/petadoptionshistory/api/home/transactions"


def containers() -> dict[str, str]:
    return {service: c["Name"] for service, c in compose.running().items() if service in WATCHED}


def memory(names: dict[str, str]) -> dict[str, float]:
    by_name = docker_memory.container_memory(names.values())
    return {service: by_name.get(name, float("nan")) for service, name in names.items()}


class PythonLoad:
    """A fixed-rate loop: 9 GETs to 1 DELETE of the history, `rate` requests/s, until stop()."""

    def __init__(self, base: str, rate: float, seconds: float):
        self.base, self.rate, self.deadline = base, rate, time.monotonic() + seconds
        self.sent = self.errors = 0
        self.last_error = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        interval = 1 / self.rate
        next_at = time.monotonic()
        while not self._stop.is_set() and time.monotonic() < self.deadline:
            method = "DELETE" if self.sent % 10 == 9 else "GET"
            try:
                with urllib.request.urlopen(urllib.request.Request(self.base + API, method=method), timeout=10) as r:
                    r.read()
            except (urllib.error.URLError, OSError) as error:
                self.errors += 1
                self.last_error = repr(error)[:200]
            self.sent += 1
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))

    def start(self):
        self._thread.start()
        return self

    def finish(self) -> tuple[int, int, str]:
        self._stop.set()
        self._thread.join(timeout=15)
        return self.sent, self.errors, self.last_error


class LocustLoad:
    """`scripts/lab load` for the whole run; requests and failures from Locust's summary."""

    def __init__(self, users: int, seconds: int):
        self.proc = subprocess.Popen(
            [*LAB_CLI, "load", "--users", str(users), "--duration", f"{seconds}s"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def start(self):
        return self

    def finish(self) -> tuple[int, int, str]:
        try:
            out, _ = self.proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            out, _ = self.proc.communicate(timeout=30)
        rows = [line for line in out.splitlines() if line.strip().startswith("Aggregated")]
        if not rows:
            return 0, 1, "no Locust summary: " + out.strip()[-300:]
        # The first Aggregated row is the request table (requests, failures); the last one is
        # the percentile table, whose numbers are latencies.
        numbers = re.findall(r"\d+", rows[0])
        sent, failed = int(numbers[0]), int(numbers[1])
        return sent, failed + (1 if self.proc.returncode not in (0, None) and not failed else 0), rows[0].strip()


def memory_verdict(samples: list[dict], warmup: float, judged: list[str], tolerance: float) -> dict:
    """Per watched service: memory at the end of the warm-up and at the end (mean of 2 samples
    each), the change in %, and whether it is within +-tolerance (always ok when not judged)."""
    after_warmup = [s for s in samples if s["t"] >= warmup] or samples
    verdict = {}
    for service in (s for s in JUDGEABLE if s in samples[0]):   # moto: only with the emulated backend
        first = sum(s[service] for s in after_warmup[:2]) / len(after_warmup[:2])
        last = sum(s[service] for s in samples[-2:]) / len(samples[-2:])
        change = (last - first) / first * 100
        verdict[service] = {"start_mib": round(first, 1), "end_mib": round(last, 1), "change_pct": round(change, 1),
                            "judged": service in judged, "ok": service not in judged or abs(change) <= tolerance}
    return verdict


def parse_args(argv) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/soak", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=10, help="length of the run (default 10)")
    p.add_argument("--quick", action="store_true",
                   help="2 minutes, 10 s samples, 60 s warm-up, judges pethistory only")
    p.add_argument("--interval", type=float, default=30, help="seconds between memory samples (default 30)")
    p.add_argument("--warmup", type=float, help="seconds before the start figure (default: half the run)")
    p.add_argument("--judge", default="pethistory,collector",
                   help="services whose memory the verdict covers: pethistory, collector, moto (the emulated "
                        "backend's emulator) (default pethistory,collector)")
    p.add_argument("--driver", choices=("auto", "locust", "python"), default="auto")
    p.add_argument("--users", type=int, default=5, help="Locust users (default 5)")
    p.add_argument("--rate", type=float, default=20, help="python driver: requests/s (default 20)")
    p.add_argument("--tolerance", type=float, default=10, help="allowed RSS change, %% (default 10)")
    p.add_argument("--json", help="also write the samples and the verdict to this file")
    args = p.parse_args(argv)
    if args.quick:
        args.minutes, args.interval, args.warmup, args.judge = 2, 10, 60, "pethistory"
    if not 0 < args.minutes <= 24 * 60:
        p.error("--minutes must be within (0, 1440]")
    if args.interval <= 0 or args.rate <= 0 or args.users < 1:
        p.error("--interval, --rate and --users must be positive")
    args.judged = [s for s in args.judge.split(",") if s]
    if not args.judged or set(args.judged) - set(JUDGEABLE):
        p.error("--judge takes pethistory, collector and/or moto")
    args.seconds = int(args.minutes * 60)
    args.warmup = args.seconds / 2 if args.warmup is None else min(args.warmup, args.seconds / 2)
    return args


def start_load(args, backend: str):
    """(the load, what it is), or (None, why not): Locust when the lab has its loadgen."""
    has_loadgen = "loadgen" in compose.services()
    driver = args.driver if args.driver != "auto" else ("locust" if has_loadgen else "python")
    if driver == "locust":
        return LocustLoad(args.users, args.seconds).start(), f"Locust, {args.users} users (scripts/lab load)"
    addr = published(compose.config(backend), "pethistory", 8080)
    if not addr or not addr.startswith("127.0.0.1:"):
        return None, f"pethistory is not published on 127.0.0.1 ({addr})"
    load = PythonLoad(f"http://{addr}", args.rate, args.seconds).start()
    return load, f"python loop, {args.rate:g} req/s (9 GET : 1 DELETE) on pethistory"


def sample(names: dict[str, str], seconds: int, interval: float) -> list[dict]:
    """Memory of the watched containers every `interval` s for `seconds`, printed as it comes."""
    samples, start = [], time.monotonic()
    print("   t(s)  " + "  ".join(f"{s:>13}" for s in names))
    while True:
        elapsed = time.monotonic() - start
        row = {"t": round(elapsed), **memory(names)}
        samples.append(row)
        print(f"{row['t']:7d}  " + "  ".join(f"{row[s]:10.1f} MiB" for s in names), flush=True)
        if elapsed >= seconds:
            return samples
        time.sleep(max(0.0, min(interval, seconds - elapsed)))


def report(args, sent: int, errors: int, detail: str, verdict: dict) -> bool:
    ok = errors == 0 and all(v["ok"] for v in verdict.values())
    print(f"\nrequests {sent}, errors {errors}" + (f" ({detail})" if errors else ""))
    for service, v in verdict.items():
        why = "--quick is shorter than its ~4-minute climb" if args.quick else "--judge"
        note = "" if v["judged"] else f"  (not judged: {why})"
        print(f"{service}: {v['start_mib']} MiB after {args.warmup:g} s -> {v['end_mib']} MiB at the end "
              f"({v['change_pct']:+.1f} %){note}")
    print(f"target (RSS within +-{args.tolerance:g} %, zero errors): {'met' if ok else 'NOT met'}")
    return ok


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        names = containers()
    except compose.LabError as error:
        print(f"soak: {error}", file=sys.stderr)
        return 2
    if "pethistory" not in names or "collector" not in names:
        print("soak: the lab is not running (scripts/lab up)", file=sys.stderr)
        return 2
    backend = compose.running_backend() or "local"
    load, what = start_load(args, backend)
    if load is None:
        print(f"soak: {what}", file=sys.stderr)
        return 2
    print(f"soak: {args.minutes:g} min, {what}; memory of {', '.join(names)} every {args.interval:g} s",
          file=sys.stderr)
    samples = sample(names, args.seconds, args.interval)
    sent, errors, detail = load.finish()
    verdict = memory_verdict(samples, args.warmup, args.judged, args.tolerance)
    ok = report(args, sent, errors, detail, verdict)
    if args.json:
        Path(args.json).write_text(json.dumps({"minutes": args.minutes, "driver": what, "backend": backend,
                                               "requests": sent, "errors": errors, "memory": verdict,
                                               "samples": samples, "ok": ok}, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
