"""Search and stats of a map (paged passes) and of a mirror (its local copy) against a real
etcd.

Written for AsyncEtcdMap and AsyncMirror; tests/_sync/test_map_search.py is generated from
it by scripts/unasync.
"""

from __future__ import annotations

import msgspec
import pytest

from etcdmap import AsyncClient, AsyncEtcdMap, AsyncMirror, PrefixStats
from etcdmap.codecs import Str

from .helpers import KVCalls


class Service(msgspec.Struct):
    owner: str
    port: int


SERVICES = {
    **{f"svc/web{i}": Service("alice" if i % 2 else "bob", 8000 + i) for i in range(8)},
    "db/main": Service("carol", 5432),
    "top": Service("dave", 1),
}


async def test_search_keys_and_values_in_key_order(
    etcd_server: object, etcd_prefix: str
) -> None:
    calls = KVCalls()
    async with AsyncClient(etcd_server.endpoints, hooks=calls) as c:  # type: ignore[attr-defined]
        m = AsyncEtcdMap(c, etcd_prefix, value_type=Service, page_size=4)
        await m.update(SERVICES)
        calls.methods.clear()
        found = [key async for key, _ in m.search("web")]
        assert found == [f"svc/web{i}" for i in range(8)]
        assert calls.methods == ["KV/Range"] * 3  # a paged pass: 10 keys, pages of 4
        alice = [key async for key, _ in m.search('"alice"', keys=False, values=True)]
        assert alice == ["svc/web1", "svc/web3", "svc/web5", "svc/web7"]
        either = [key async for key, _ in m.search(r"web[0-1]$|^db|5432", regex=True, values=True)]
        assert either == ["db/main", "svc/web0", "svc/web1"]
        assert [pair async for pair in m.search("main")] == [("db/main", SERVICES["db/main"])]
        with pytest.raises(ValueError, match="not a regular expression"):
            m.search("(", regex=True)
        with pytest.raises(ValueError, match="keys=True or values=True"):
            m.search("x", keys=False)
        async with AsyncMirror.of_map(m) as mirror:
            await mirror.set("svc/web10", Service("erin", 1))  # added last, sorted in
            assert [key for key, _ in mirror.search("web1")] == ["svc/web1", "svc/web10"]
            assert [k for k, _ in mirror.search('"alice"', keys=False, values=True)] == alice
            assert dict(mirror.search("main")) == {"db/main": SERVICES["db/main"]}


async def test_stats_per_child_prefix_keys_only_or_with_values(
    etcd_server: object, etcd_prefix: str
) -> None:
    calls = KVCalls()
    async with AsyncClient(etcd_server.endpoints, hooks=calls) as c:  # type: ignore[attr-defined]
        m: AsyncEtcdMap[str] = AsyncEtcdMap(c, etcd_prefix, codec=Str(), page_size=3)
        data = {"a/x/1": "1", "a/x/2": "22", "a/y": "333", "b/z": "4444", "c": "55555"}
        revision = (await m.update(data)).revision
        full = len(etcd_prefix.encode())
        stats = await m.stats()
        assert stats.revision == revision and stats.depth == 1
        assert stats.children == [
            PrefixStats("a/", 3, 3 * full + 5 + 5 + 3, 1 + 2 + 3),
            PrefixStats("b/", 1, full + 3, 4),
            PrefixStats("c", 1, full + 1, 5),
        ]
        assert stats.total == PrefixStats("", 5, 5 * full + 17, 15)
        assert stats.total.size == 5 * full + 17 + 15
        calls.methods.clear()
        deep = await m.stats(2, values=False)
        assert calls.methods == ["KV/Range"] * 2  # keys-only pages
        assert [(s.prefix, s.keys, s.value_bytes) for s in deep.children] == [
            ("a/x/", 2, None), ("a/y", 1, None), ("b/z", 1, None), ("c", 1, None),
        ]
        assert deep.total.key_bytes == stats.total.key_bytes
        with pytest.raises(ValueError, match="depth must be at least 1"):
            await m.stats(0)
        async with AsyncMirror.of_map(m) as mirror:
            assert mirror.stats() == stats  # values re-encoded by the codec: same bytes
            assert mirror.stats(2, values=False).children == deep.children
        async with AsyncMirror.of_map(m, keys_only=True) as keys:
            assert keys.stats().total == PrefixStats("", 5, 5 * full + 17, None)
            with pytest.raises(ValueError, match="does not hold values"):
                keys.stats(values=True)
