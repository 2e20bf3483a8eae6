"""Session, Mutex, Election, STM and the v3lock / v3election services against a real etcd.

Written for AsyncClient; tests/_sync/test_concurrency.py is generated from this file by
scripts/unasync. Thread / process / etcdctl contention tests are in
tests/test_concurrency_sync.py.
"""

from __future__ import annotations

import asyncio
from time import monotonic

import pytest

import etcdmap
from etcdmap import AsyncClient
from etcdmap._async.concurrency import CLEANUP_TIMEOUT
from etcdmap.concurrency import AsyncElection, AsyncMutex, AsyncSession, AsyncSTM
from etcdmap.testing import EtcdServer

from .helpers import etcdctl_background, frozen, stop, unknown_outcomes_leave_no_key


async def wait_for_keys(client: AsyncClient, prefix: str, count: int) -> list[bytes]:
    deadline = monotonic() + 10
    while monotonic() < deadline:
        found = await client.get(prefix, prefix=True, sort_target="create", sort_order="ascend")
        if found.count >= count:
            return [kv.key for kv in found.kvs]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} keys never appeared under {prefix}")


async def test_session_keeps_alive_closes_and_reports_loss(async_etcd_client: AsyncClient) -> None:
    c = async_etcd_client
    async with AsyncSession(c, ttl=5) as session:
        lease = session.lease_id
        assert (await c.lease_time_to_live(lease)).granted_ttl == 5
        assert not session.done.is_set()
        session.check()
    assert session.done.is_set() and session.lost is None
    assert (await c.lease_time_to_live(lease)).ttl == -1  # revoked on close
    await session.aclose()  # twice is fine
    with pytest.raises(etcdmap.errors.SessionExpiredError):
        await session.start()

    orphaned = await AsyncSession(c, ttl=5).start()
    await orphaned.orphan()
    assert orphaned.done.is_set() and (await c.lease_time_to_live(orphaned.lease_id)).ttl > 0
    await c.lease_revoke(orphaned.lease_id)

    lost = await AsyncSession(c, ttl=5).start()
    await c.lease_revoke(lost.lease_id)  # the lease is gone under the session
    assert await lost.done.wait(5) and lost.lost is not None
    with pytest.raises(etcdmap.errors.SessionExpiredError, match="session is expired"):
        lost.check()
    await lost.aclose()

    adopted_lease = await c.lease_grant(5)
    async with AsyncSession(c, lease=adopted_lease.id) as adopted:
        assert adopted.lease_id == adopted_lease.id
    assert (await c.lease_time_to_live(adopted_lease)).ttl == -1
    with pytest.raises(ValueError, match="ttl"):
        AsyncSession(c, ttl=0)


