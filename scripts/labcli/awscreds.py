"""Can the collector read the AWS credentials the aws backend mounts? Checked on the host before
`lab up`, from the resolved compose config (the mount's source, the container's uid:gid), because
inside the container an unreadable file only shows up later, as an exporter's credentials error."""
import stat
from pathlib import Path

AWS_TARGET = "/home/aoc/.aws"
FILES = ("credentials", "config")
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


def problems(collector):
    """One line per problem with the collector service's AWS mount (a resolved compose service)."""
    mounts = [v for v in collector.get("volumes", []) if v.get("target") == AWS_TARGET]
    if not mounts:
        return [f"the collector mounts nothing at {AWS_TARGET}"]
    source = Path(mounts[0]["source"])
    if not source.is_dir():
        return [f"{source} does not exist: the collector will find no AWS credentials (LAB_AWS_DIR)"]
    present = [source / name for name in FILES if (source / name).is_file()]
    if not present:
        return [f"{source} holds neither credentials nor config: the collector will find no AWS credentials"]
    try:
        uid, gid = (int(part) for part in str(collector.get("user")).split(":"))
    except ValueError:
        return []  # no numeric uid:gid: what the image's user may read is unknown here
    fix = "run scripts/lab as their owner (not root), or set LAB_COLLECTOR_USER=uid:gid of the owner"
    if not _allowed(source, uid, gid, ENTER):
        return [f"{_describe(source)} cannot be entered by the collector's user {uid}:{gid}: {fix}"]
    return [f"{_describe(path)} is not readable by the collector's user {uid}:{gid}: {fix}"
            for path in present if not _allowed(path, uid, gid, READ)]
