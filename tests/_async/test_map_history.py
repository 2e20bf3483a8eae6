"""AsyncEtcdMap history against a real etcd: a key's changes across deletions and
re-creations, after a compaction, past values, and restores of a key or the whole map.

tests/_sync/test_map_history.py is generated from this file by scripts/unasync.
"""

from __future__ import annotations

import time

import pytest

from etcdmap import (
    AsyncClient,
    AsyncEtcdMap,
    AsyncMirror,
    CompactedError,
    ConflictError,
    EventType,
)
from etcdmap.codecs import Json

from .helpers import Intruder


async def test_history_across_a_delete_and_a_re_creation(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    m: AsyncEtcdMap[int] = AsyncEtcdMap(async_etcd_client, etcd_prefix, value_type=int)
    first = await m.set("a", 1)
    await m.set("b", 7)  # another key: not in a's history
    second = await m.set("a", 2)
    gone = await m.delete("a")
    again = await m.set("a", 3)
    await async_etcd_client.put(etcd_prefix + "a", b"not json")
    found = await m.history("a")
    assert found.complete and found.earliest == 1 and found.revision == again + 1
    assert [(v.revision, v.kind, v.value, v.version) for v in found] == [
        (first, EventType.PUT, 1, 1),
        (second, EventType.PUT, 2, 2),
        (gone, EventType.DELETE, None, 0),
        (again, EventType.PUT, 3, 1),
        (again + 1, EventType.PUT, None, 2),
    ]
    assert [v.create_revision for v in found] == [first, first, first, again, again]
    assert found[-1].error is not None and found[-1].data == b"not json"
    assert found.pages == 1  # one watch response, not a request per version
    assert "deleted" in found.text() and "<table>" in found._repr_html_()
    later = await m.history("a", since=gone)
    assert [v.revision for v in later] == [gone, again, again + 1]
    assert len(await m.history("a", since=again + 2)) == 0


async def test_history_of_a_key_missing_now_ends_with_its_deletion(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    m: AsyncEtcdMap[int] = AsyncEtcdMap(async_etcd_client, etcd_prefix, value_type=int)
    assert len(await m.history("never")) == 0
    await m.set("gone", 1)
    deleted = await m.delete("gone")
    await m.set("other", 1)  # the store moves on
    started = time.monotonic()
    found = await m.history("gone")
    assert [v.kind for v in found] == [EventType.PUT, EventType.DELETE]
    assert found[-1].revision == deleted and time.monotonic() - started < 5


async def test_a_long_history_comes_in_pages_of_a_thousand_changes(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    m: AsyncEtcdMap[int] = AsyncEtcdMap(async_etcd_client, etcd_prefix, value_type=int)
    for value in range(1200):
        await async_etcd_client.put(etcd_prefix + "k", str(value))
    await m.delete("k")
    found = await m.history("k")
    assert [v.value for v in found][:-1] == list(range(1200)) and found.pages == 2
    assert found[-1].kind is EventType.DELETE and found[-1].create_revision == found[0].revision


async def test_history_after_a_compaction(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    m: AsyncEtcdMap[int] = AsyncEtcdMap(async_etcd_client, etcd_prefix, value_type=int)
    await m.set("k", 1)
    kept = await m.set("k", 2)
    compacted = await m.set("other", 0)
    last = await m.set("k", 3)
    await async_etcd_client.compact(compacted)
    found = await m.history("k")
    assert not found.complete and found.earliest == compacted
    assert [(v.revision, v.value) for v in found] == [(kept, 2), (last, 3)]
    with pytest.raises(CompactedError) as info:
        await m.history("k", since=kept)
    assert info.value.compact_revision == compacted and "'k'" in str(info.value)
    assert [v.value for v in await m.history("k", since=compacted)] == [3]


async def test_value_at_and_restore(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    m: AsyncEtcdMap[int] = AsyncEtcdMap(async_etcd_client, etcd_prefix, value_type=int)
    before = await m.set("k", 1)
    await m.set("k", 2)
    assert await m.value_at("k", before) == 1
    with pytest.raises(KeyError):
        await m.value_at("k", before - 1)
    assert await m.value_at("k", before - 1, None) is None
    written = await m.restore("k", before)
    assert await m["k"] == 1 and (await m.entry("k")).mod_revision == written
    assert await m.restore("k", before) == written  # already as it was: nothing written
    await m.restore("k", before - 1)  # it did not exist then
    assert not await m.contains("k")


async def test_restore_raises_conflict_when_the_key_changes_meanwhile(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    async def other_writer() -> None:
        await async_etcd_client.put(etcd_prefix + "k", "3")

    m: AsyncEtcdMap[int] = AsyncEtcdMap(
        Intruder(async_etcd_client, other_writer), etcd_prefix, value_type=int
    )
    before = await m.set("k", 1)
    await m.set("k", 2)
    with pytest.raises(ConflictError) as info:
        await m.restore("k", before)
    assert info.value.key == "k"
    assert await m["k"] == 3  # the other writer's value stays


async def test_restore_prefix_plans_and_writes_the_old_content(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    m: AsyncEtcdMap[int] = AsyncEtcdMap(async_etcd_client, etcd_prefix, value_type=int)
    await m.update({"a": 1, "b": 2, "c": 3})
    then = m.revision
    await m.set("a", 10)
    await m.delete("b")
    await m.set("d", 4)
    preview = await m.restore_prefix(then, dry_run=True)
    assert preview.changed == {"a": (10, 1)} and preview.added == {"b": 2}
    assert preview.removed == {"d": 4} and preview.unchanged == 1
    assert await m.count() == 3 and await m["a"] == 10  # a dry run writes nothing
    await m.restore_prefix(then)
    assert {k: v async for k, v in m.items()} == {"a": 1, "b": 2, "c": 3}


async def test_a_mirror_has_the_history_of_its_map(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    async with AsyncMirror(async_etcd_client, etcd_prefix, codec=Json(int)) as mirror:
        before = await mirror.set("k", 1)
        await mirror.set("k", 2)
        assert [v.value for v in await mirror.history("k")] == [1, 2]
        assert await mirror.value_at("k", before) == 1
        await mirror.restore("k", before)
        assert mirror.local_get("k") == 1  # the mirror has applied it when restore returns
        await mirror.set("k", 5)
        plan = await mirror.restore_prefix(before)
        assert plan.changed == {"k": (5, 1)} and mirror.local_get("k") == 1
