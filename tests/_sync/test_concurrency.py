# Generated from tests/_async/test_concurrency.py by scripts/unasync: do not edit.
"""Session, Mutex, Election, STM and the v3lock / v3election services against a real etcd.

Written for AsyncClient; tests/_sync/test_concurrency.py is generated from this file by
scripts/unasync. Thread / process / etcdctl contention tests are in
tests/test_concurrency_sync.py.
"""

from __future__ import annotations

import time
from time import monotonic

import pytest

import etcdmap
from etcdmap import Client
from etcdmap._sync.concurrency import CLEANUP_TIMEOUT
from etcdmap.concurrency import Election, Mutex, Session, STM
from etcdmap.testing import EtcdServer

from .helpers import etcdctl_background, frozen, stop, unknown_outcomes_leave_no_key


def wait_for_keys(client: Client, prefix: str, count: int) -> list[bytes]:
    deadline = monotonic() + 10
    while monotonic() < deadline:
        found = client.get(prefix, prefix=True, sort_target="create", sort_order="ascend")
        if found.count >= count:
            return [kv.key for kv in found.kvs]
        time.sleep(0.05)
    raise AssertionError(f"{count} keys never appeared under {prefix}")


def test_session_keeps_alive_closes_and_reports_loss(etcd_client: Client) -> None:
    c = etcd_client
    with Session(c, ttl=5) as session:
        lease = session.lease_id
        assert (c.lease_time_to_live(lease)).granted_ttl == 5
        assert not session.done.is_set()
        session.check()
    assert session.done.is_set() and session.lost is None
    assert (c.lease_time_to_live(lease)).ttl == -1  # revoked on close
    session.close()  # twice is fine
    with pytest.raises(etcdmap.errors.SessionExpiredError):
        session.start()

    orphaned = Session(c, ttl=5).start()
    orphaned.orphan()
    assert orphaned.done.is_set() and (c.lease_time_to_live(orphaned.lease_id)).ttl > 0
    c.lease_revoke(orphaned.lease_id)

    lost = Session(c, ttl=5).start()
    c.lease_revoke(lost.lease_id)  # the lease is gone under the session
    assert lost.done.wait(5) and lost.lost is not None
    with pytest.raises(etcdmap.errors.SessionExpiredError, match="session is expired"):
        lost.check()
    lost.close()

    adopted_lease = c.lease_grant(5)
    with Session(c, lease=adopted_lease.id) as adopted:
        assert adopted.lease_id == adopted_lease.id
    assert (c.lease_time_to_live(adopted_lease)).ttl == -1
    with pytest.raises(ValueError, match="ttl"):
        Session(c, ttl=0)


def test_mutex_key_layout_try_lock_timeout_and_release(
    etcd_client: Client, etcd_prefix: str
) -> None:
    c = etcd_client
    name = etcd_prefix + "lock"
    with Session(c, ttl=10) as s1, Session(c, ttl=10) as s2:
        m1, m2 = Mutex(s1, name), Mutex(s2, name)
        assert m1.acquire()
        assert m1.key == f"{name}/{s1.lease_id:x}".encode() and m1.header is not None
        assert m1.is_owner() and not m2.is_owner()
        assert (c.txn([m1.owner_compare()], [])).succeeded
        assert not m2.try_lock()
        started = monotonic()
        assert not m2.acquire(timeout=0.5)
        assert 0.5 <= monotonic() - started < 3
        # Neither the failed try nor the timed-out wait leaves a key behind.
        assert (c.get(name + "/", prefix=True)).count == 1 and m2.key is None
        with pytest.raises(etcdmap.DeadlineExceededError, match="lock"):
            m2.lock(timeout=0.2)
        m1.release()
        with pytest.raises(etcdmap.errors.LockReleasedError):
            m1.release()
        with m2:
            assert m2.is_owner()
        assert (c.get(name + "/", prefix=True)).count == 0


