"""`lab walkthrough`: being built."""
from .compose import LabError


def cmd_journey(_args):
    raise LabError("lab walkthrough is being built")


def add_parser(sub):
    sub.add_parser("walkthrough", help="(being built)").set_defaults(func=cmd_journey)
