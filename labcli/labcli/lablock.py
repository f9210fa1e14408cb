"""The lab is one compose project per machine: whatever drives it for long (the e2e tests,
bench/run --lab) holds one flock, LAB_E2E_LOCK (default /tmp/petlab-lab.lock), the same file
that `flock /tmp/petlab-lab.lock <command>` takes from a shell. A process started under such a
`flock` already holds it and must not wait for itself. LAB_E2E_LOCK= (empty) disables the lock."""
import fcntl
import os
import time

DEFAULT_PATH = "/tmp/petlab-lab.lock"


def ancestor_holds(path):
    """True if a parent process is `flock <path> ...` (the lock is ours already)."""
    pid = os.getppid()
    while pid > 1:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
        if "flock" in cmd and path in cmd:
            return True
        pid = ppid
    return False


def acquire(wait_seconds):
    """The held lock file (close it to release), or None when the lock is disabled or an
    ancestor `flock` holds it. TimeoutError after wait_seconds of another holder."""
    path = os.environ.get("LAB_E2E_LOCK", DEFAULT_PATH)
    if not path or ancestor_holds(path):
        return None
    handle = open(path, "a")
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() > deadline:
                handle.close()
                raise TimeoutError(f"another session holds {path} (the lab is in use)")
            time.sleep(2)