def test_a_mutex_rev_is_its_key_create_revision_a_fencing_token(
    etcd_client: Client, etcd_prefix: str
) -> None:
    """``rev`` is what a guarded store compares (docs/concurrency.md): it grows with each
    holder, so a write carrying an older holder's token can be refused."""
    c = etcd_client
    name = etcd_prefix + "lock"
    with Session(c, ttl=10) as s1, Session(c, ttl=10) as s2:
        m1, m2 = Mutex(s1, name), Mutex(s2, name)
        assert m1.rev == 0
        m1.lock()
        first = m1.rev
        assert first == (c.get(m1.key or b"")).kvs[0].create_revision
        m1.release()
        assert m1.rev == 0
        m2.lock()
        assert m2.rev > first
        assert m2.rev == (c.get(m2.key or b"")).kvs[0].create_revision
        m2.release()


def test_losing_the_session_while_holding_is_reported(
    etcd_client: Client, etcd_prefix: str
) -> None:
    c = etcd_client
    with Session(c, ttl=10) as session:
        mutex = Mutex(session, etcd_prefix + "lock")
        mutex.lock()
        c.lease_revoke(session.lease_id)
        assert session.done.wait(5)
        assert not mutex.is_owner()
        with pytest.raises(etcdmap.errors.SessionExpiredError, match="lost while the lock was held"):
            mutex.release()
        with pytest.raises(etcdmap.errors.SessionExpiredError):
            mutex.acquire()


