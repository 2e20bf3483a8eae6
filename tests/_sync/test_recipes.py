# Generated from tests/_async/test_recipes.py by scripts/unasync: do not edit.
"""RWMutex, Barrier, DoubleBarrier and Queue against a real etcd.

Written for AsyncClient; tests/_sync/test_recipes.py is generated from this file by
scripts/unasync. Other participants are played by keys put directly (as Go's recipes would
put them) and by etcdctl after a delay; thread contention tests are in
tests/test_recipes_sync.py.
"""

from __future__ import annotations

from time import monotonic

import pytest

import etcdmap
from etcdmap import Client
from etcdmap.concurrency import (
    Barrier,
    DoubleBarrier,
    Queue,
    RWMutex,
    Session,
)
from etcdmap.testing import EtcdServer

from .helpers import etcdctl_background, finished, unknown_outcomes_leave_no_key


def count(client: Client, prefix: str) -> int:
    return (client.get(prefix, prefix=True, count_only=True)).count


def test_rwmutex_readers_share_and_a_writer_excludes_all(
    etcd_client: Client, etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    c = etcd_client
    name = etcd_prefix + "rw"
    with Session(c, ttl=10) as session:
        r1, r2, w = (RWMutex(session, name) for _ in range(3))
        r1.read_lock(timeout=5)
        assert r1.key is not None and r1.key.startswith(f"{name}/read/".encode())
        r2.read_lock(timeout=5)  # readers share
        with pytest.raises(etcdmap.DeadlineExceededError, match="write lock"):
            w.lock(timeout=0.3)
        assert w.key is None and count(c, name + "/write/") == 0  # no key left behind
        with pytest.raises(RuntimeError, match="already holds"):
            r1.read_lock()
        r1.read_unlock()
        r2.read_unlock()

        w.lock(timeout=5)
        assert w.key is not None and w.key.startswith(f"{name}/write/".encode())
        with pytest.raises(etcdmap.DeadlineExceededError, match="read lock"):
            r1.read_lock(timeout=0.3)
        with pytest.raises(etcdmap.DeadlineExceededError):
            RWMutex(session, name).lock(timeout=0.3)
        with pytest.raises(etcdmap.errors.LockReleasedError, match="no read lock"):
            w.read_unlock()
        w.unlock()
        with pytest.raises(etcdmap.errors.LockReleasedError, match="no write lock"):
            w.unlock()
        assert count(c, name + "/") == 0

        # A writer queued before a reader (here one laid out as Go's recipe does) keeps it
        # out until that writer's key is deleted; the reader then gets in by itself.
        c.put(f"{name}/write/1", "", lease=session.lease_id)
        with pytest.raises(etcdmap.DeadlineExceededError):
            r1.read_lock(timeout=0.3)
        writer_leaves = etcdctl_background(etcd_server, "del", f"{name}/write/1", delay=0.3)
        try:
            started = monotonic()
            r1.read_lock(timeout=10)
            assert monotonic() - started > 0.2
        finally:
            finished(writer_leaves)
        r1.read_unlock()


def test_rwmutex_reports_a_lost_session(
    etcd_client: Client, etcd_prefix: str
) -> None:
    c = etcd_client
    with Session(c, ttl=10) as session:
        rw = RWMutex(session, etcd_prefix + "rw")
        rw.read_lock(timeout=5)
        c.lease_revoke(session.lease_id)
        with pytest.raises(etcdmap.errors.SessionExpiredError, match="gone before its release"):
            rw.read_unlock()


def test_a_lock_or_entry_whose_write_had_an_unknown_outcome_leaves_no_key(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    """As for Mutex (test_concurrency): a queued RWMutex writer key nobody knows of would
    keep every later reader and writer out, a double barrier key would count a participant
    that is not there."""
    if etcd_server.pid is None:
        pytest.skip("needs a local etcd to freeze")
    rw, barrier = etcd_prefix + "rw", etcd_prefix + "barrier"
    with Client(etcd_server.endpoints) as c, Session(c, ttl=30) as mine:
        mine.start()

        def lock() -> None:
            with pytest.raises(etcdmap.DeadlineExceededError):
                RWMutex(mine, rw).lock(timeout=0.3)

        def enter() -> None:
            with pytest.raises(etcdmap.DeadlineExceededError):
                DoubleBarrier(mine, barrier, 2).enter(timeout=0.3)

        applied = [
            unknown_outcomes_leave_no_key(etcd_server, c, mine.lease_id, rw, lock),
            unknown_outcomes_leave_no_key(etcd_server, c, mine.lease_id, barrier, enter),
        ]
        with Session(c, ttl=30) as theirs:
            RWMutex(theirs, rw).read_lock(timeout=1)
            with pytest.raises(etcdmap.DeadlineExceededError):  # alone: the count is not met
                DoubleBarrier(theirs, barrier, 2).enter(timeout=0.3)
    if not any(applied):
        pytest.skip("the frozen server applied none of the timed-out writes: nothing checked")


def test_barrier_hold_wait_release(
    etcd_client: Client, etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    c = etcd_client
    key = etcd_prefix + "barrier"
    barrier = Barrier(c, key)
    barrier.wait(timeout=1)  # not held: no wait
    assert barrier.hold()
    assert not barrier.hold()  # held already
    with pytest.raises(etcdmap.DeadlineExceededError, match="still held"):
        barrier.wait(timeout=0.3)
    releaser = etcdctl_background(etcd_server, "del", key, delay=0.3)
    try:
        started = monotonic()
        barrier.wait(timeout=10)
        assert monotonic() - started > 0.2
    finally:
        finished(releaser)
    assert not barrier.release()  # etcdctl released it
    assert barrier.hold() and barrier.release()
    assert (c.get(key)).count == 0


def test_double_barrier_enter_and_leave(
    etcd_client: Client, etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    c = etcd_client
    key = etcd_prefix + "double"
    with Session(c, ttl=10) as session:
        solo = DoubleBarrier(session, key + "-solo", 1)
        solo.enter(timeout=5)  # the first of one: opens at once
        assert solo.key is not None and solo.key.startswith(f"{key}-solo/waiters/".encode())
        assert (c.get(key + "-solo/ready")).count == 1
        solo.leave(timeout=5)  # the last to leave deletes its key and ready
        assert solo.key is None and count(c, key + "-solo/") == 0

        lonely = DoubleBarrier(session, key, 2)
        with pytest.raises(etcdmap.DeadlineExceededError, match="fewer than 2"):
            lonely.enter(timeout=0.3)
        assert lonely.key is None and count(c, key + "/") == 0
        with pytest.raises(ValueError, match="count"):
            DoubleBarrier(session, key, 0)

        # Another participant (keyed as Go's recipe does) is in: we complete the count.
        c.put(f"{key}/waiters/1", "", lease=session.lease_id)
        second = DoubleBarrier(session, key, 2)
        second.enter(timeout=5)
        assert (c.get(key + "/ready")).count == 1
        with pytest.raises(etcdmap.errors.TooManyClientsError, match="entered already"):
            DoubleBarrier(session, key, 2).enter(timeout=5)
        assert count(c, key + "/waiters/") == 2  # the refused one took its key back

        # Not the oldest: we delete our key and wait for the oldest to leave.
        oldest_leaves = etcdctl_background(etcd_server, "del", f"{key}/waiters/1", delay=0.3)
        try:
            started = monotonic()
            second.leave(timeout=10)
            assert monotonic() - started > 0.2
        finally:
            finished(oldest_leaves)
        assert count(c, key + "/waiters/") == 0
        with pytest.raises(RuntimeError, match="not entered"):
            second.leave()


def test_queue_is_fifo_by_create_revision_and_dequeue_waits(
    etcd_client: Client, etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    c = etcd_client
    name = etcd_prefix + "queue"
    queue = Queue(c, name)
    c.put(f"{name}/zzz", "first")  # created first, though its key sorts last
    keys = [queue.enqueue(f"item-{i}") for i in range(5)]
    assert all(key.startswith(f"{name}/".encode()) for key in keys)
    assert len(set(keys)) == 5
    taken = [queue.dequeue(timeout=5) for _ in range(6)]
    assert taken == [b"first"] + [f"item-{i}".encode() for i in range(5)]
    assert count(c, name + "/") == 0

    with pytest.raises(etcdmap.DeadlineExceededError, match="no item"):
        queue.dequeue(timeout=0.3)
    producer = etcdctl_background(etcd_server, "put", f"{name}/late", "late", delay=0.3)
    try:
        assert queue.dequeue(timeout=10) == b"late"
    finally:
        finished(producer)
    assert count(c, name + "/") == 0
