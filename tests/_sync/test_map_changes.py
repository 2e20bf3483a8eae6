# Generated from tests/_async/test_map_changes.py by scripts/unasync: do not edit.
"""Typed change feeds against a real etcd: a map's ``watch()`` as ``Change``s (resumed after
a broken stream, undecodable values delivered with their error) and a mirror's
``subscribe()`` limited to keys, a sub-prefix and real changes.

Written for EtcdMap and Mirror; tests/_sync/test_map_changes.py is generated from
it by scripts/unasync.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import msgspec
import pytest

from etcdmap import (
    Client,
    EtcdMap,
    Mirror,
    Batch,
    Change,
    ChangeKind,
    CompactedError,
    ValueDecodeError,
)

ADDED, MODIFIED, DELETED, INVALID = (
    ChangeKind.ADDED, ChangeKind.MODIFIED, ChangeKind.DELETED, ChangeKind.INVALID,
)  # fmt: skip


class Service(msgspec.Struct):
    owner: str
    port: int


def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until ``condition()`` holds (AssertionError after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_watch_yields_typed_changes_across_a_broken_stream(
    etcd_client: Client, etcd_prefix: str
) -> None:
    c = etcd_client
    m = EtcdMap(c, etcd_prefix, value_type=Service)
    start = m.set("a", Service("x", 1))
    got: list[Change] = []
    with m.watch(start_revision=start) as changes:
        m.set("a", Service("x", 2))
        c.put(etcd_prefix + "bad", b"not json")
        for change in changes:
            got.append(change)
            if len(got) == 3:
                break
        c.reopen_watches()  # the stream breaks: the watch resumes where it was
        m.set("bad", Service("y", 3))  # its old value did not decode
        m.delete("a")
        for change in changes:
            got.append(change)
            if len(got) == 5:
                break
    assert [(ch.key, ch.kind, ch.old, ch.new) for ch in got] == [
        ("a", ADDED, None, Service("x", 1)),
        ("a", MODIFIED, Service("x", 1), Service("x", 2)),
        ("bad", INVALID, None, None),
        ("bad", MODIFIED, None, Service("y", 3)),
        ("a", DELETED, Service("x", 2), None),
    ]
    assert got[0].revision == start and [ch.revision for ch in got] == sorted(
        {ch.revision for ch in got}
    )
    assert isinstance(got[2].error, ValueDecodeError) and got[2].error.key == "bad"
    assert isinstance(got[3].error, ValueDecodeError)  # the old value's
    assert got[0].error is None and got[4].error is None


def test_watch_one_key_and_a_compacted_start(
    etcd_client: Client, etcd_prefix: str
) -> None:
    c = etcd_client
    m = EtcdMap(c, etcd_prefix, value_type=int)
    with m.watch("b") as one:
        m.set("a", 1)
        revision = m.set("b", 2)
        for change in one:
            assert (change.key, change.new, change.revision) == ("b", 2, revision)
            break
    c.compact(revision)
    with pytest.raises(CompactedError):
        with m.watch(start_revision=revision - 1) as old:
            for _ in old:
                pass


def test_subscribe_gets_real_changes_of_chosen_keys(
    etcd_client: Client, etcd_prefix: str
) -> None:
    c = etcd_client
    with Mirror(c, etcd_prefix, value_type=int) as mirror:
        every: list[Batch] = []
        chosen: list[Batch] = []
        raw: list[Batch] = []
        with (
            mirror.subscribe(every.append),
            mirror.subscribe(chosen.append, keys=["a"], prefix="svc/"),
            mirror.subscribe(raw.append, only_changes=False),
        ):
            mirror.set("a", 1)
            mirror.set("a", 1)  # the same value again: no change
            mirror.set("svc/x", 2)
            mirror.set("other", 3)
            c.put(etcd_prefix + "svc/bad", b"nope")
            mirror.set("a", 4)
            until(lambda: (len(raw), len(every), len(chosen)) == (6, 5, 4))
        with pytest.raises(TypeError, match="not one str"):
            mirror.subscribe(every.append, keys="a")

    def seen(batches: list[Batch]) -> list[tuple[str, ChangeKind]]:
        return [(ch.key, ch.kind) for batch in batches for ch in batch.changes]

    assert seen(every) == [
        ("a", ADDED), ("svc/x", ADDED), ("other", ADDED), ("svc/bad", INVALID), ("a", MODIFIED),
    ]
    assert seen(chosen) == [("a", ADDED), ("svc/x", ADDED), ("svc/bad", INVALID), ("a", MODIFIED)]
    assert seen(raw)[1] == ("a", MODIFIED) and raw[1].changes[0].old == raw[1].changes[0].new
    assert isinstance(chosen[2].changes[0].error, ValueDecodeError)
