"""The subcommands the lab CLI's parser defines (tests/lab: the CLI's own tests and the
walkthrough document's)."""
import contextlib
import io
import re

from labcli import cli


def choices_named_by(stderr):
    """The subcommands argparse lists after an invalid choice: "(choose from 'up', 'down', ...)"."""
    match = re.search(r"invalid choice: .*\(choose from (.*)\)\s*$", stderr.strip(), re.S)
    if not match:
        raise AssertionError(f"no 'choose from' list in:\n{stderr}")
    return [name.strip(" '\"") for name in match.group(1).split(",")]


def defined_subcommands():
    """Every subcommand labcli's parser defines, with or without a help text: argparse names
    them all when it refuses an unknown one."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            cli.parser().parse_args(["no-such-subcommand"])
        except SystemExit as exit_:
            if exit_.code != 2:
                raise AssertionError(f"argparse exited {exit_.code}, not 2")
        else:
            raise AssertionError("the parser accepted an unknown subcommand")
    return choices_named_by(err.getvalue())
