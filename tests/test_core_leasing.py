"""The leasing KV's sans-IO protocol: transactions, revoke markers and the revision-tracked
cache, without a server."""

from __future__ import annotations

import pytest

from etcdmap import GetResponse, KeyValue, Op, ResponseHeader, TxnResponse
from etcdmap._core.leasing import (
    REVOKE,
    LeasingCache,
    acquire_result,
    acquire_txn,
    conflicts,
    guarded_txn,
    put_result,
    revoke_target,
    revoke_txn,
    written_keys,
)


def header(revision: int) -> ResponseHeader:
    return ResponseHeader(1, 2, revision, 3)


def read(revision: int, kv: KeyValue | None = None) -> GetResponse:
    kvs = [] if kv is None else [kv]
    return GetResponse(header(revision), kvs, len(kvs), False)


def test_transactions() -> None:
    compare, success, failure = acquire_txn(b"k", b"L/k", 7)
    assert [(c.target, c.key, c.op, c.operand) for c in compare] == [
        ("create_revision", b"L/k", "==", 0), ("lease", b"k", "==", 0)
    ]
    assert [op.kind for op in success] == ["get", "put"] and success[1].request.lease == 7
    assert [op.kind for op in failure] == ["get"]
    compare, success, failure = guarded_txn([(b"L/a", 5), (b"L/b", 0)], Op.delete(b"a"))
    assert [c.operand for c in compare] == [5, 0] and [op.kind for op in failure] == ["get"] * 2
    compare, success, _ = revoke_txn(b"L/k", 9)
    assert compare[0].operand == 9 and success[0].request.value == REVOKE
    assert success[0].request.ignore_lease


def test_acquire_result_and_conflicts() -> None:
    kv = KeyValue(key=b"k", value=b"v", mod_revision=3)
    won = TxnResponse(header(10), True, [read(0, kv), read(0)])
    got, rev = acquire_result(won)
    assert rev == 10 and got.header.revision == 10 and got.kvs[0] == kv
    assert acquire_result(TxnResponse(header(10), False, [read(0, kv)]))[1] == 0
    failed = TxnResponse(header(12), False, [
        read(12, KeyValue(key=b"L/a", create_revision=8)),  # ours was 5: lost, and foreign
        read(12),                                             # ours (6) is gone: lost
        read(12, KeyValue(key=b"L/c", create_revision=4)),  # expected: fine
    ])
    lost, foreign = conflicts([(b"L/a", 5), (b"L/b", 6), (b"L/c", 4)], failed)
    assert lost == [(b"L/a", 5), (b"L/b", 6)] and foreign == [(b"L/a", 8)]


def test_revoke_target() -> None:
    marker = KeyValue(key=b"L/k", value=REVOKE, lease=7)
    assert revoke_target(marker, b"L/", 7) == b"k"
    assert revoke_target(marker, b"L/", 8) is None
    assert revoke_target(KeyValue(key=b"L/k", value=b"", lease=7), b"L/", 7) is None


def test_written_keys() -> None:
    nested = Op.txn(success=[Op.put("c", "1")], failure=[Op.delete("d"), Op.get("e")])
    assert written_keys([Op.put("a", "1"), Op.get("b"), nested]) == {b"a", b"c", b"d"}
    with pytest.raises(ValueError, match="ranged delete"):
        written_keys([Op.txn(success=[Op.delete("p", prefix=True)])])


def test_put_result() -> None:
    assert put_result(b"k", b"v", 5, None) == KeyValue(
        key=b"k", value=b"v", create_revision=5, mod_revision=5, version=1
    )
    prev = KeyValue(key=b"k", value=b"o", create_revision=2, mod_revision=4, version=3)
    assert put_result(b"k", b"v", 5, prev).version == 4


def test_cache_serves_only_what_is_current() -> None:
    cache = LeasingCache()
    kv = KeyValue(key=b"k", value=b"v", mod_revision=3)
    assert cache.may_acquire(b"k", 0.0) and cache.get(b"k") is None
    assert cache.acquired(b"k", 10, read(10, kv))
    assert cache.owned(b"k") == 10 and not cache.may_acquire(b"k", 0.0)
    assert cache.get(b"k") == read(10, kv)
    cache.modified(b"k", 10)  # already reflected
    assert cache.get(b"k") is not None
    cache.modified(b"k", 11)  # a plain client's write
    assert cache.get(b"k") is None
    cache.fill(b"k", read(10, kv))  # an older read does not make it current
    assert cache.get(b"k") is None
    newer = KeyValue(key=b"k", value=b"w", mod_revision=11)
    cache.fill(b"k", read(12, newer))
    assert cache.get(b"k") == read(12, newer)
    cache.wrote(b"k", header(13), None)
    assert cache.get(b"k") == read(13)
    cache.fill(b"k", read(14, KeyValue(key=b"k", value=b"x", lease=9)))  # leased: not cached
    assert cache.get(b"k") == read(13)


def test_revoke_and_holdoff() -> None:
    cache = LeasingCache(holdoff=2.0)
    cache.acquired(b"k", 10, read(10))
    assert not cache.lost(b"k", 9) and cache.owned(b"k") == 10
    assert cache.revoked(b"k", 10, now=100.0)
    assert cache.owned(b"k") == 0 and cache.get(b"k") is None
    assert not cache.may_acquire(b"k", 101.0) and cache.may_acquire(b"k", 102.5)
    # A revoke handled before the acquire was recorded: the key is not held.
    cache.revoked(b"j", 20, now=100.0)
    assert not cache.acquired(b"j", 20, read(20))
    cache.acquired(b"k", 30, read(30))
    assert cache.lost(b"k", 30) and len(cache) == 0
    cache.acquired(b"k", 31, read(31))
    assert cache.clear() == [b"k"] and len(cache) == 0
