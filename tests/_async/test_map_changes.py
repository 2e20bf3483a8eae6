"""Typed change feeds against a real etcd: a map's ``watch()`` as ``Change``s (resumed after
a broken stream, undecodable values delivered with their error) and a mirror's
``subscribe()`` limited to keys, a sub-prefix and real changes.

Written for AsyncEtcdMap and AsyncMirror; tests/_sync/test_map_changes.py is generated from
it by scripts/unasync.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import msgspec
import pytest

from etcdmap import (
    AsyncClient,
    AsyncEtcdMap,
    AsyncMirror,
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


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until ``condition()`` holds (AssertionError after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_watch_yields_typed_changes_across_a_broken_stream(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    c = async_etcd_client
    m = AsyncEtcdMap(c, etcd_prefix, value_type=Service)
    start = await m.set("a", Service("x", 1))
    got: list[Change] = []
    async with m.watch(start_revision=start) as changes:
        await m.set("a", Service("x", 2))
        await c.put(etcd_prefix + "bad", b"not json")
        async for change in changes:
            got.append(change)
            if len(got) == 3:
                break
        await c.reopen_watches()  # the stream breaks: the watch resumes where it was
        await m.set("bad", Service("y", 3))  # its old value did not decode
        await m.delete("a")
        async for change in changes:
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


async def test_watch_one_key_and_a_compacted_start(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    c = async_etcd_client
    m = AsyncEtcdMap(c, etcd_prefix, value_type=int)
    async with m.watch("b") as one:
        await m.set("a", 1)
        revision = await m.set("b", 2)
        async for change in one:
            assert (change.key, change.new, change.revision) == ("b", 2, revision)
            break
    await c.compact(revision)
    with pytest.raises(CompactedError):
        async with m.watch(start_revision=revision - 1) as old:
            async for _ in old:
                pass


async def test_subscribe_gets_real_changes_of_chosen_keys(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    c = async_etcd_client
    async with AsyncMirror(c, etcd_prefix, value_type=int) as mirror:
        every: list[Batch] = []
        chosen: list[Batch] = []
        raw: list[Batch] = []
        async with (
            mirror.subscribe(every.append),
            mirror.subscribe(chosen.append, keys=["a"], prefix="svc/"),
            mirror.subscribe(raw.append, only_changes=False),
        ):
            await mirror.set("a", 1)
            await mirror.set("a", 1)  # the same value again: no change
            await mirror.set("svc/x", 2)
            await mirror.set("other", 3)
            await c.put(etcd_prefix + "svc/bad", b"nope")
            await mirror.set("a", 4)
            await until(lambda: (len(raw), len(every), len(chosen)) == (6, 5, 4))
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
