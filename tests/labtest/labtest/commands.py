"""A PATH with this machine's commands but some, to run a script as on a machine without them."""
import os


def path_without(folder, hide):
    """Links every command of PATH into `folder` (a Path) but those named n with hide(n) true;
    returns `folder` as a PATH value."""
    for directory in filter(os.path.isdir, os.environ["PATH"].split(os.pathsep)):
        for name in os.listdir(directory):
            if not hide(name) and not os.path.lexists(folder / name):   # the first on PATH wins
                (folder / name).symlink_to(os.path.join(directory, name))
    return str(folder)

