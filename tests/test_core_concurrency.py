"""The concurrency protocols without a server: key layout, queue rule, election and STM txns."""

from __future__ import annotations

import pytest

from etcdmap import DeleteResponse, GetResponse, KeyValue, ResponseHeader, TxnResponse
from etcdmap._core import concurrency as core
from etcdmap._core.errors import (
    ConnectionFailedError,
    DeadlineExceededError,
    ElectionNoLeaderError,
    LeaseNotFoundError,
)
from etcdmap._core.watch import Event, EventType, WatchResponse
from etcdmap._pb import v3electionpb


def header(revision: int) -> ResponseHeader:
    return ResponseHeader(1, 2, revision, 3)


def got(revision: int, *kvs: KeyValue) -> GetResponse:
    return GetResponse(header(revision), list(kvs), len(kvs), False)


def test_key_layout_is_gos() -> None:
    prefix = core.lock_prefix("/locks/job")
    assert prefix == b"/locks/job/"
    # fmt.Sprintf("%s%x", pfx, leaseID): lowercase hex, no padding, no 0x
    assert core.waiter_key(prefix, 0x694D7F2A1B3C4D5E) == b"/locks/job/694d7f2a1b3c4d5e"
    assert core.waiter_key(prefix, 10) == b"/locks/job/a"
    with pytest.raises(ValueError, match="positive"):
        core.waiter_key(prefix, 0)


def test_owner_and_predecessor_queries() -> None:
    assert core.first_created() == {
        "prefix": True, "sort_order": "ascend", "sort_target": "create", "limit": 1,
    }
    # Wait for the newest key created before ours, and for nothing older.
    assert core.last_created_below(42) == {
        "prefix": True, "sort_order": "descend", "sort_target": "create", "limit": 1,
        "max_create_revision": 41,
    }
    with pytest.raises(ValueError):
        core.last_created_below(1)


def test_acquire_txn_and_outcomes() -> None:
    compare, success, failure = core.acquire_txn(b"/l/", b"/l/a", 10)
    assert [(c.target, c.key, c.op, c.operand) for c in compare] == [
        ("create_revision", b"/l/a", "==", 0)
    ]
    assert [op.kind for op in success] == ["put", "get"]
    assert success[0].request.lease == 10 and success[0].request.value == b""
    owner = success[1].request
    assert owner.key == b"/l/" and owner.range_end == b"/l0" and owner.limit == 1
    assert [op.kind for op in failure] == ["get", "get"]
    # Created now, nobody else: held.
    fresh = TxnResponse(header(7), True, [got(7), got(7, KeyValue(key=b"/l/a", create_revision=7))])
    assert core.parse_acquire(fresh).held and core.parse_acquire(fresh).rev == 7
    # Created now behind an older key: waits.
    behind = TxnResponse(header(9), True, [got(9), got(9, KeyValue(key=b"/l/b", create_revision=5))])
    acquired = core.parse_acquire(behind)
    assert (acquired.rev, acquired.owner_rev, acquired.held) == (9, 5, False)
    # Already queued by this session: its create revision counts.
    again = TxnResponse(
        header(12), False,
        [got(12, KeyValue(key=b"/l/a", create_revision=5)),
         got(12, KeyValue(key=b"/l/a", create_revision=5))],
    )
    assert core.parse_acquire(again).held and core.parse_acquire(again).rev == 5


def test_delete_detection() -> None:
    put = Event(EventType.PUT, KeyValue(key=b"k", mod_revision=3))
    delete = Event(EventType.DELETE, KeyValue(key=b"k", mod_revision=4))
    assert not core.was_deleted(WatchResponse(header(3), [put]))
    assert core.was_deleted(WatchResponse(header(4), [put, delete]))


def test_election_txns_and_observe_helpers() -> None:
    compare, success, failure = core.campaign_txn(b"/e/a", "v", 10)
    assert compare[0].target == "create_revision" and success[0].request.value == b"v"
    assert failure[0].kind == "get"
    assert core.parse_campaign(TxnResponse(header(5), True, []), "v") == (5, False)
    existing = got(8, KeyValue(key=b"/e/a", value=b"old", create_revision=4))
    assert core.parse_campaign(TxnResponse(header(8), False, [existing]), "v") == (4, True)
    assert core.parse_campaign(TxnResponse(header(8), False, [existing]), b"old") == (4, False)
    compare, success, _ = core.proclaim_txn(b"/e/a", 4, "new", 10)
    assert (compare[0].operand, success[0].request.lease) == (4, 10)
    compare, success, _ = core.delete_owned_txn(b"/e/a", 4)
    assert success[0].kind == "delete" and compare[0].operand == 4
    with pytest.raises(ElectionNoLeaderError, match="/e/"):
        core.leader_of(b"/e/", got(3))
    kv = KeyValue(key=b"/e/a", value=b"v", mod_revision=6)
    first = core.first_put(WatchResponse(header(9), [
        Event(EventType.DELETE, KeyValue(key=b"/e/z")), Event(EventType.PUT, kv),
    ]))
    assert first is not None and first.kvs[0] == kv and first.header.revision == 6
    updates, deleted = core.leader_updates(WatchResponse(header(9), [
        Event(EventType.PUT, kv), Event(EventType.DELETE, KeyValue(key=b"/e/a")),
        Event(EventType.PUT, kv),
    ]))
    assert len(updates) == 1 and deleted


def stored(key: bytes, value: bytes, mod: int) -> KeyValue:
    return KeyValue(key=key, value=value, mod_revision=mod, create_revision=1)


