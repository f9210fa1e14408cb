"""The collector layer files (collector/*.yaml) and how they combine: the static tests of
tests/lab and tests/kind."""
import yaml

from .checkout import ROOT

COLLECTOR = ROOT / "collector"
BACKENDS = ("local", "emulated", "aws")


def discovery_layers():
    """scrape-compose.yaml, and scrape-k8s.yaml once the kind overlay adds it."""
    return sorted(p.name for p in COLLECTOR.glob("scrape-*.yaml"))


def combination(discovery, backend):
    """The --config files, in order, that a deployment uses for a backend."""
    return ["base.yaml", discovery, "aws.yaml", f"{backend}.yaml"]


def merge(a, b):
    """The collector's merge of two layers: maps merge key by key, anything else (lists
    included) is replaced by the later layer."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for key, value in b.items():
            out[key] = merge(a[key], value) if key in a else value
        return out
    return b


def effective(files):
    config = {}
    for name in files:
        config = merge(config, yaml.safe_load((COLLECTOR / name).read_text()) or {})
    return config
