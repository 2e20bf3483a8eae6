"""The recipes' key layouts and decisions without a server (RW lock, double barrier, queue)."""

from __future__ import annotations

import pytest

from etcdmap import GetResponse, KeyValue, ResponseHeader, TxnResponse
from etcdmap._core import recipes
from etcdmap._core.watch import Event, EventType, WatchResponse


def header(revision: int) -> ResponseHeader:
    return ResponseHeader(1, 2, revision, 3)


def kv(key: bytes, create: int, mod: int = 0) -> KeyValue:
    return KeyValue(key=key, create_revision=create, mod_revision=mod or create)


def test_unique_keys_are_created_only_if_absent() -> None:
    assert recipes.unique_key(b"/q/", 1700000000123456789) == b"/q/1700000000123456789"
    with pytest.raises(ValueError, match="ends with '/'"):
        recipes.unique_key(b"/q", 1)
    compare, success, failure = recipes.create_txn(b"/q/1", b"v", 0)
    assert [(c.target, c.key, c.op, c.operand) for c in compare] == [
        ("create_revision", b"/q/1", "==", 0)
    ]
    assert [op.kind for op in success] == ["put"] and failure == []
    assert success[0].request.value == b"v" and success[0].request.lease == 0
    assert recipes.create_txn(b"/q/1", b"", 0x2A)[1][0].request.lease == 0x2A
    assert recipes.created_revision(TxnResponse(header(9), True, [])) == 9
    assert recipes.created_revision(TxnResponse(header(9), False, [])) == 0


def test_rwmutex_layout_readers_wait_for_writers_writers_for_everybody() -> None:
    keys = recipes.RWMutexKeys("/locks/db")
    assert (keys.root, keys.read, keys.write) == (
        b"/locks/db/", b"/locks/db/read/", b"/locks/db/write/"
    )
    assert keys.queue(write=False) == b"/locks/db/read/"
    assert keys.queue(write=True) == b"/locks/db/write/"
    assert keys.blockers(write=False) == b"/locks/db/write/"
    assert keys.blockers(write=True) == b"/locks/db/"


def test_holds_only_the_key_created_at_our_revision() -> None:
    assert recipes.holds(GetResponse(header(5), [kv(b"/k", 4)], 1, False), 4)
    assert not recipes.holds(GetResponse(header(5), [kv(b"/k", 5)], 1, False), 4)
    assert not recipes.holds(GetResponse(header(5), [], 0, False), 4)


def test_was_put() -> None:
    put = WatchResponse(header(3), [Event(EventType.PUT, kv(b"/a", 3))])
    deleted = WatchResponse(header(4), [Event(EventType.DELETE, kv(b"/a", 0, 4))])
    assert recipes.was_put(put) and not recipes.was_put(deleted)
    assert not recipes.was_put(WatchResponse(header(4), []))


def test_double_barrier_enter_lets_the_first_count_in_and_the_last_of_them_opens() -> None:
    keys = recipes.DoubleBarrierKeys("/b")
    assert (keys.waiters, keys.ready) == (b"/b/waiters/", b"/b/ready")
    entered = [kv(b"/b/waiters/1", 10), kv(b"/b/waiters/2", 12), kv(b"/b/waiters/3", 15)]
    assert recipes.enter_decision(entered[:2], 12, 3) == "wait"
    assert recipes.enter_decision(entered, 15, 3) == "open"
    assert recipes.enter_decision(entered, 10, 3) == "wait"  # the opener's put is coming
    assert recipes.enter_decision(entered, 16, 3) == "too_many"
    assert recipes.enter_decision(entered[:1], 10, 1) == "open"
    with pytest.raises(ValueError, match="count"):
        recipes.enter_decision([], 1, 0)


def test_double_barrier_leave_rounds() -> None:
    ready = b"/b/ready"
    a, b, c = kv(b"/b/waiters/a", 10), kv(b"/b/waiters/b", 11), kv(b"/b/waiters/c", 12)
    # The oldest waits for the newest; the others delete their key and wait for the oldest.
    assert recipes.leave_step([c, a, b], a.key, ready) == recipes.LeaveStep(wait_for=c.key)
    assert recipes.leave_step([a, b, c], b.key, ready) == recipes.LeaveStep(
        deletes=(b.key,), wait_for=a.key
    )
    # Once our key is gone we only wait (our delete is not sent twice).
    assert recipes.leave_step([a, c], b.key, ready) == recipes.LeaveStep(wait_for=a.key)
    # The last one deletes its key and ready, so the barrier can be used again.
    assert recipes.leave_step([a], a.key, ready) == recipes.LeaveStep(deletes=(ready, a.key))
    assert recipes.leave_step([], a.key, ready) == recipes.LeaveStep()
    # The oldest lost its key (lease): the next oldest is waited for instead.
    assert recipes.leave_step([b, c], c.key, ready) == recipes.LeaveStep(
        deletes=(c.key,), wait_for=b.key
    )


def test_queue_claim_deletes_only_the_unchanged_item() -> None:
    compare, success, failure = recipes.claim_txn(kv(b"/q/1", 7, 8))
    assert [(c.target, c.key, c.op, c.operand) for c in compare] == [
        ("mod_revision", b"/q/1", "==", 8)
    ]
    assert [op.kind for op in success] == ["delete"] and failure == []
    assert success[0].request.key == b"/q/1" and not success[0].request.range_end
