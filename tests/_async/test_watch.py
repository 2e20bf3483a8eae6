"""Watch against a real etcd: delivery, history, progress, fragments, compaction, callbacks,
slow consumers, and resume across a killed server and a killed cluster leader.

Written for AsyncClient; tests/_sync/test_watch.py is generated from it by scripts/unasync.
"""

from __future__ import annotations

import asyncio

import pytest

import etcdmap
from etcdmap import AsyncClient, EventType
from etcdmap.testing import EtcdServer

from .helpers import collect, put_retrying

MiB = 1024 * 1024


async def current_revision(client: AsyncClient) -> int:
    return (await client.get("\x00", count_only=True)).header.revision


async def test_ordered_delivery_with_prev_kv_and_filters(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    c = async_etcd_client
    start = await current_revision(c) + 1
    async with c.watch(etcd_prefix, prefix=True, prev_kv=True, start_revision=start) as watcher, \
            c.watch(etcd_prefix, prefix=True, filters=["noput"], start_revision=start) as deletes:
        await c.put(etcd_prefix + "a", "1")
        await c.put(etcd_prefix + "a", "2")
        await c.put(etcd_prefix + "b", "3")
        last = (await c.delete(etcd_prefix + "a")).header.revision
        seen = await collect(watcher, last)
        assert [(e.type, e.kv.key[-1:], e.kv.value) for e in seen] == [
            (EventType.PUT, b"a", b"1"),
            (EventType.PUT, b"a", b"2"),
            (EventType.PUT, b"b", b"3"),
            (EventType.DELETE, b"a", b""),
        ]
        assert [e.prev_kv.value if e.prev_kv else None for e in seen] == [None, b"1", None, b"2"]
        assert [e.kv.mod_revision for e in seen] == list(range(start, last + 1))
        only_deletes = await collect(deletes, last)
        assert [(e.type, e.kv.mod_revision) for e in only_deletes] == [(EventType.DELETE, last)]


async def test_history_replay_from_start_revision(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    c = async_etcd_client
    revisions = [(await c.put(f"{etcd_prefix}{i}", str(i))).header.revision for i in range(50)]
    async with c.watch(etcd_prefix, prefix=True, start_revision=revisions[10]) as watcher:
        seen = await collect(watcher, revisions[-1])
    assert [e.kv.mod_revision for e in seen] == revisions[10:]
    assert [e.kv.value for e in seen] == [str(i).encode() for i in range(10, 50)]


@pytest.mark.needs_direct_server(reason="the gRPC proxy answers no progress request (it logs 'not supported request type')")
async def test_request_progress_on_a_quiet_watch(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    c = async_etcd_client
    revision = (await c.put(etcd_prefix + "x", "1")).header.revision
    # From the current revision: etcd >= 3.5.22 (3.4.38, 3.6.2) answers no progress request
    # while a watch starts in the future, as revision + 1 would here.
    async with c.watch(etcd_prefix + "quiet", start_revision=revision) as watcher:
        await asyncio.sleep(0.3)  # let the server register the watch
        await c.request_progress()
        response = await watcher.__anext__()
        assert response.progress_notify and response.events == []
        assert response.header.revision >= revision
        assert watcher.next_revision == response.header.revision + 1


async def test_fragmented_responses_are_reassembled(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    c = async_etcd_client
    big = b"f" * MiB
    revisions = [(await c.put(f"{etcd_prefix}{i}", big)).header.revision for i in range(3)]
    # replayed together, the three events exceed the server's 1.5 MiB request limit, so the
    # server splits the response into fragments
    async with c.watch(etcd_prefix, prefix=True, start_revision=revisions[0], fragment=True) as watcher:
        seen = await collect(watcher, revisions[-1])
    assert [e.kv.mod_revision for e in seen] == revisions
    assert all(e.kv.value == big for e in seen)


async def test_compacted_start_revision_raises_compacted_error(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    c = async_etcd_client
    old = (await c.put(etcd_prefix + "k", "1")).header.revision
    new = (await c.put(etcd_prefix + "k", "2")).header.revision
    await c.compact(new)
    async with c.watch(etcd_prefix + "k", start_revision=old) as watcher:
        with pytest.raises(etcdmap.CompactedError) as caught:
            await watcher.__anext__()
    assert caught.value.compact_revision == new
    assert "restart the watch" in str(caught.value)


async def eventually(condition: object, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def test_callbacks_add_and_cancel_watches_from_inside(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    c = async_etcd_client
    start = await current_revision(c) + 1
    first: list[object] = []
    second: list[object] = []
    handles: list[etcdmap.watch.AsyncWatchCallback] = []

    async def on_first(item: object) -> None:
        first.append(item)
        if len(first) == 1:
            handles.append(
                await c.add_watch_callback(etcd_prefix + "b", second.append, start_revision=start)
            )
        if len(first) == 2:
            await handles[0].cancel()  # this very watch, from its own callback

    handles.insert(0, await c.add_watch_callback(etcd_prefix + "a", on_first, start_revision=start))
    await c.put(etcd_prefix + "a", "1")
    await eventually(lambda: len(handles) == 2)
    await c.put(etcd_prefix + "b", "x")
    await c.put(etcd_prefix + "a", "2")
    await eventually(lambda: len(first) == 2 and len(second) == 1)
    await c.put(etcd_prefix + "a", "3")
    await c.put(etcd_prefix + "b", "y")
    await eventually(lambda: len(second) == 2)
    await handles[1].cancel()
    assert [r.events[0].kv.value for r in first] == [b"1", b"2"]  # type: ignore[attr-defined]
    assert [r.events[0].kv.value for r in second] == [b"x", b"y"]  # type: ignore[attr-defined]


async def test_a_failing_callback_does_not_stop_the_watch(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    c = async_etcd_client
    seen: list[object] = []

    def fragile(item: object) -> None:
        seen.extend(item.events)  # type: ignore[attr-defined]
        raise RuntimeError("user code failed")

    start = await current_revision(c) + 1
    handle = await c.add_watch_callback(etcd_prefix + "f", fragile, start_revision=start)
    await c.put(etcd_prefix + "f", "1")
    await c.put(etcd_prefix + "f", "2")
    await eventually(lambda: len(seen) == 2)
    await handle.cancel()


async def test_slow_consumer_memory_is_bounded_and_nothing_is_lost(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    c = async_etcd_client
    start = await current_revision(c) + 1
    async with c.watch(etcd_prefix, prefix=True, start_revision=start, buffer=4) as slow:
        last = 0
        for i in range(200):
            last = (await c.put(f"{etcd_prefix}{i % 10}", str(i))).header.revision
        await asyncio.sleep(0.5)
        assert slow._queue.qsize() <= 4  # the client holds at most `buffer` responses
        seen = await collect(slow, last)
    assert [e.kv.mod_revision for e in seen] == list(range(start, last + 1))


@pytest.mark.needs_direct_server(reason="kills and restarts its own server")
async def test_resume_across_a_killed_and_restarted_server(etcd_prefix: str) -> None:
    with EtcdServer() as server:
        async with AsyncClient(server.endpoints) as watching, AsyncClient(server.endpoints) as writing:
            start = await current_revision(writing) + 1
            async with watching.watch(etcd_prefix, prefix=True, start_revision=start) as watcher:
                for i in range(100):
                    await put_retrying(writing, f"{etcd_prefix}{i}", str(i))
                first = await collect(watcher, start + 99)
                server.kill()
                server.restart()
                for i in range(100, 200):
                    await put_retrying(writing, f"{etcd_prefix}{i}", str(i))
                last = await current_revision(writing)
                rest = await collect(watcher, last)
            seen = [e.kv.mod_revision for e in first + rest]
            assert seen == list(range(start, last + 1))
            assert watching._watch_stream is not None and watching._watch_stream.connects >= 2


@pytest.mark.needs_direct_server(reason="kills a cluster's leader: talks to each member")
@pytest.mark.cluster
async def test_resume_when_the_cluster_leader_is_killed(etcd_cluster: object, etcd_prefix: str) -> None:
    cluster = etcd_cluster
    leader = cluster.leader()  # type: ignore[attr-defined]
    endpoints = cluster.endpoints  # type: ignore[attr-defined]
    # the watcher talks to the leader first; the writer to a member that survives
    watch_order = [endpoints[leader]] + [e for i, e in enumerate(endpoints) if i != leader]
    survivor = [e for i, e in enumerate(endpoints) if i != leader]
    async with AsyncClient(watch_order) as watching, AsyncClient(survivor) as writing:
        start = await current_revision(writing) + 1
        async with watching.watch(etcd_prefix, prefix=True, start_revision=start) as watcher:
            for i in range(100):
                await put_retrying(writing, f"{etcd_prefix}{i}", str(i))
            cluster.kill(leader)  # type: ignore[attr-defined]
            for i in range(100, 200):
                await put_retrying(writing, f"{etcd_prefix}{i}", str(i))
            last = await current_revision(writing)
            seen = await collect(watcher, last)
        async with writing.watch(etcd_prefix, prefix=True, start_revision=start) as replay:
            history = await collect(replay, last)
    cluster.restart(leader)  # type: ignore[attr-defined]
    assert [e.kv.mod_revision for e in seen] == [e.kv.mod_revision for e in history]
    assert len(seen) >= 200 and seen[-1].kv.mod_revision == last


async def test_bad_watch_arguments(async_etcd_client: AsyncClient) -> None:
    with pytest.raises(ValueError, match="at most one of range_end, prefix and from_key"):
        async_etcd_client.watch("k", prefix=True, range_end="z")
    with pytest.raises(TypeError, match="key must be bytes or str"):
        async_etcd_client.watch(3)  # type: ignore[arg-type]


async def test_a_change_right_after_the_watch_starts_is_seen(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    # no start_revision: entering the context waits until the server created the watch
    for i in range(5):
        async with async_etcd_client.watch(etcd_prefix + "now") as watcher:
            revision = (await async_etcd_client.put(etcd_prefix + "now", str(i))).header.revision
            response = await watcher.__anext__()
            assert [e.kv.mod_revision for e in response.events] == [revision]
