"""Unit tests of the lock and the rule that let a host's mirrors share one saved copy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from etcdmap._core.mirror_file import SavedCopy
from etcdmap._core.mirror_share import SnapshotLock, reusable


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
