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
from etcdmap import AsyncClient
from etcdmap.concurrency import (
    AsyncBarrier,
    AsyncDoubleBarrier,
    AsyncQueue,
    AsyncRWMutex,
    AsyncSession,
)
from etcdmap.testing import EtcdServer

from .helpers import etcdctl_background, finished, unknown_outcomes_leave_no_key


async def count(client: AsyncClient, prefix: str) -> int:
    return (await client.get(prefix, prefix=True, count_only=True)).count


async def test_rwmutex_readers_share_and_a_writer_excludes_all(
    async_etcd_client: AsyncClient, etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    c = async_etcd_client
    name = etcd_prefix + "rw"
    async with AsyncSession(c, ttl=10) as session:
        r1, r2, w = (AsyncRWMutex(session, name) for _ in range(3))
        await r1.read_lock(timeout=5)
        assert r1.key is not None and r1.key.startswith(f"{name}/read/".encode())
        await r2.read_lock(timeout=5)  # readers share
        with pytest.raises(etcdmap.DeadlineExceededError, match="write lock"):
            await w.lock(timeout=0.3)
        assert w.key is None and await count(c, name + "/write/") == 0  # no key left behind
        with pytest.raises(RuntimeError, match="already holds"):
            await r1.read_lock()
        await r1.read_unlock()
        await r2.read_unlock()

        await w.lock(timeout=5)
        assert w.key is not None and w.key.startswith(f"{name}/write/".encode())
        with pytest.raises(etcdmap.DeadlineExceededError, match="read lock"):
            await r1.read_lock(timeout=0.3)
        with pytest.raises(etcdmap.DeadlineExceededError):
            await AsyncRWMutex(session, name).lock(timeout=0.3)
        with pytest.raises(etcdmap.errors.LockReleasedError, match="no read lock"):
            await w.read_unlock()
        await w.unlock()
        with pytest.raises(etcdmap.errors.LockReleasedError, match="no write lock"):
            await w.unlock()
        assert await count(c, name + "/") == 0

        # A writer queued before a reader (here one laid out as Go's recipe does) keeps it
        # out until that writer's key is deleted; the reader then gets in by itself.
        await c.put(f"{name}/write/1", "", lease=session.lease_id)
        with pytest.raises(etcdmap.DeadlineExceededError):
            await r1.read_lock(timeout=0.3)
        writer_leaves = etcdctl_background(etcd_server, "del", f"{name}/write/1", delay=0.3)
        try:
            started = monotonic()
            await r1.read_lock(timeout=10)
            assert monotonic() - started > 0.2
        finally:
            finished(writer_leaves)
        await r1.read_unlock()


async def test_rwmutex_reports_a_lost_session(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    c = async_etcd_client
    async with AsyncSession(c, ttl=10) as session:
        rw = AsyncRWMutex(session, etcd_prefix + "rw")
        await rw.read_lock(timeout=5)
        await c.lease_revoke(session.lease_id)
        with pytest.raises(etcdmap.errors.SessionExpiredError, match="gone before its release"):
            await rw.read_unlock()


async def test_a_lock_or_entry_whose_write_had_an_unknown_outcome_leaves_no_key(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    """As for Mutex (test_concurrency): a queued RWMutex writer key nobody knows of would
    keep every later reader and writer out, a double barrier key would count a participant
    that is not there."""
    if etcd_server.pid is None:
        pytest.skip("needs a local etcd to freeze")
    rw, barrier = etcd_prefix + "rw", etcd_prefix + "barrier"
    async with AsyncClient(etcd_server.endpoints) as c, AsyncSession(c, ttl=30) as mine:
        await mine.start()

        async def lock() -> None:
            with pytest.raises(etcdmap.DeadlineExceededError):
                await AsyncRWMutex(mine, rw).lock(timeout=0.3)

        async def enter() -> None:
            with pytest.raises(etcdmap.DeadlineExceededError):
                await AsyncDoubleBarrier(mine, barrier, 2).enter(timeout=0.3)

        applied = [
            await unknown_outcomes_leave_no_key(etcd_server, c, mine.lease_id, rw, lock),
            await unknown_outcomes_leave_no_key(etcd_server, c, mine.lease_id, barrier, enter),
        ]
        async with AsyncSession(c, ttl=30) as theirs:
            await AsyncRWMutex(theirs, rw).read_lock(timeout=1)
            with pytest.raises(etcdmap.DeadlineExceededError):  # alone: the count is not met
                await AsyncDoubleBarrier(theirs, barrier, 2).enter(timeout=0.3)
    if not any(applied):
        pytest.skip("the frozen server applied none of the timed-out writes: nothing checked")


async def test_barrier_hold_wait_release(
    async_etcd_client: AsyncClient, etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    c = async_etcd_client
    key = etcd_prefix + "barrier"
    barrier = AsyncBarrier(c, key)
    await barrier.wait(timeout=1)  # not held: no wait
    assert await barrier.hold()
    assert not await barrier.hold()  # held already
    with pytest.raises(etcdmap.DeadlineExceededError, match="still held"):
        await barrier.wait(timeout=0.3)
    releaser = etcdctl_background(etcd_server, "del", key, delay=0.3)
    try:
        started = monotonic()
        await barrier.wait(timeout=10)
        assert monotonic() - started > 0.2
    finally:
        finished(releaser)
    assert not await barrier.release()  # etcdctl released it
    assert await barrier.hold() and await barrier.release()
    assert (await c.get(key)).count == 0


async def test_double_barrier_enter_and_leave(
    async_etcd_client: AsyncClient, etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    c = async_etcd_client
    key = etcd_prefix + "double"
    async with AsyncSession(c, ttl=10) as session:
        solo = AsyncDoubleBarrier(session, key + "-solo", 1)
        await solo.enter(timeout=5)  # the first of one: opens at once
        assert solo.key is not None and solo.key.startswith(f"{key}-solo/waiters/".encode())
        assert (await c.get(key + "-solo/ready")).count == 1
        await solo.leave(timeout=5)  # the last to leave deletes its key and ready
        assert solo.key is None and await count(c, key + "-solo/") == 0

        lonely = AsyncDoubleBarrier(session, key, 2)
        with pytest.raises(etcdmap.DeadlineExceededError, match="fewer than 2"):
            await lonely.enter(timeout=0.3)
        assert lonely.key is None and await count(c, key + "/") == 0
        with pytest.raises(ValueError, match="count"):
            AsyncDoubleBarrier(session, key, 0)

        # Another participant (keyed as Go's recipe does) is in: we complete the count.
        await c.put(f"{key}/waiters/1", "", lease=session.lease_id)
        second = AsyncDoubleBarrier(session, key, 2)
        await second.enter(timeout=5)
        assert (await c.get(key + "/ready")).count == 1
        with pytest.raises(etcdmap.errors.TooManyClientsError, match="entered already"):
            await AsyncDoubleBarrier(session, key, 2).enter(timeout=5)
        assert await count(c, key + "/waiters/") == 2  # the refused one took its key back

        # Not the oldest: we delete our key and wait for the oldest to leave.
        oldest_leaves = etcdctl_background(etcd_server, "del", f"{key}/waiters/1", delay=0.3)
        try:
            started = monotonic()
            await second.leave(timeout=10)
            assert monotonic() - started > 0.2
        finally:
            finished(oldest_leaves)
        assert await count(c, key + "/waiters/") == 0
        with pytest.raises(RuntimeError, match="not entered"):
            await second.leave()


async def test_queue_is_fifo_by_create_revision_and_dequeue_waits(
    async_etcd_client: AsyncClient, etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    c = async_etcd_client
    name = etcd_prefix + "queue"
    queue = AsyncQueue(c, name)
    await c.put(f"{name}/zzz", "first")  # created first, though its key sorts last
    keys = [await queue.enqueue(f"item-{i}") for i in range(5)]
    assert all(key.startswith(f"{name}/".encode()) for key in keys)
    assert len(set(keys)) == 5
    taken = [await queue.dequeue(timeout=5) for _ in range(6)]
    assert taken == [b"first"] + [f"item-{i}".encode() for i in range(5)]
    assert await count(c, name + "/") == 0

    with pytest.raises(etcdmap.DeadlineExceededError, match="no item"):
        await queue.dequeue(timeout=0.3)
    producer = etcdctl_background(etcd_server, "put", f"{name}/late", "late", delay=0.3)
    try:
        assert await queue.dequeue(timeout=10) == b"late"
    finally:
        finished(producer)
    assert await count(c, name + "/") == 0
