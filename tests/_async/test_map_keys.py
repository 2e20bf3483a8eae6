"""The rules for a map's keys against a real etcd (README.md, "Keys"): the empty key, keys
starting with the separator the prefix ends with, and a map over the whole keyspace.

Written for AsyncEtcdMap; tests/_sync/test_map_keys.py is generated from it by
scripts/unasync.
"""

from __future__ import annotations

import pytest

from etcdmap import WHOLE_KEYSPACE, AsyncClient, AsyncEtcdMap, AsyncMirror
from etcdmap.codecs import Str


async def test_the_empty_key_is_not_part_of_the_map(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    c = async_etcd_client
    await c.put(etcd_prefix, "marker")  # a "directory" key another tool wrote
    m: AsyncEtcdMap[str] = AsyncEtcdMap(c, etcd_prefix, codec=Str())
    await m.set("a", "1")
    with pytest.raises(ValueError, match="empty key would be the prefix key itself"):
        await m.set("", "x")
    with pytest.raises(ValueError, match="empty key"):
        await m[""]
    assert not await m.contains("")
    assert [key async for key in m] == ["a"] and await m.count() == 1
    assert (await m.stats()).total.keys == 1
    assert await m.clear() == 1
    assert (await c.get(etcd_prefix)).kvs[0].value == b"marker"  # not the map's to delete


async def test_a_key_that_doubles_the_separator_is_refused_on_write(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    c = async_etcd_client
    m: AsyncEtcdMap[str] = AsyncEtcdMap(c, etcd_prefix, codec=Str())
    with pytest.raises(ValueError, match="starts with '/', which the prefix ends with"):
        await m.set("/lead", "x")
    with pytest.raises(ValueError, match="give the key without the leading '/'"):
        await m.update({"ok": "1", "/lead": "x"})
    assert await m.count() == 0  # nothing of the update was written
    await c.put(etcd_prefix + "/lead", "old")  # another tool wrote one: still readable
    assert [key async for key in m] == ["/lead"] and await m["/lead"] == "old"
    await m.delete("/lead")
    bare: AsyncEtcdMap[str] = AsyncEtcdMap(c, etcd_prefix.rstrip("/"), codec=Str())
    await bare.set("/lead", "y")  # a prefix without the separator: the key brings it
    assert await m["lead"] == "y"


async def test_the_whole_keyspace_must_be_asked_for(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    c = async_etcd_client
    for empty in ("", b""):
        with pytest.raises(ValueError, match="pass etcdmap.WHOLE_KEYSPACE"):
            AsyncEtcdMap(c, empty)
        with pytest.raises(ValueError, match="whole keyspace"):
            AsyncMirror(c, empty)
    await c.put(etcd_prefix + "k", "v")
    everything: AsyncEtcdMap[str] = AsyncEtcdMap(c, WHOLE_KEYSPACE, codec=Str())
    assert await everything[etcd_prefix + "k"] == "v"
    assert await (await everything.snapshot()).get(etcd_prefix + "k") == "v"
    async with AsyncMirror.of_map(everything) as mirror:
        assert mirror[etcd_prefix + "k"] == "v" and mirror.prefix == ""
