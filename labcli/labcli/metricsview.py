"""`lab metrics`: being built."""
from .compose import LabError


def cmd_metricsview(_args):
    raise LabError("lab metrics is being built")


def add_parser(sub):
    sub.add_parser("metrics", help="(being built)").set_defaults(func=cmd_metricsview)
