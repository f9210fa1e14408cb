"""Will the collector find AWS credentials with the aws backend? Checked on the host before
`lab up`, from the resolved compose config (its environment, the mount's source, the container's
uid:gid), because inside the container a missing or unreadable credential only shows up later,
as an exporter's credentials error. The order is the AWS SDK's: the AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY pair, then the profile AWS_PROFILE names (default: default) in the files."""
import re
import stat
from pathlib import Path

AWS_TARGET = "/home/aoc/.aws"
FILES = ("credentials", "config")
KEY_PAIR = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
# What collector/env/aws.env passes from the shell when set.
SHELL_VARIABLES = ("AWS_PROFILE", *KEY_PAIR, "AWS_SESSION_TOKEN")
# A profile's section header: "[NAME]" in credentials, "[default]" or "[profile NAME]" in config
# (not "[sso-session NAME]" or "[services NAME]": two words without "profile").
SECTION = re.compile(r"^[ \t]*\[[ \t]*(?:profile[ \t]+)?([^\]\s]+)[ \t]*\]", re.MULTILINE)
READ = (stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH)
ENTER = (stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH)


def _allowed(path, uid, gid, bits):
    """Whether uid:gid has the permission `bits` (owner, group, other) on path. Supplementary
    groups do not count: the container's user has none."""
    st = path.stat()
    if uid == 0:
        return True
    if st.st_uid == uid:
        return bool(st.st_mode & bits[0])
    if st.st_gid == gid:
        return bool(st.st_mode & bits[1])
    return bool(st.st_mode & bits[2])


def _describe(path):
    st = path.stat()
    return f"{path} (mode {stat.S_IMODE(st.st_mode):04o}, owner {st.st_uid}:{st.st_gid})"


def _profiles(paths):
    """Profile names defined in the files."""
    names = set()
    for path in paths:
        names.update(SECTION.findall(path.read_text(errors="replace")))
    return names


def problems(collector):
    """One line per problem with the collector service's AWS credentials (a resolved compose service)."""
    env = collector.get("environment") or {}
    keys = [key for key in KEY_PAIR if env.get(key)]
    if len(keys) == len(KEY_PAIR):
        return []  # the SDK takes these before any file
    found = []
    if keys:
        (missing,) = set(KEY_PAIR) - set(keys)
        found.append(f"{keys[0]} is set but {missing} is not: the collector ignores it and looks in the files")
    mounts = [v for v in collector.get("volumes", []) if v.get("target") == AWS_TARGET]
    if not mounts:
        return found + [f"the collector mounts nothing at {AWS_TARGET}"]
    source = Path(mounts[0]["source"])
    if not source.is_dir():
        return found + [f"{source} does not exist: the collector will find no AWS credentials (LAB_AWS_DIR)"]
    present = [source / name for name in FILES if (source / name).is_file()]
    if not present:
        return found + [f"{source} holds neither credentials nor config, and the shell exports no key pair "
                        f"({' + '.join(KEY_PAIR)}): the collector will find no AWS credentials "
                        "(run aws configure, or export a key pair)"]
    try:
        uid, gid = (int(part) for part in str(collector.get("user")).split(":"))
    except ValueError:
        uid = gid = None  # no numeric uid:gid: what the image's user may read is unknown here
    fix = "run scripts/lab as their owner (not root), or set LAB_COLLECTOR_USER=uid:gid of the owner"
    if uid is not None:
        if not _allowed(source, uid, gid, ENTER):
            return found + [f"{_describe(source)} cannot be entered by the collector's user {uid}:{gid}: {fix}"]
        found += [f"{_describe(path)} is not readable by the collector's user {uid}:{gid}: {fix}"
                  for path in present if not _allowed(path, uid, gid, READ)]
    profile = env.get("AWS_PROFILE")
    try:
        profiles = _profiles(present)
    except OSError:
        return found  # unreadable here too: already said, or not ours to judge
    if (profile or "default") not in profiles:
        named = f"profile {profile} (AWS_PROFILE)" if profile else "profile default (no AWS_PROFILE set)"
        found.append(f"{named} is in neither file of {source} (profiles there: {', '.join(sorted(profiles)) or 'none'})")
    return found
