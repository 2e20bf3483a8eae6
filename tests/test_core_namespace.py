"""Namespace key translation (etcdmap._core.namespace), without a server."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import etcdmap
from etcdmap import (
    Compare,
    DeleteResponse,
    Event,
    EventType,
    GetResponse,
    KeyValue,
    Op,
    PutResponse,
    ResponseHeader,
    TxnResponse,
    WatchResponse,
)
from etcdmap._core import namespace as ns
from etcdmap._core.kv import resolve_range
from etcdmap._pb import etcdserverpb
from etcdmap.errors import EmptyKeyError
from etcdmap.lease import LeaseTimeToLive

HEADER = ResponseHeader(1, 2, 3, 4)
NS = b"/app/"


@pytest.mark.parametrize(
    ("key", "options", "expected"),
    [
        ("k", {}, (b"/app/k", None)),
        ("a", {"range_end": "c"}, (b"/app/a", b"/app/c")),
        ("dir/", {"prefix": True}, (b"/app/dir/", b"/app/dir0")),
        ("m", {"from_key": True}, (b"/app/m", b"/app0")),
        # "every key" stays inside the namespace, as in Go
        ("", {"prefix": True}, (b"/app/\x00", b"/app0")),
        ("", {"from_key": True}, (b"/app/\x00", b"/app0")),
        ("a", {"range_end": "\x00"}, (b"/app/a", b"/app0")),
    ],
)
def test_prefix_range(key: str, options: dict[str, object], expected: tuple[bytes, bytes | None]) -> None:
    assert ns.prefix_range(NS, key, **options) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("options", [{}, {"range_end": "z"}])
def test_empty_key_is_rejected_unless_it_means_every_key(options: dict[str, object]) -> None:
    with pytest.raises(EmptyKeyError, match=r"key is not provided \(delete in namespace b'/app/'\)") as info:
        ns.prefix_range(NS, "", action="delete", **options)  # type: ignore[arg-type]
    assert info.value.details == "etcdserver: key is not provided"
    assert info.value.code is None


def test_range_options_are_still_checked() -> None:
    with pytest.raises(ValueError, match="at most one"):
        ns.prefix_range(NS, "a", prefix=True, from_key=True)


def test_namespace_without_upper_bound() -> None:
    # An all-0xff namespace has no range end of its own: to the end of the keyspace.
    assert ns.prefix_range(b"\xff\xff", "", prefix=True) == (b"\xff\xff\x00", b"\x00")
    assert ns.prefix_range(b"\xff", "a", from_key=True) == (b"\xffa", b"\x00")
    # The empty namespace changes nothing.
    assert ns.prefix_range(b"", "a", prefix=True) == (b"a", b"b")
    assert ns.prefix_range(b"", "a", from_key=True) == (b"a", b"\x00")


def in_range(key: bytes, start: bytes, end: bytes | None) -> bool:
    """Whether etcd's range [start, end) holds ``key`` (no end: one key; b"\\x00": unbounded)."""
    if not end:
        return key == start
    if end == b"\x00":
        return key >= start
    return start <= key < end


#: Short keys over the bytes where range arithmetic has edges (0x00, 0xfe, 0xff).
small = st.lists(st.sampled_from([b"\x00", b"\x01", b"a", b"b", b"\xfe", b"\xff"]), max_size=4).map(b"".join)


@given(
    namespace=small,
    key=small.filter(bool),
    mode=st.sampled_from(["key", "prefix", "from_key", "range_end"]),
    end=small.filter(bool),
    probe=small,
    inside=st.booleans(),
)
def test_translated_range_selects_exactly_the_namespaced_keys(
    namespace: bytes, key: bytes, mode: str, end: bytes, probe: bytes, inside: bool
) -> None:
    options: dict[str, object] = {"range_end": end} if mode == "range_end" else {}
    if mode in ("prefix", "from_key"):
        options[mode] = True
    original = resolve_range(key, options.get("range_end"), mode == "prefix", mode == "from_key")  # type: ignore[arg-type]
    start, stop = ns.prefix_range(namespace, key, **options)  # type: ignore[arg-type]
    candidate = namespace + probe if inside else probe
    expected = candidate.startswith(namespace) and in_range(candidate[len(namespace):], *original)
    assert in_range(candidate, start, stop) == expected


