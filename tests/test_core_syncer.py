"""Sans-IO parts of the Syncer and copy_prefix: key mapping, paging, batching, resume state."""

from __future__ import annotations

import pickle

import pytest

import etcdmap
from etcdmap import Event, EventType, KeyValue
from etcdmap._core.bulk import TxnLimits
from etcdmap._core.keys import prefix_range
from etcdmap._core.syncer import CopyPass, CopyState, KeyMap, plan_batches


def put(key: bytes, revision: int, value: bytes = b"v") -> Event:
    return Event(type=EventType.PUT, kv=KeyValue(key=key, value=value, mod_revision=revision))


def delete(key: bytes, revision: int) -> Event:
    return Event(type=EventType.DELETE, kv=KeyValue(key=key, mod_revision=revision))


def test_ranges_and_pages() -> None:
    assert prefix_range(b"/a/") == (b"/a/", b"/a0")
    assert prefix_range(b"") == (b"\x00", b"\x00")


def test_key_map() -> None:
    same = KeyMap("/a/")
    assert same(b"/a/x") == b"/a/x"
    moved = KeyMap("/a/", "/b/")
    assert moved(b"/a/x") == b"/b/x" and moved.back(b"/b/x") == b"/a/x"
    with pytest.raises(ValueError, match="not under"):
        moved(b"/c/x")


def test_batches_keep_order_and_never_repeat_a_key() -> None:
    events = [put(b"/a/1", 5), delete(b"/a/2", 6), put(b"/a/1", 7), put(b"/a/3", 7)]
    batches = plan_batches(events, KeyMap("/a/", "/b/"))
    assert [[op.request.key for op in b.ops] for b in batches] == [
        [b"/b/1", b"/b/2"], [b"/b/1", b"/b/3"]
    ]
    assert [b.kind for b in batches[0].ops] == ["put", "delete"]
    assert [b.revision for b in batches] == [6, 7]


def test_a_revision_split_over_batches_is_completed_only_by_the_last() -> None:
    events = [put(b"/k%d" % i, 9) for i in range(5)] + [put(b"/z", 10)]
    batches = plan_batches(events, KeyMap(""), TxnLimits(max_txn_ops=2))
    assert [len(b.ops) for b in batches] == [2, 2, 2]
    assert [b.revision for b in batches] == [0, 0, 10]


def test_batches_stay_under_the_request_bytes() -> None:
    events = [put(b"/k%d" % i, 9, b"v" * 400) for i in range(5)]
    batches = plan_batches(events, KeyMap(""), TxnLimits(max_request_bytes=1400))
    assert [len(b.ops) for b in batches] == [2, 2, 1]
    too_big = [put(b"/small", 3), put(b"/huge", 4, b"h" * 2000)]
    with pytest.raises(etcdmap.RequestTooLargeError, match="/huge"):
        plan_batches(too_big, KeyMap(""), TxnLimits(max_request_bytes=1400))


def test_state_belongs_to_one_copy() -> None:
    keys = KeyMap("/a/", "/b/")
    state = CopyState(prefix=b"/a/", dest_prefix=b"/b/", cluster_id=7, revision=42)
    assert CopyState.decode(state.encode(), keys) == state
    assert CopyState.decode(state.encode(), KeyMap("/a/")) is None
    assert CopyState.decode(b"not json", keys) is None


def test_copy_pass_names_what_was_written() -> None:
    limits = TxnLimits(max_txn_ops=2)
    keys = [b"/p/%d" % i for i in range(5)]
    copy = CopyPass("copy of '/p/'")
    copy.add([etcdmap.Op.put(key, b"v") for key in keys], limits)
    assert [op.request.key for op in copy.next() or []] == keys[:2]
    copy.done()
    # an attempt with an unknown outcome, then one that provably never left: still unknown
    copy.attempt_failed(etcdmap.DeadlineExceededError("slow"))
    error = copy.error(etcdmap.ConnectionFailedError("down"), 7)
    assert isinstance(error, etcdmap.DeadlineExceededError)
    assert isinstance(error, etcdmap.PartialWriteError) and error.complete_revision == 7
    assert (error.written, error.unknown, error.not_written) == (keys[:2], keys[2:4], keys[4:])
    assert "complete up to source revision 7" in str(error)
    assert pickle.loads(pickle.dumps(error)).complete_revision == 7
    copy.done()
    error = copy.error(etcdmap.ConnectionFailedError("down"), 7)
    assert isinstance(error, etcdmap.ConnectionFailedError) and not error.unknown
    assert (error.written, error.not_written) == (keys[:4], keys[4:])


def test_copy_pass_of_a_value_too_large_writes_nothing_of_it() -> None:
    copy = CopyPass("copy of '/p/'")
    limits = TxnLimits(max_request_bytes=1024)
    with pytest.raises(etcdmap.RequestTooLargeError) as caught:
        copy.add_events([put(b"/p/a", 1), put(b"/p/b", 2, b"x" * 2000)], KeyMap("/p/"), limits)
    error = copy.error(caught.value, 1)
    assert error.written == [] and error.not_written == [b"/p/a", b"/p/b"]
