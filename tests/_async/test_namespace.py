"""Namespace views against a real etcd: keys isolated for KV, Txn, Watch and Lease, no range
leaking out of the namespace, etcdctl seeing the full keys, and nested namespaces.

Written for AsyncClient; tests/_sync/test_namespace.py is generated from it by scripts/unasync.
"""

from __future__ import annotations

import asyncio

import pytest

import etcdmap
from etcdmap import AsyncClient, AsyncNamespace, Compare, EventType, Op
from etcdmap.errors import EmptyKeyError

from .helpers import collect


def neighbours(prefix: str) -> list[str]:
    """Keys just outside ``prefix`` on both sides, and its own range end."""
    stem = prefix[:-1]
    return [stem, stem + ".", stem + "x", etcdmap.prefix_range_end(prefix.encode()).decode()]


async def with_neighbours(client: AsyncClient, etcd_prefix: str) -> AsyncNamespace:
    """A namespace under the test's prefix, surrounded by keys that must stay invisible to it."""
    prefix = etcd_prefix + "ns/"
    for key in neighbours(prefix):
        await client.put(key, "outside")
    app = AsyncNamespace(client, prefix)
    assert isinstance(app, AsyncNamespace) and app.prefix == prefix.encode()
    return app


def keys(kvs: object) -> list[bytes]:
    return [kv.key for kv in kvs]  # type: ignore[attr-defined]


