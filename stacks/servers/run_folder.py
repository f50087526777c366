"""The run folder of `servers up`: its owner's only, and changed by one process at a time.

It holds every credential, log and data file of the local servers. Whoever holds its lock (`up`,
`down`, the credentials' first write) is its only writer; records are replaced whole, so `status`
and other readers see the old version or the new one, never a part; and whatever is created while
the lock is held is its owner's only (umask 077, which the servers started meanwhile inherit).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

LOCK_FILE = ".lock"
OWNER_ONLY = 0o077  # the umask, and the bits taken off what an older version left readable


@contextlib.contextmanager
def run_folder_lock(folder: Path) -> Iterator[None]:
    """The run folder to this process alone until the block ends: another `up` or `down` waits.

    A lock on an open file (flock), so it is gone when the process is, however it ended; the
    servers started meanwhile do not inherit it (subprocess closes their copies of our files).
    """
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    previous = os.umask(OWNER_ONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.umask(previous)
        os.close(descriptor)


def make_private(folder: Path, enterable: bool) -> None:
    """Take the group's and others' rights off everything in the run folder (an older version left
    it world-readable); the folder itself stays `enterable` (0711: no listing) when database
    servers running as their own accounts must pass through it to their folders."""
    for directory, subfolders, files in os.walk(folder):
        for name in (*subfolders, *files):
            path = os.path.join(directory, name)
            with contextlib.suppress(FileNotFoundError):  # a running server's temporary file
                mode = os.lstat(path).st_mode
                if mode & OWNER_ONLY and not stat.S_ISLNK(mode):
                    os.chmod(path, stat.S_IMODE(mode) & ~OWNER_ONLY)
    folder.chmod(0o711 if enterable else 0o700)


def write_private(path: Path, text: str) -> None:
    """Replace `path` whole with `text`, readable by its owner only: written to a new file beside
    it, then renamed over it, so a reader or a crash never sees half of it."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
