"""`lab adopt`: being built."""
from .compose import LabError


def cmd_adopt(_args):
    raise LabError("lab adopt is being built")


def add_parser(sub):
    sub.add_parser("adopt", help="(being built)").set_defaults(func=cmd_adopt)
