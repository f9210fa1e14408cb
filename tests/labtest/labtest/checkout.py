"""The repository the tests run against (labcli's checkout: LAB_ROOT, else the editable
install's), its lab CLI scripts/lab, and its .env values."""
from labcli.checkout import ROOT

if ROOT is None:
    raise ImportError("labtest: no lab checkout found (install labcli with pip install -e, or set LAB_ROOT)")

LAB = ROOT / "scripts" / "lab"


def dotenv(key):
    """A value of the repository's .env, as written there."""
    for line in (ROOT / ".env").read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() == key:
            return value.strip()
    raise KeyError(key)
