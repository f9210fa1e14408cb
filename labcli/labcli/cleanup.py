"""`lab cleanup`: being built."""
from .compose import LabError


def cmd_cleanup(_args):
    raise LabError("lab cleanup is being built")


def add_parser(sub):
    sub.add_parser("cleanup", help="(being built)").set_defaults(func=cmd_cleanup)