async def test_mutex_key_layout_try_lock_timeout_and_release(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    c = async_etcd_client
    name = etcd_prefix + "lock"
    async with AsyncSession(c, ttl=10) as s1, AsyncSession(c, ttl=10) as s2:
        m1, m2 = AsyncMutex(s1, name), AsyncMutex(s2, name)
        assert await m1.acquire()
        assert m1.key == f"{name}/{s1.lease_id:x}".encode() and m1.header is not None
        assert await m1.is_owner() and not await m2.is_owner()
        assert (await c.txn([m1.owner_compare()], [])).succeeded
        assert not await m2.try_lock()
        started = monotonic()
        assert not await m2.acquire(timeout=0.5)
        assert 0.5 <= monotonic() - started < 3
        # Neither the failed try nor the timed-out wait leaves a key behind.
        assert (await c.get(name + "/", prefix=True)).count == 1 and m2.key is None
        with pytest.raises(etcdmap.DeadlineExceededError, match="lock"):
            await m2.lock(timeout=0.2)
        await m1.release()
        with pytest.raises(etcdmap.errors.LockReleasedError):
            await m1.release()
        async with m2:
            assert await m2.is_owner()
        assert (await c.get(name + "/", prefix=True)).count == 0


async def test_a_mutex_rev_is_its_key_create_revision_a_fencing_token(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    """``rev`` is what a guarded store compares (docs/concurrency.md): it grows with each
    holder, so a write carrying an older holder's token can be refused."""
    c = async_etcd_client
    name = etcd_prefix + "lock"
    async with AsyncSession(c, ttl=10) as s1, AsyncSession(c, ttl=10) as s2:
        m1, m2 = AsyncMutex(s1, name), AsyncMutex(s2, name)
        assert m1.rev == 0
        await m1.lock()
        first = m1.rev
        assert first == (await c.get(m1.key or b"")).kvs[0].create_revision
        await m1.release()
        assert m1.rev == 0
        await m2.lock()
        assert m2.rev > first
        assert m2.rev == (await c.get(m2.key or b"")).kvs[0].create_revision
        await m2.release()


async def test_losing_the_session_while_holding_is_reported(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    c = async_etcd_client
    async with AsyncSession(c, ttl=10) as session:
        mutex = AsyncMutex(session, etcd_prefix + "lock")
        await mutex.lock()
        await c.lease_revoke(session.lease_id)
        assert await session.done.wait(5)
        assert not await mutex.is_owner()
        with pytest.raises(etcdmap.errors.SessionExpiredError, match="lost while the lock was held"):
            await mutex.release()
        with pytest.raises(etcdmap.errors.SessionExpiredError):
            await mutex.acquire()


async def test_a_lock_or_campaign_whose_write_had_an_unknown_outcome_leaves_no_key(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    """A queueing Txn that times out on a frozen server may be applied once it runs: a key
    left then would hold the lock (lead the election) for nobody until the session ends."""
    if etcd_server.pid is None:
        pytest.skip("needs a local etcd to freeze")
    lock, election = etcd_prefix + "lock", etcd_prefix + "election"
    async with AsyncClient(etcd_server.endpoints) as c, AsyncSession(c, ttl=30) as mine:
        await mine.start()
        mutex = AsyncMutex(mine, lock)

        async def acquire() -> None:
            started = monotonic()
            assert not await mutex.acquire(timeout=0.3)  # no DeadlineExceededError
            assert monotonic() - started < 0.3 + CLEANUP_TIMEOUT + 0.5

        async def campaign() -> None:
            with pytest.raises(etcdmap.DeadlineExceededError):
                await AsyncElection(mine, election).campaign("v", timeout=0.3)

        applied = [
            await unknown_outcomes_leave_no_key(etcd_server, c, mine.lease_id, lock, acquire),
            await unknown_outcomes_leave_no_key(etcd_server, c, mine.lease_id, election, campaign),
        ]
        async with AsyncSession(c, ttl=30) as theirs:
            assert await AsyncMutex(theirs, lock).acquire(timeout=1)
            await AsyncElection(theirs, election).campaign("w", timeout=1)
    if not any(applied):
        pytest.skip("the frozen server applied none of the timed-out writes: nothing checked")


async def test_a_key_whose_clean_up_failed_is_deleted_before_the_session_queues_again(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    if etcd_server.pid is None:
        pytest.skip("needs a local etcd to freeze")
    lock = etcd_prefix + "lock"
    async with AsyncClient(etcd_server.endpoints) as c, AsyncSession(c, ttl=30) as mine:
        await mine.start()
        started = monotonic()
        with frozen(etcd_server, thaw_after=CLEANUP_TIMEOUT + 0.6):  # outlasts the clean-up
            assert not await AsyncMutex(mine, lock).acquire(timeout=0.3)
        assert monotonic() - started < 0.3 + CLEANUP_TIMEOUT + 0.5
        # The key as the timed-out Txn leaves it when it lands after its delete (it may
        # have landed already, or never: the put makes the case certain).
        await c.put(f"{lock}/{mine.lease_id:x}", "", lease=mine.lease_id)
        async with AsyncSession(c, ttl=30) as theirs:
            assert not await AsyncMutex(theirs, lock).try_lock()
            async with AsyncMutex(mine, etcd_prefix + "other"):  # queues: deletes it first
                pass
            assert await AsyncMutex(theirs, lock).acquire(timeout=1)


async def test_mutex_excludes_etcdctl_lock_and_the_other_way_round(
    async_etcd_client: AsyncClient, etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    c = async_etcd_client
    name = etcd_prefix + "shared"
    async with AsyncSession(c, ttl=10) as session:
        mutex = AsyncMutex(session, name)
        await mutex.lock()
        waiter = etcdctl_background(etcd_server, "lock", name, "echo", "got-it")
        try:
            await wait_for_keys(c, name + "/", 2)  # etcdctl queued behind us
            await asyncio.sleep(0.3)
            assert waiter.poll() is None  # and waits
            await mutex.release()
            out, _ = waiter.communicate(timeout=10)
            assert "got-it" in out
        finally:
            stop(waiter)
        holder = etcdctl_background(etcd_server, "lock", name, "sleep", "1")
        try:
            await wait_for_keys(c, name + "/", 1)
            assert not await mutex.try_lock()
            started = monotonic()
            assert await mutex.acquire(timeout=10)
            assert monotonic() - started > 0.3
            assert holder.wait(timeout=5) == 0
        finally:
            stop(holder)
        await mutex.release()


async def test_election_campaign_proclaim_observe_resign(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    c = async_etcd_client
    name = etcd_prefix + "election"
    async with AsyncSession(c, ttl=10) as s1, AsyncSession(c, ttl=10) as s2:
        e1, e2 = AsyncElection(s1, name), AsyncElection(s2, name)
        with pytest.raises(etcdmap.errors.ElectionNoLeaderError):
            await e1.leader()
        with pytest.raises(etcdmap.errors.ElectionNotLeaderError):
            await e1.proclaim("x")
        await e1.campaign("one")
        assert e1.key == f"{name}/{s1.lease_id:x}".encode() and e1.rev > 0
        assert (await e2.leader()).kvs[0].value == b"one"
        async with e2.observe() as observer:
            assert (await observer.__anext__()).kvs[0].value == b"one"
            await e1.proclaim("two")
            assert (await observer.__anext__()).kvs[0].value == b"two"
            with pytest.raises(etcdmap.DeadlineExceededError):
                await e2.campaign("three", timeout=0.3)
            assert e2.key is None and (await c.get(name + "/", prefix=True)).count == 1
            await e1.resign()
            await e1.resign()  # a no-op now
            await e2.campaign("three")
            assert (await observer.__anext__()).kvs[0].value == b"three"
        resumed = AsyncElection.resume(s2, name, e2.key or b"", e2.rev)
        await resumed.proclaim("four")
        assert (await e1.leader()).kvs[0].value == b"four"
        # Campaigning again with a session that already campaigns proclaims the new value.
        await e2.campaign("five")
        assert (await e1.leader()).kvs[0].value == b"five"
        await resumed.resign()
        with pytest.raises(etcdmap.errors.ElectionNoLeaderError):
            await e1.leader()


async def test_election_with_etcdctl_elect(
    async_etcd_client: AsyncClient, etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    c = async_etcd_client
    name = etcd_prefix + "elect"
    async with AsyncSession(c, ttl=10) as session:
        election = AsyncElection(session, name)
        await election.campaign("ours")
        candidate = etcdctl_background(etcd_server, "elect", name, "theirs")
        try:
            await wait_for_keys(c, name + "/", 2)
            assert (await election.leader()).kvs[0].value == b"ours"
            await election.resign()
            deadline = monotonic() + 10
            while (await election.leader()).kvs[0].value != b"theirs":
                assert monotonic() < deadline
                await asyncio.sleep(0.05)
            with pytest.raises(etcdmap.DeadlineExceededError):
                await election.campaign("ours", timeout=0.3)
        finally:
            candidate.terminate()  # etcdctl resigns (revokes its session) on SIGTERM
            candidate.wait(timeout=10)
            stop(candidate)
        await election.campaign("ours", timeout=15)
        assert (await election.leader()).kvs[0].value == b"ours"


async def test_stm_commits_retries_and_keeps_reads_consistent(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    c = async_etcd_client
    a, b = etcd_prefix + "a", etcd_prefix + "b"
    for isolation in ("serializable_snapshot", "serializable", "repeatable_reads"):
        await c.put(a, "100")
        await c.put(b, "0")
        attempts = 0

        async def transfer(stm: AsyncSTM) -> None:
            nonlocal attempts
            attempts += 1
            balance = int(await stm.get(a) or 0)
            if attempts == 1:
                await c.put(a, str(balance + 50))  # a concurrent deposit lands now
            stm.put(a, str(balance - 10))
            stm.put(b, str(int(await stm.get(b) or 0) + 10))
            assert await stm.get(a) == str(balance - 10).encode()  # reads its own write

        response = await c.stm(transfer, isolation=isolation, prefetch=[a, b])  # type: ignore[arg-type]
        assert response.succeeded and attempts == 2, isolation
        assert (await c.get(a)).kvs[0].value == b"140" and (await c.get(b)).kvs[0].value == b"10"


async def test_read_committed_permits_lost_updates(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    c = async_etcd_client
    a = etcd_prefix + "a"
    await c.put(a, "100")
    attempts = 0

    async def withdraw(stm: AsyncSTM) -> None:
        nonlocal attempts
        attempts += 1
        balance = int(await stm.get(a) or 0)
        if attempts == 1:
            await c.put(a, str(balance + 50))  # a concurrent deposit...
        stm.put(a, str(balance - 10))

    await c.stm(withdraw, isolation="read_committed")
    assert attempts == 1
    assert (await c.get(a)).kvs[0].value == b"90"  # ...is lost: 140 under the other levels


async def test_stm_rev_delete_errors_and_retry_limit(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    c = async_etcd_client
    key = etcd_prefix + "k"
    put = await c.put(key, "v")

    async def drop(stm: AsyncSTM) -> None:
        assert await stm.rev(key) == put.header.revision
        assert await stm.rev(key + "-missing") == 0
        stm.delete(key)
        assert await stm.get(key) is None and await stm.get() is None

    await c.stm(drop)
    assert (await c.get(key)).count == 0

    async def fails(stm: AsyncSTM) -> None:
        raise LookupError("no")

    with pytest.raises(LookupError):
        await c.stm(fails)

    async def always_conflicts(stm: AsyncSTM) -> None:
        await stm.get(key)
        await c.put(key, "changed")
        stm.put(key, "mine")

    with pytest.raises(etcdmap.ConflictError, match="2 attempts"):
        await c.stm(always_conflicts, retries=1)


async def test_server_side_lock_and_election_services(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    c = async_etcd_client
    lease = await c.lease_grant(10)
    other = await c.lease_grant(10)
    try:
        locked = await c.lock(etcd_prefix + "lock", lease)
        assert locked.key == f"{etcd_prefix}lock/{lease.id:x}".encode()
        with pytest.raises(etcdmap.DeadlineExceededError):
            await c.lock(etcd_prefix + "lock", other, timeout=0.5)
        await c.unlock(locked.key)
        assert (await c.lock(etcd_prefix + "lock", other, timeout=5)).key.endswith(
            f"{other.id:x}".encode()
        )

        name = etcd_prefix + "election"
        with pytest.raises(etcdmap.errors.ElectionNoLeaderError):
            await c.election_leader(name)
        campaign = await c.election_campaign(name, "one", lease)
        assert campaign.leader.name == name.encode() and campaign.leader.lease == lease.id
        assert (await c.election_leader(name)).kv.value == b"one"
        async with await c.election_observe(name) as stream:
            assert (await stream.__anext__()).kv.value == b"one"
            await c.election_proclaim(campaign.leader, "two")
            assert (await stream.__anext__()).kv.value == b"two"
        await c.election_resign(campaign.leader)
        with pytest.raises(etcdmap.errors.ElectionNotLeaderError):
            await c.election_proclaim(campaign.leader, "three")
    finally:
        await lease.revoke()
        await other.revoke()