def test_a_lock_or_campaign_whose_write_had_an_unknown_outcome_leaves_no_key(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    """A queueing Txn that times out on a frozen server may be applied once it runs: a key
    left then would hold the lock (lead the election) for nobody until the session ends."""
    if etcd_server.pid is None:
        pytest.skip("needs a local etcd to freeze")
    lock, election = etcd_prefix + "lock", etcd_prefix + "election"
    with Client(etcd_server.endpoints) as c, Session(c, ttl=30) as mine:
        mine.start()
        mutex = Mutex(mine, lock)

        def acquire() -> None:
            started = monotonic()
            assert not mutex.acquire(timeout=0.3)  # no DeadlineExceededError
            assert monotonic() - started < 0.3 + CLEANUP_TIMEOUT + 0.5

        def campaign() -> None:
            with pytest.raises(etcdmap.DeadlineExceededError):
                Election(mine, election).campaign("v", timeout=0.3)

        applied = [
            unknown_outcomes_leave_no_key(etcd_server, c, mine.lease_id, lock, acquire),
            unknown_outcomes_leave_no_key(etcd_server, c, mine.lease_id, election, campaign),
        ]
        with Session(c, ttl=30) as theirs:
            assert Mutex(theirs, lock).acquire(timeout=1)
            Election(theirs, election).campaign("w", timeout=1)
    if not any(applied):
        pytest.skip("the frozen server applied none of the timed-out writes: nothing checked")


def test_a_key_whose_clean_up_failed_is_deleted_before_the_session_queues_again(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    if etcd_server.pid is None:
        pytest.skip("needs a local etcd to freeze")
    lock = etcd_prefix + "lock"
    with Client(etcd_server.endpoints) as c, Session(c, ttl=30) as mine:
        mine.start()
        started = monotonic()
        with frozen(etcd_server, thaw_after=CLEANUP_TIMEOUT + 0.6):  # outlasts the clean-up
            assert not Mutex(mine, lock).acquire(timeout=0.3)
        assert monotonic() - started < 0.3 + CLEANUP_TIMEOUT + 0.5
        # The key as the timed-out Txn leaves it when it lands after its delete (it may
        # have landed already, or never: the put makes the case certain).
        c.put(f"{lock}/{mine.lease_id:x}", "", lease=mine.lease_id)
        with Session(c, ttl=30) as theirs:
            assert not Mutex(theirs, lock).try_lock()
            with Mutex(mine, etcd_prefix + "other"):  # queues: deletes it first
                pass
            assert Mutex(theirs, lock).acquire(timeout=1)


def test_mutex_excludes_etcdctl_lock_and_the_other_way_round(
    etcd_client: Client, etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    c = etcd_client
    name = etcd_prefix + "shared"
    with Session(c, ttl=10) as session:
        mutex = Mutex(session, name)
        mutex.lock()
        waiter = etcdctl_background(etcd_server, "lock", name, "echo", "got-it")
        try:
            wait_for_keys(c, name + "/", 2)  # etcdctl queued behind us
            time.sleep(0.3)
            assert waiter.poll() is None  # and waits
            mutex.release()
            out, _ = waiter.communicate(timeout=10)
            assert "got-it" in out
        finally:
            stop(waiter)
        holder = etcdctl_background(etcd_server, "lock", name, "sleep", "1")
        try:
            wait_for_keys(c, name + "/", 1)
            assert not mutex.try_lock()
            started = monotonic()
            assert mutex.acquire(timeout=10)
            assert monotonic() - started > 0.3
            assert holder.wait(timeout=5) == 0
        finally:
            stop(holder)
        mutex.release()


def test_election_campaign_proclaim_observe_resign(
    etcd_client: Client, etcd_prefix: str
) -> None:
    c = etcd_client
    name = etcd_prefix + "election"
    with Session(c, ttl=10) as s1, Session(c, ttl=10) as s2:
        e1, e2 = Election(s1, name), Election(s2, name)
        with pytest.raises(etcdmap.errors.ElectionNoLeaderError):
            e1.leader()
        with pytest.raises(etcdmap.errors.ElectionNotLeaderError):
            e1.proclaim("x")
        e1.campaign("one")
        assert e1.key == f"{name}/{s1.lease_id:x}".encode() and e1.rev > 0
        assert (e2.leader()).kvs[0].value == b"one"
        with e2.observe() as observer:
            assert (observer.__next__()).kvs[0].value == b"one"
            e1.proclaim("two")
            assert (observer.__next__()).kvs[0].value == b"two"
            with pytest.raises(etcdmap.DeadlineExceededError):
                e2.campaign("three", timeout=0.3)
            assert e2.key is None and (c.get(name + "/", prefix=True)).count == 1
            e1.resign()
            e1.resign()  # a no-op now
            e2.campaign("three")
            assert (observer.__next__()).kvs[0].value == b"three"
        resumed = Election.resume(s2, name, e2.key or b"", e2.rev)
        resumed.proclaim("four")
        assert (e1.leader()).kvs[0].value == b"four"
        # Campaigning again with a session that already campaigns proclaims the new value.
        e2.campaign("five")
        assert (e1.leader()).kvs[0].value == b"five"
        resumed.resign()
        with pytest.raises(etcdmap.errors.ElectionNoLeaderError):
            e1.leader()


def test_election_with_etcdctl_elect(
    etcd_client: Client, etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    c = etcd_client
    name = etcd_prefix + "elect"
    with Session(c, ttl=10) as session:
        election = Election(session, name)
        election.campaign("ours")
        candidate = etcdctl_background(etcd_server, "elect", name, "theirs")
        try:
            wait_for_keys(c, name + "/", 2)
            assert (election.leader()).kvs[0].value == b"ours"
            election.resign()
            deadline = monotonic() + 10
            while (election.leader()).kvs[0].value != b"theirs":
                assert monotonic() < deadline
                time.sleep(0.05)
            with pytest.raises(etcdmap.DeadlineExceededError):
                election.campaign("ours", timeout=0.3)
        finally:
            candidate.terminate()  # etcdctl resigns (revokes its session) on SIGTERM
            candidate.wait(timeout=10)
            stop(candidate)
        election.campaign("ours", timeout=15)
        assert (election.leader()).kvs[0].value == b"ours"


def test_stm_commits_retries_and_keeps_reads_consistent(
    etcd_client: Client, etcd_prefix: str
) -> None:
    c = etcd_client
    a, b = etcd_prefix + "a", etcd_prefix + "b"
    for isolation in ("serializable_snapshot", "serializable", "repeatable_reads"):
        c.put(a, "100")
        c.put(b, "0")
        attempts = 0

        def transfer(stm: STM) -> None:
            nonlocal attempts
            attempts += 1
            balance = int(stm.get(a) or 0)
            if attempts == 1:
                c.put(a, str(balance + 50))  # a concurrent deposit lands now
            stm.put(a, str(balance - 10))
            stm.put(b, str(int(stm.get(b) or 0) + 10))
            assert stm.get(a) == str(balance - 10).encode()  # reads its own write

        response = c.stm(transfer, isolation=isolation, prefetch=[a, b])  # type: ignore[arg-type]
        assert response.succeeded and attempts == 2, isolation
        assert (c.get(a)).kvs[0].value == b"140" and (c.get(b)).kvs[0].value == b"10"


def test_read_committed_permits_lost_updates(
    etcd_client: Client, etcd_prefix: str
) -> None:
    c = etcd_client
    a = etcd_prefix + "a"
    c.put(a, "100")
    attempts = 0

    def withdraw(stm: STM) -> None:
        nonlocal attempts
        attempts += 1
        balance = int(stm.get(a) or 0)
        if attempts == 1:
            c.put(a, str(balance + 50))  # a concurrent deposit...
        stm.put(a, str(balance - 10))

    c.stm(withdraw, isolation="read_committed")
    assert attempts == 1
    assert (c.get(a)).kvs[0].value == b"90"  # ...is lost: 140 under the other levels


def test_stm_rev_delete_errors_and_retry_limit(
    etcd_client: Client, etcd_prefix: str
) -> None:
    c = etcd_client
    key = etcd_prefix + "k"
    put = c.put(key, "v")

    def drop(stm: STM) -> None:
        assert stm.rev(key) == put.header.revision
        assert stm.rev(key + "-missing") == 0
        stm.delete(key)
        assert stm.get(key) is None and stm.get() is None

    c.stm(drop)
    assert (c.get(key)).count == 0

    def fails(stm: STM) -> None:
        raise LookupError("no")

    with pytest.raises(LookupError):
        c.stm(fails)

    def always_conflicts(stm: STM) -> None:
        stm.get(key)
        c.put(key, "changed")
        stm.put(key, "mine")

    with pytest.raises(etcdmap.ConflictError, match="2 attempts"):
        c.stm(always_conflicts, retries=1)


def test_server_side_lock_and_election_services(
    etcd_client: Client, etcd_prefix: str
) -> None:
    c = etcd_client
    lease = c.lease_grant(10)
    other = c.lease_grant(10)
    try:
        locked = c.lock(etcd_prefix + "lock", lease)
        assert locked.key == f"{etcd_prefix}lock/{lease.id:x}".encode()
        with pytest.raises(etcdmap.DeadlineExceededError):
            c.lock(etcd_prefix + "lock", other, timeout=0.5)
        c.unlock(locked.key)
        assert (c.lock(etcd_prefix + "lock", other, timeout=5)).key.endswith(
            f"{other.id:x}".encode()
        )

        name = etcd_prefix + "election"
        with pytest.raises(etcdmap.errors.ElectionNoLeaderError):
            c.election_leader(name)
        campaign = c.election_campaign(name, "one", lease)
        assert campaign.leader.name == name.encode() and campaign.leader.lease == lease.id
        assert (c.election_leader(name)).kv.value == b"one"
        with c.election_observe(name) as stream:
            assert (stream.__next__()).kv.value == b"one"
            c.election_proclaim(campaign.leader, "two")
            assert (stream.__next__()).kv.value == b"two"
        c.election_resign(campaign.leader)
        with pytest.raises(etcdmap.errors.ElectionNotLeaderError):
            c.election_proclaim(campaign.leader, "three")
    finally:
        lease.revoke()
        other.revoke()
