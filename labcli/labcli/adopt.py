"""`lab adopt [N]`: a documented way past the walkthrough's 90 history rows (figure 7 filters
transactions_history_count > 90).

Adopts N pets through PetSite (POST /api/adoptions?count=K, at most 100 per call), runs its
housekeeping (POST /api/housekeeping), which moves the adoptions into the history pethistory
reports, and prints how many rows the history holds now (GET /pethistory). The collector
scrapes pethistory every 20 s, so the metric follows within about 20 s.
Run it without load: the Locust users clear the history at random.
"""
import json
import urllib.error
import urllib.request

from .compose import LabError

MAX_BATCH = 100          # PetSite's limit per POST /api/adoptions
MAX_PETS = 10000
DEFAULT_PETS = 100


def batches(n, size=MAX_BATCH):
    """The counts of the POST /api/adoptions calls that adopt n pets."""
    if not 1 <= n <= MAX_PETS:
        raise LabError(f"N must be a whole number from 1 to {MAX_PETS} (got {n})")
    return [size] * (n // size) + ([n % size] if n % size else [])


def petsite_call(base, method, path, timeout=30):
    """One PetSite API call -> its JSON; a one-line LabError with PetSite's own message."""
    req = urllib.request.Request(base.rstrip("/") + path, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        try:
            message = json.loads(err.read()).get("message")
        except (ValueError, AttributeError):
            message = None
        raise LabError(f"PetSite {method} {path}: HTTP {err.code}: {message or err.reason}")
    except (urllib.error.URLError, OSError) as err:
        raise LabError(f"PetSite at {base} does not answer ({getattr(err, 'reason', err)}): "
                       f"is the lab up? (scripts/lab up)")
    except ValueError:
        raise LabError(f"PetSite {method} {path} answered something that is not JSON")


def adopt(petsite, counts):
    """Adopt pets in calls of these counts, move them into the history; returns (adopted,
    moved, history rows)."""
    adopted = sum(petsite_call(petsite, "POST", f"/api/adoptions?count={k}")["adopted"] for k in counts)
    moved = petsite_call(petsite, "POST", "/api/housekeeping")["moved"]
    rows = petsite_call(petsite, "GET", "/pethistory")
    if not isinstance(rows, list):
        raise LabError("PetSite GET /pethistory answered JSON that is not a list of rows")
    return adopted, moved, len(rows)


def cmd_adopt(args):
    from .endpoints import resolve
    counts = batches(args.n)   # the range first, before anything is looked up
    ep = resolve()
    if not ep.petsite:
        raise LabError("PetSite is not published (petsite-stub in compose.yaml)")
    adopted, moved, rows = adopt(ep.petsite, counts)
    later = "; backend local: Prometheus reads the collector up to 15 s later" if ep.backend == "local" else ""
    print(f"adopted {adopted} pet(s) through PetSite {ep.petsite} ({len(counts)} call(s) of at most {MAX_BATCH}); "
          f"housekeeping moved {moved} adoption(s) into the history\n"
          f"the history now holds {rows} row(s) (GET {ep.petsite}/pethistory)\n"
          f"transactions_history_count shows it within about 20 s (the collector scrapes every 20 s{later}); "
          f"then: scripts/lab insights")
    return 0


def add_parser(sub):
    p = sub.add_parser("adopt", help="adopt N pets through PetSite and move them into the history "
                                     "(past the walkthrough's 90 rows)",
                       description="Adopt N pets through PetSite, run its housekeeping so they move into the "
                                   "history, and print how many rows the history holds. Run it without load: "
                                   "the Locust users clear the history at random.")
    p.add_argument("n", nargs="?", type=int, default=DEFAULT_PETS, metavar="N",
                   help=f"pets to adopt, 1 to {MAX_PETS} (default {DEFAULT_PETS})")
    p.set_defaults(func=cmd_adopt)
