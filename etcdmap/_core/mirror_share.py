"""One saved copy shared by the mirrors of one host: which of them lists, which reuse it.

Mirrors of one prefix that start together with the same ``persist=`` path (threads, or
processes of one host) would each list the prefix: a fleet of N mirrors costs the server N
relists. Before a mirror lists, it takes ``SnapshotLock`` (an exclusive ``flock`` on
``<path>.lock``); holding it, it reuses the copy another mirror saved meanwhile when that
copy is newer than the one it has (``reusable``), or else lists and saves the copy before
letting go, so the others waiting for the lock reuse it. The kernel drops the lock of a
process that dies, so a crashed lister holds nobody up. The file itself is only ever
replaced by a rename (``MirrorFile.save``), so it is read without the lock.
"""

from __future__ import annotations

import os
from pathlib import Path

from .mirror_file import SavedCopy

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: every mirror lists for itself
    fcntl = None  # type: ignore[assignment]  # the lock is then always granted

__all__ = ["SnapshotLock", "reusable"]


class SnapshotLock:
    """The exclusive lock that elects one lister among the mirrors saving to ``snapshot``:
    an ``flock`` on the file ``<snapshot>.lock`` (created, never removed: removing it
    would let two mirrors lock two different files)."""

    __slots__ = ("_fd", "path")

    def __init__(self, snapshot: Path) -> None:
        self.path = snapshot.with_name(snapshot.name + ".lock")
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it (no waiting); whether this object now holds it.
        ``OSError`` if the lock file cannot be created or opened."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
        self._fd = fd
        return True

    def release(self) -> None:
        """Let go of the lock (closing the file drops the ``flock``); nothing if not held."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def reusable(saved: SavedCopy | None, revision: int) -> bool:
    """Whether a mirror whose copy is at ``revision`` (0: none yet; else one the server has
    compacted) gains from the ``saved`` copy: only one newer than its own does."""
    return saved is not None and saved.revision > revision
