"""Unit tests of the lock and the rule that let a host's mirrors share one saved copy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from etcdmap._core.keyspace import KeySpace
from etcdmap._core.mirror_file import MirrorFile, SavedCopy
from etcdmap._core.mirror_share import SharedSnapshot, SnapshotLock, reusable
from etcdmap.codecs import Json, Str

KS: KeySpace[object] = KeySpace("/p/", Json(), Str())


def test_one_holder_at_a_time_even_within_one_process(tmp_path: Path) -> None:
    first, second = SnapshotLock(tmp_path / "copy"), SnapshotLock(tmp_path / "copy")
    assert first.path == tmp_path / "copy.lock"
    assert first.try_acquire() and first.held
    assert first.try_acquire()  # already held: still held, no second lock
    assert not second.try_acquire() and not second.held
    first.release()
    first.release()  # not held: nothing
    assert second.try_acquire()
    second.release()
    assert (tmp_path / "copy.lock").exists()  # kept: removing it would split the lock


def test_another_process_waits_and_a_dead_holder_frees_the_lock(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys, pathlib\n"
            "from etcdmap._core.mirror_share import SnapshotLock\n"
            f"assert SnapshotLock(pathlib.Path({str(tmp_path / 'copy')!r})).try_acquire()\n"
            "print('held', flush=True)\n"
            "sys.stdin.read()\n"
        )],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        lock = SnapshotLock(tmp_path / "copy")
        assert not lock.try_acquire()
        holder.kill()
        holder.wait(10)
        assert lock.try_acquire()
        lock.release()
    finally:
        holder.kill()
        holder.communicate(timeout=10)


def test_only_a_copy_newer_than_the_mirrors_own_is_reused() -> None:
    saved = SavedCopy(b"/p/", 10, [], [])
    assert reusable(saved, 0)  # no copy yet
    assert reusable(saved, 9)
    assert not reusable(saved, 10)  # the very copy that was compacted
    assert not reusable(None, 0)


def test_a_waiting_mirror_reads_the_file_only_when_it_changed(tmp_path: Path) -> None:
    file = MirrorFile(tmp_path / "copy", KS, keys_only=False)
    share = SharedSnapshot(file)
    assert share.newer(0) is None  # no file yet
    file.save(5, {"a": {"x": 1}}, {})
    saved = share.newer(0)
    assert saved is not None and saved.revision == 5
    assert share.newer(0) is None  # the same file: not read again
    # (each save of another size: two saves within one tick of the file clock may reuse the
    # inode and the time of the one before; then the change goes unseen and costs a listing)
    file.save(7, {"a": {"x": 22}}, {})  # another mirror saves a newer copy
    saved = share.newer(5)
    assert saved is not None and saved.revision == 7
    file.save(6, {}, {})  # an older one (a mirror closing late): no use to a mirror at 7
    assert share.newer(7) is None
    file.save(9, {"bb": 1}, {})
    share.saved()  # this mirror wrote it: nothing new to it
    assert share.newer(7) is None