async def test_kv_is_isolated(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    c = async_etcd_client
    app = await with_neighbours(c, etcd_prefix)
    first = await app.put("a", "1")
    put = await app.put("a", "2", prev_kv=True)
    assert put.prev_kv is not None and (put.prev_kv.key, put.prev_kv.value) == (b"a", b"1")
    await app.put(b"b\xff", "3")
    await app.put("c/d", "4")

    (a,) = (await app.get("a")).kvs
    assert (a.key, a.value, a.version, a.create_revision) == (b"a", b"2", 2, first.header.revision)
    assert (await c.get(etcd_prefix + "ns/a")).kvs[0].value == b"2"
    assert (await app.get("zz")).kvs == []

    # every way of saying "the whole namespace" stops at its edges
    everything = [b"a", b"b\xff", b"c/d"]
    assert keys((await app.get("", prefix=True)).kvs) == everything
    assert keys((await app.get_prefix("")).kvs) == everything
    assert keys((await app.get("", from_key=True)).kvs) == everything
    assert keys((await app.get("b", from_key=True)).kvs) == everything[1:]
    assert keys((await app.get("a", range_end="\x00")).kvs) == everything
    assert keys((await app.get("a", range_end="c")).kvs) == everything[:2]
    assert keys((await app.get_prefix("c/")).kvs) == [b"c/d"]
    assert (await app.get("", prefix=True, count_only=True)).count == 3
    assert keys((await app.get("", prefix=True, sort_order="descend", limit=1)).kvs) == [b"c/d"]

    deleted = await app.delete("b", from_key=True, prev_kv=True)
    assert deleted.deleted == 2 and keys(deleted.prev_kvs) == [b"b\xff", b"c/d"]
    deleted = await app.delete_prefix("", prev_kv=True)
    assert deleted.deleted == 1 and keys(deleted.prev_kvs) == [b"a"]
    remaining = await c.get(etcd_prefix, prefix=True)
    assert sorted(keys(remaining.kvs)) == sorted(k.encode() for k in neighbours(etcd_prefix + "ns/"))


async def test_empty_keys_are_rejected_before_any_rpc(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    app = AsyncNamespace(async_etcd_client, etcd_prefix)
    calls = [
        lambda: app.put("", "v"), lambda: app.get(""), lambda: app.get("", range_end="z"),
        lambda: app.delete(""), lambda: app.txn(success=[Op.put("", "v")]),
    ]
    for call in calls:
        with pytest.raises(EmptyKeyError, match="key is not provided"):
            await call()
    with pytest.raises(EmptyKeyError, match="watch"):
        app.watch("")
    assert (await async_etcd_client.get(etcd_prefix, prefix=True)).count == 0


async def test_txn_is_isolated(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    c = async_etcd_client
    app = await with_neighbours(c, etcd_prefix)
    # over the namespace's range, an empty namespace has create revision 0: the neighbours
    # must not count
    empty = Compare.create_revision("", "==", 0, prefix=True)
    result = await app.txn([empty], [Op.put("a", "1", prev_kv=True), Op.get("", from_key=True)])
    assert result.succeeded
    put, get = result.responses
    assert isinstance(put, etcdmap.PutResponse) and put.prev_kv is None
    assert isinstance(get, etcdmap.GetResponse) and keys(get.kvs) == [b"a"]
    assert (await c.get(etcd_prefix + "ns/a")).kvs[0].value == b"1"

    nested = Op.txn(
        [Compare.value("a", "==", "1")],
        [Op.put("a", "2", prev_kv=True), Op.get("", prefix=True)],
        [Op.delete("", prefix=True)],
    )
    result = await app.txn([empty], [Op.delete("a")], [nested, Op.get("a")])
    assert not result.succeeded
    inner, get = result.responses
    assert isinstance(get, etcdmap.GetResponse) and keys(get.kvs) == [b"a"]
    assert get.kvs[0].value == b"2"  # written by the nested txn, same revision
    assert isinstance(inner, etcdmap.TxnResponse) and inner.succeeded
    put, listing = inner.responses
    assert isinstance(put, etcdmap.PutResponse) and put.prev_kv is not None
    assert (put.prev_kv.key, put.prev_kv.value) == (b"a", b"1")
    assert isinstance(listing, etcdmap.GetResponse) and keys(listing.kvs) == [b"a"]
    # the same ops still work on the plain client, at the plain keys
    plain = await c.txn([Compare.version(etcd_prefix + "ns", "==", 1)], [Op.get(etcd_prefix, prefix=True)])
    assert plain.succeeded and len(plain.responses[0].kvs) == 5  # type: ignore[union-attr]


async def test_watch_is_isolated(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    c = async_etcd_client
    app = await with_neighbours(c, etcd_prefix)
    start = (await c.get("\x00", count_only=True)).header.revision + 1
    called: list[object] = []
    handle = await app.add_watch_callback("", called.append, prefix=True, start_revision=start)
    async with app.watch("", prefix=True, prev_kv=True, start_revision=start) as watcher, \
            app.watch("a", start_revision=start) as single:
        assert isinstance(watcher, etcdmap.watch.AsyncNamespaceWatcher)
        await app.put("a", "1")
        for key in neighbours(etcd_prefix + "ns/"):
            await c.put(key, "outside again")
        await c.put(etcd_prefix + "ns/b", "2")
        last = (await app.delete("a")).header.revision
        events = await collect(watcher, last)
        assert watcher.next_revision == last + 1
        assert [(e.type, e.kv.key, e.kv.value) for e in events] == [
            (EventType.PUT, b"a", b"1"),
            (EventType.PUT, b"b", b"2"),
            (EventType.DELETE, b"a", b""),
        ]
        assert events[2].prev_kv is not None and (events[2].prev_kv.key, events[2].prev_kv.value) == (b"a", b"1")
        assert [(e.type, e.kv.key) for e in await collect(single, last)] == [
            (EventType.PUT, b"a"), (EventType.DELETE, b"a"),
        ]
    for _ in range(100):
        if len([e for r in called for e in r.events]) == 3:  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0.05)
    await handle.cancel()
    assert [e.kv.key for r in called for e in r.events] == [b"a", b"b", b"a"]  # type: ignore[attr-defined]


async def test_etcdctl_sees_the_full_keys(async_etcd_client: AsyncClient, etcd_server: object, etcd_prefix: str) -> None:
    app = AsyncNamespace(async_etcd_client, etcd_prefix + "ns/")
    await app.put("from-etcdmap", "v")
    out = etcd_server.etcdctl("get", "--prefix", etcd_prefix, "--keys-only")  # type: ignore[attr-defined]
    assert out.split() == [etcd_prefix + "ns/from-etcdmap"]
    etcd_server.etcdctl("put", etcd_prefix + "ns/from-etcdctl", "w")  # type: ignore[attr-defined]
    assert (await app.get("from-etcdctl")).kvs[0].value == b"w"


async def test_nested_namespaces_compose(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    c = async_etcd_client
    outer = AsyncNamespace(c, etcd_prefix + "a/")
    inner = AsyncNamespace(outer, "b/")
    assert isinstance(inner, AsyncNamespace)
    await inner.put("k", "1")
    await outer.put("c", "2")
    await outer.put("b", "next to the inner namespace")
    assert keys((await c.get(etcd_prefix, prefix=True)).kvs) == [
        f"{etcd_prefix}a/{k}".encode() for k in ("b", "b/k", "c")
    ]
    assert keys((await outer.get("", prefix=True)).kvs) == [b"b", b"b/k", b"c"]
    assert keys((await inner.get("", from_key=True)).kvs) == [b"k"]
    result = await inner.txn([Compare.version("k", "==", 1)], [Op.put("k", "3", prev_kv=True)])
    assert result.succeeded and result.responses[0].prev_kv.key == b"k"  # type: ignore[union-attr]
    start = result.header.revision
    async with inner.watch("k", start_revision=start) as watcher:
        response = await watcher.__anext__()
        assert [e.kv.key for e in response.events] == [b"k"]
    deleted = await inner.delete_prefix("", prev_kv=True)
    assert keys(deleted.prev_kvs) == [b"k"]
    assert keys((await outer.get_prefix("")).kvs) == [b"b", b"c"]


async def test_leases_pass_through(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    c = async_etcd_client
    app = AsyncNamespace(c, etcd_prefix + "ns/")
    lease = await app.lease_grant(30)
    await app.put("held", "v", lease=lease)
    await c.put(etcd_prefix + "elsewhere", "v", lease=lease.id)
    assert (await app.get("held")).kvs[0].lease == lease.id
    ttl = await app.lease_time_to_live(lease, keys=True)
    assert ttl.id == lease.id and ttl.keys == [b"held"]  # only this namespace's keys
    assert len((await c.lease_time_to_live(lease, keys=True)).keys) == 2
    assert lease.id in [status.id for status in await app.leases()]
    assert (await app.lease_keep_alive_once(lease)).id == lease.id
    async with await app.lease_keep_alive(lease) as keep:
        assert keep.alive
    await app.lease_revoke(lease)
    assert (await c.get(etcd_prefix, prefix=True)).count == 0
