"""Every KV (the client, a namespace view, the ordering and leasing KVs) has the same methods,
all run through ``do(op)``, and the layers above take any of them: a map over a namespace view
or over a leasing KV, against a real etcd.

Written for AsyncClient; tests/_sync/test_kv_layers.py is generated from it by scripts/unasync.
"""

from __future__ import annotations

import pytest

from etcdmap import (
    AsyncClient,
    AsyncEtcdMap,
    AsyncLeasingKV,
    AsyncMirror,
    AsyncNamespace,
    AsyncOrderingKV,
    CompactedError,
    Compare,
    Op,
)
from etcdmap.codecs import Str
from etcdmap.concurrency import AsyncSession
from etcdmap.testing import EtcdServer

from .helpers import KVCalls


async def test_do_runs_every_kind_of_op(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    client = async_etcd_client
    put = await client.do(Op.put(etcd_prefix + "k", "v", prev_kv=True))
    assert put.prev_kv is None
    got = await client.do(Op.get(etcd_prefix, prefix=True, keys_only=True))
    assert [kv.key for kv in got.kvs] == [(etcd_prefix + "k").encode()] and not got.kvs[0].value
    txn = await client.do(Op.txn([Compare.version(etcd_prefix + "k", "==", 1)], [Op.get(etcd_prefix + "k")]))
    assert txn.succeeded and txn.responses[0].kvs[0].value == b"v"  # type: ignore[union-attr]
    deleted = await client.do(Op.delete(etcd_prefix, prefix=True))
    assert deleted.deleted == 1
    await client.do(Op.compact(deleted.header.revision))
    with pytest.raises(CompactedError) as caught:
        await client.do(Op.get(etcd_prefix, revision=put.header.revision))
    assert caught.value.compact_revision == deleted.header.revision


async def test_map_over_a_namespace_view(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    tenant = AsyncNamespace(async_etcd_client, etcd_prefix + "tenant/")
    m = AsyncEtcdMap(tenant, "cfg/", codec=Str())
    await m.set("a", "1")
    await m.update({"b": "2", "c": "3"})
    stored = await async_etcd_client.get(etcd_prefix + "tenant/cfg/", prefix=True)
    assert [kv.key for kv in stored.kvs] == [(etcd_prefix + f"tenant/cfg/{k}").encode() for k in "abc"]
    assert [key async for key in m.keys()] == ["a", "b", "c"]
    assert await m.transaction(lambda tx: tx.get("b")) == "2"  # an STM over the view
    await async_etcd_client.put(etcd_prefix + "tenant/cfg/d", "4")
    assert await m["d"] == "4"
    await tenant.delete_prefix("cfg/")
    assert await m.count() == 0


async def test_mirror_over_a_namespace_view(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    client = async_etcd_client
    tenant = AsyncNamespace(client, etcd_prefix + "tenant/")
    await client.put(etcd_prefix + "tenant/cfg/a", "1")
    async with AsyncMirror(tenant, "cfg/", codec=Str()) as m:
        assert dict(m.items()) == {"a": "1"}
        written = await client.put(etcd_prefix + "tenant/cfg/b", "2")
        await m.wait_for(written.header.revision, timeout=10)
        assert m.local_get("b") == "2"
        await m.set("c", "3")
    assert (await client.get(etcd_prefix + "tenant/cfg/c")).kvs[0].value == b"3"


async def test_map_over_a_leasing_kv_reads_from_the_cache(etcd_server: EtcdServer, etcd_prefix: str) -> None:
    hooks = KVCalls()
    async with AsyncClient(etcd_server.endpoints, hooks=hooks) as client:
        async with AsyncLeasingKV(client, etcd_prefix + "leasing/") as kv:
            m = AsyncEtcdMap(kv, etcd_prefix + "cfg/", codec=Str())
            await m.set("a", "1")
            assert await m["a"] == "1"  # the acquire Txn
            hooks.methods.clear()
            assert await m["a"] == "1" and hooks.methods == []  # from memory
            assert [key async for key in m.keys()] == ["a"]
            await client.put(etcd_prefix + "cfg/b", "2")
            assert dict([item async for item in m.items()]) == {"a": "1", "b": "2"}
            with pytest.raises(ValueError, match="ranged delete"):
                await kv.delete_prefix(etcd_prefix + "cfg/")
            with pytest.raises(TypeError, match="ttl= needs a KV with the calls of AsyncLeases"):
                await m.set("c", "3", ttl=10)
            with pytest.raises(TypeError, match="a mirror needs a KV with the calls of AsyncWatchKV"):
                AsyncMirror.of_map(m)


async def test_ordering_kv_has_every_kv_method(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    kv = AsyncOrderingKV(async_etcd_client)
    for i in range(5):
        await kv.put(f"{etcd_prefix}{i}", str(i))
    pages = [page async for page in kv.get_pages(etcd_prefix, prefix=True, page_size=2)]
    assert [len(page.kvs) for page in pages] == [2, 2, 1]
    assert kv.prev_revision == pages[0].header.revision
    assert (await kv.get_prefix(etcd_prefix, count_only=True)).count == 5
    assert (await kv.delete_prefix(etcd_prefix, prev_kv=True)).deleted == 5
    assert (await kv.get_prefix(etcd_prefix)).count == 0
    with pytest.raises(TypeError, match="AsyncSession needs a KV with the calls of AsyncWatchKV"):
        AsyncSession(kv)  # no leases, no watches: said here, not at the first lock
