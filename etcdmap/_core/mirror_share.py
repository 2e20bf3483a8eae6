"""One saved copy shared by the mirrors of one host: which of them lists, which reuse it.

Mirrors of one prefix that start together with the same ``persist=`` path (threads, or
processes of one host) would each list the prefix: a fleet of N mirrors costs the server N
relists. ``SharedSnapshot`` makes them list once: a mirror lists only while holding
``SnapshotLock`` (an exclusive ``flock`` on ``<path>.lock``) and saves what it listed before
letting go; the others, waiting, watch the file and take the copy as soon as one newer than
theirs appears (``reusable``). The file is only ever replaced by a rename
(``MirrorFile.save``), so it is read without the lock, and a waiting mirror reads it only
when it changed (a ``stat``), so the mirrors of a host do not queue behind each other's
reads. The kernel drops the lock of a process that dies, so a crashed lister holds nobody
up.
"""

from __future__ import annotations

import os
from pathlib import Path

from .mirror_file import MirrorFile, SavedCopy

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: every mirror lists for itself
    fcntl = None  # type: ignore[assignment]  # the lock is then always granted

__all__ = ["SharedSnapshot", "SnapshotLock", "reusable"]


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


class SharedSnapshot:
    """The saved copy of ``file`` as the mirrors sharing it see it: ``lock`` elects the one
    that lists; ``newer`` gives a copy another mirror saved."""

    __slots__ = ("file", "lock", "_seen")

    def __init__(self, file: MirrorFile) -> None:
        assert file.path is not None
        self.file = file
        self.lock = SnapshotLock(file.path)
        self._seen: tuple[int, int, int] | None = None

    def _version(self) -> tuple[int, int, int] | None:
        """Which file is at the path now (a save renames a new one over it), or None. Two
        saves of one size within one tick of the file system's clock may look alike (the
        inode of the first reused): the second then goes unseen, which costs a listing."""
        assert self.file.path is not None
        try:
            stat = self.file.path.stat()
        except FileNotFoundError:
            return None
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def newer(self, revision: int) -> SavedCopy | None:
        """The saved copy, if the file changed since this mirror last read or wrote it and
        holds a copy newer than ``revision`` (the mirror's own; 0 for none)."""
        version = self._version()
        if version is None or version == self._seen:
            return None
        self._seen = version
        saved = self.file.load()
        return saved if reusable(saved, revision) else None

    def saved(self) -> None:
        """This mirror has just saved the file: it holds what the file holds."""
        self._seen = self._version()
