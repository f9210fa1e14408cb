"""`lab trace`: being built."""
from .compose import LabError


def cmd_traceview(_args):
    raise LabError("lab trace is being built")


def add_parser(sub):
    sub.add_parser("trace", help="(being built)").set_defaults(func=cmd_traceview)