def test_prefix_compare() -> None:
    moved = ns.prefix_compare(NS, Compare.version("k", ">", 0))
    assert moved == Compare.version("/app/k", ">", 0)
    moved = ns.prefix_compare(NS, Compare.mod_revision("", "<", 9, prefix=True))
    assert (moved.key, moved.range_end, moved.operand) == (b"/app/\x00", b"/app0", 9)
    moved = ns.prefix_compare(NS, Compare.value("a", "==", "v", range_end="c"))
    assert (moved.key, moved.range_end, moved.operand) == (b"/app/a", b"/app/c", b"v")
    with pytest.raises(EmptyKeyError, match="compare value"):
        ns.prefix_compare(NS, Compare.value("", "==", "v"))


def test_prefix_op_copies_and_keeps_every_option() -> None:
    get = Op.get("a", prefix=True, limit=3, revision=5, keys_only=True)
    put = Op.put("k", "v", lease=7, prev_kv=True)
    delete = Op.delete("a", range_end="c", prev_kv=True)
    before = [(op.request.SerializeToString()) for op in (get, put, delete)]

    moved = ns.prefix_op(NS, get)
    assert moved.kind == "get"
    assert moved.request == etcdserverpb.RangeRequest(
        key=b"/app/a", range_end=b"/app/b", limit=3, revision=5, keys_only=True
    )
    assert ns.prefix_op(NS, put).request == etcdserverpb.PutRequest(
        key=b"/app/k", value=b"v", lease=7, prev_kv=True
    )
    assert ns.prefix_op(NS, delete).request == etcdserverpb.DeleteRangeRequest(
        key=b"/app/a", range_end=b"/app/c", prev_kv=True
    )
    # the caller's ops still address the plain keyspace
    assert [op.request.SerializeToString() for op in (get, put, delete)] == before


def test_prefix_op_nested_transactions() -> None:
    inner = Op.txn([Compare.version("x", "==", 0)], [Op.put("x", "1")], [Op.get("", from_key=True)])
    outer = Op.txn([Compare.create_revision("", ">", 0, prefix=True)], [inner], [Op.delete("y")])
    moved = ns.prefix_op(NS, outer).request
    assert (moved.compare[0].key, moved.compare[0].range_end) == (b"/app/\x00", b"/app0")
    assert moved.compare[0].create_revision == 0 and moved.compare[0].result == 1
    assert moved.failure[0].request_delete_range.key == b"/app/y"
    nested = moved.success[0].request_txn
    assert nested.compare[0].key == b"/app/x" and not nested.compare[0].range_end
    assert nested.success[0].request_put == etcdserverpb.PutRequest(key=b"/app/x", value=b"1")
    assert (nested.failure[0].request_range.key, nested.failure[0].request_range.range_end) == (b"/app/\x00", b"/app0")
    assert outer.request.success[0].request_txn.compare[0].key == b"x"  # untouched


@pytest.mark.parametrize(
    ("op", "message"),
    [
        (Op.put("", "v"), "put in a transaction"),
        (Op.get(""), "get in a transaction"),
        (Op.txn([], [Op.delete("")]), "delete in a transaction"),
        (Op.txn([Compare.version("", "==", 0)]), "compare in a transaction"),
    ],
)
def test_prefix_op_rejects_empty_keys_at_any_depth(op: Op, message: str) -> None:
    with pytest.raises(EmptyKeyError, match=message):
        ns.prefix_op(NS, op)


def test_prefix_txn_checks_types() -> None:
    compare, success, failure = ns.prefix_txn(NS, [Compare.version("k", "==", 0)], [Op.put("k", "v")], ())
    assert compare[0].key == b"/app/k" and success[0].request.key == b"/app/k" and failure == []
    with pytest.raises(TypeError, match="success must hold Op objects, not str"):
        ns.prefix_txn(NS, (), ["put"], ())  # type: ignore[list-item]


def kv(key: bytes, value: bytes = b"v") -> KeyValue:
    return KeyValue(key=key, value=value, create_revision=2, mod_revision=3, version=4, lease=5)