def reads(state: core.STMState, revision: int, **values: tuple[bytes, int]) -> None:
    keys = [k.encode() for k in values]
    assert state.missing(keys) == keys
    responses = [
        got(revision, stored(k, v, mod)) if mod else got(revision)
        for k, (v, mod) in zip(keys, values.values(), strict=True)
    ]
    state.record(keys, TxnResponse(header(revision), True, list(responses)))


def conditions(state: core.STMState) -> set[tuple[bytes, str, object]]:
    return {(c.key, c.op, c.operand) for c in state.conflicts()}


@pytest.mark.parametrize(
    ("isolation", "expected"),
    [
        ("serializable_snapshot", {(b"a", "==", 3), (b"b", "==", 0), (b"c", "<", 11)}),
        ("serializable", {(b"a", "==", 3), (b"b", "==", 0)}),
        ("repeatable_reads", {(b"a", "==", 3), (b"b", "==", 0)}),
        ("read_committed", set()),
    ],
)
def test_stm_conflict_rules(isolation: core.Isolation, expected: set[object]) -> None:
    state = core.STMState(isolation)
    state.reset()
    reads(state, 10, a=(b"1", 3), b=(b"", 0))
    state.put(b"c", b"x", 0)
    assert conditions(state) == expected
    compare, success, failure = state.commit_txn()
    assert [op.kind for op in success] == ["put"]
    pinned = isolation.startswith("serializable")
    assert [op.kind for op in failure] == (["get", "get"] if pinned else [])


def read_mode(op: object) -> tuple[bool, int]:
    request = op.request  # type: ignore[attr-defined]
    return request.serializable, request.revision


def test_stm_reads_pin_to_the_first_reads_revision_in_serializable_levels() -> None:
    # as Go's STM: the first read is linearizable, later ones serializable at its revision
    state = core.STMState("serializable")
    state.reset()
    assert read_mode(state.read_ops([b"a"])[0]) == (False, 0)
    reads(state, 10, a=(b"1", 3))
    assert read_mode(state.read_ops([b"b"])[0]) == (True, 10)
    assert read_mode(state.read_ops([b"b"], serializable=False)[0]) == (False, 10)
    assert state.missing([b"a", b"b"]) == [b"b"]
    assert state.value(b"a") == b"1" and state.mod_revision(b"a") == 3
    repeatable = core.STMState("repeatable_reads")
    assert read_mode(repeatable.read_ops([b"a"])[0]) == (True, 0)
    reads(repeatable, 10, a=(b"1", 3))
    assert read_mode(repeatable.read_ops([b"b"])[0]) == (True, 0)


def test_stm_writes_are_read_back_and_a_conflict_prefetches() -> None:
    state = core.STMState("serializable_snapshot")
    state.reset()
    reads(state, 10, a=(b"1", 3))
    state.put(b"a", b"2", 0)
    write = state.buffered([b"a"])
    assert write is not None and write.value == b"2"
    state.delete(b"a")
    write = state.buffered([b"z", b"a"])
    assert write is not None and write.value is None
    assert state.committed(TxnResponse(header(11), True, []))
    # On a conflict the Else branch's reads seed the next attempt, pinned to their revision.
    assert not state.committed(TxnResponse(header(12), False, [got(12, stored(b"a", b"5", 12))]))
    state.reset()
    assert state.missing([b"a"]) == []
    assert state.value(b"a") == b"5" and read_mode(state.read_ops([b"b"])[0]) == (True, 12)
    # An attempt whose first read is not among them drops them: a fresh read pins the
    # revision, and no later read may come from the older one.
    assert not state.committed(TxnResponse(header(13), False, [got(13, stored(b"a", b"6", 13))]))
    state.reset()
    assert state.missing([b"b"]) == [b"b"]
    assert state.missing([b"a"]) == [b"a"]
    with pytest.raises(ValueError, match="isolation"):
        core.STMState("snapshot")  # type: ignore[arg-type]


def test_service_requests_and_results() -> None:
    request = core.lock_request("/l", 5)
    assert (request.name, request.lease) == (b"/l", 5)
    with pytest.raises(ValueError, match="lease"):
        core.lock_request("/l", 0)
    assert core.unlock_request("/l/5").key == b"/l/5"
    campaign = core.campaign_request("/e", "v", 5)
    assert (campaign.name, campaign.value, campaign.lease) == (b"/e", b"v", 5)
    leader = core.LeaderKey(b"/e", b"/e/5", 7, 5)
    assert core.proclaim_request(leader, "w").leader.rev == 7
    assert core.resign_request(leader).leader.key == b"/e/5"
    message = v3electionpb.CampaignResponse(
        leader=v3electionpb.LeaderKey(name=b"/e", key=b"/e/5", rev=7, lease=5)
    )
    message.header.revision = 7
    parsed = core.parse_campaign_response(message)
    assert parsed.leader == leader and parsed.header.revision == 7


def test_which_errors_of_a_write_may_have_applied_it() -> None:
    assert core.may_have_applied(DeadlineExceededError("late"))
    assert core.may_have_applied(KeyboardInterrupt())
    assert not core.may_have_applied(ConnectionFailedError("never sent"))
    assert not core.may_have_applied(LeaseNotFoundError("gone"))


def test_a_sweep_deletes_each_key_and_tells_which_it_found() -> None:
    keys = [b"/l/a", b"/r/write/7"]
    ops = core.sweep_ops(keys)
    assert [(op.kind, op.request.key) for op in ops] == [("delete", k) for k in keys]
    answer = TxnResponse(header(5), True, [
        DeleteResponse(header(5), 0, []), DeleteResponse(header(5), 1, []),
    ])
    assert core.swept(keys, answer) == {b"/r/write/7"}
    with pytest.raises(ValueError):
        core.swept(keys, TxnResponse(header(5), True, []))