def test_strip_kv_copies() -> None:
    original = kv(b"/app/k")
    stripped = ns.strip_kv(NS, original)
    assert stripped == KeyValue(key=b"k", value=b"v", create_revision=2, mod_revision=3, version=4, lease=5)
    assert original.key == b"/app/k"


def test_strip_responses_leave_the_originals_alone() -> None:
    kvs = [kv(b"/app/a"), kv(b"/app/b")]
    get = GetResponse(HEADER, kvs, 2, False)
    stripped = ns.strip_get(NS, get)
    assert [k.key for k in stripped.kvs] == [b"a", b"b"] and stripped.count == 2
    assert [k.key for k in get.kvs] == [b"/app/a", b"/app/b"]

    put = PutResponse(HEADER, kv(b"/app/k", b"old"))
    assert ns.strip_put(NS, put).prev_kv == kv(b"k", b"old")
    assert put.prev_kv is not None and put.prev_kv.key == b"/app/k"
    assert ns.strip_put(NS, PutResponse(HEADER, None)).prev_kv is None

    delete = DeleteResponse(HEADER, 1, [kv(b"/app/d")])
    assert [k.key for k in ns.strip_delete(NS, delete).prev_kvs] == [b"d"]
    assert delete.prev_kvs[0].key == b"/app/d"


def test_strip_txn_recurses() -> None:
    nested = TxnResponse(HEADER, False, [DeleteResponse(HEADER, 1, [kv(b"/app/n")])])
    txn = TxnResponse(
        HEADER, True,
        [GetResponse(HEADER, [kv(b"/app/g")], 1, False), PutResponse(HEADER, kv(b"/app/p")), nested],
    )
    stripped = ns.strip_txn(NS, txn)
    get, put, inner = stripped.responses
    assert isinstance(get, GetResponse) and get.kvs[0].key == b"g"
    assert isinstance(put, PutResponse) and put.prev_kv is not None and put.prev_kv.key == b"p"
    assert isinstance(inner, TxnResponse) and not inner.succeeded
    assert isinstance(inner.responses[0], DeleteResponse) and inner.responses[0].prev_kvs[0].key == b"n"
    assert stripped.succeeded and stripped.header == HEADER
    assert isinstance(nested.responses[0], DeleteResponse) and nested.responses[0].prev_kvs[0].key == b"/app/n"


def test_strip_watch() -> None:
    response = WatchResponse(
        HEADER,
        [
            Event(EventType.PUT, kv(b"/app/a", b"2"), kv(b"/app/a", b"1")),
            Event(EventType.DELETE, KeyValue(key=b"/app/b", mod_revision=3)),
        ],
    )
    stripped = ns.strip_watch_response(NS, response)
    put, delete = stripped.events
    assert (put.type, put.kv, put.prev_kv) == (EventType.PUT, kv(b"a", b"2"), kv(b"a", b"1"))
    assert (delete.type, delete.kv.key, delete.kv.mod_revision, delete.prev_kv) == (EventType.DELETE, b"b", 3, None)
    assert response.events[0].kv.key == b"/app/a"
    assert ns.strip_watch_item(NS, response) == stripped
    progress = WatchResponse(HEADER, [], progress_notify=True)
    assert ns.strip_watch_item(NS, progress) is progress
    error = etcdmap.CompactedError("gone", compact_revision=3)
    assert ns.strip_watch_item(NS, error) is error


def test_strip_time_to_live_keeps_only_the_namespace() -> None:
    ttl = LeaseTimeToLive(HEADER, 7, 5, 10, [b"/app/a", b"/other/b", b"/app/c"])
    assert ns.strip_time_to_live(NS, ttl).keys == [b"a", b"c"]
    assert ttl.keys == [b"/app/a", b"/other/b", b"/app/c"]
    empty = LeaseTimeToLive(HEADER, 7, 5, 10, [])
    assert ns.strip_time_to_live(NS, empty) is empty


def test_namespace_needs_a_client() -> None:
    with pytest.raises(TypeError, match="^Namespace needs a Client, not str"):
        etcdmap.Namespace("127.0.0.1:2379", "/app/")  # type: ignore[arg-type]
