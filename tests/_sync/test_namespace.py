# Generated from tests/_async/test_namespace.py by scripts/unasync: do not edit.
"""Namespace views against a real etcd: keys isolated for KV, Txn, Watch and Lease, no range
leaking out of the namespace, etcdctl seeing the full keys, and nested namespaces.

Written for AsyncClient; tests/_sync/test_namespace.py is generated from it by scripts/unasync.
"""

from __future__ import annotations

import time

import pytest

import etcdmap
from etcdmap import Client, Namespace, Compare, EventType, Op
from etcdmap.errors import EmptyKeyError

from .helpers import collect


def neighbours(prefix: str) -> list[str]:
    """Keys just outside ``prefix`` on both sides, and its own range end."""
    stem = prefix[:-1]
    return [stem, stem + ".", stem + "x", etcdmap.prefix_range_end(prefix.encode()).decode()]


def with_neighbours(client: Client, etcd_prefix: str) -> Namespace:
    """A namespace under the test's prefix, surrounded by keys that must stay invisible to it."""
    prefix = etcd_prefix + "ns/"
    for key in neighbours(prefix):
        client.put(key, "outside")
    app = Namespace(client, prefix)
    assert isinstance(app, Namespace) and app.prefix == prefix.encode()
    return app


def keys(kvs: object) -> list[bytes]:
    return [kv.key for kv in kvs]  # type: ignore[attr-defined]


def test_kv_is_isolated(etcd_client: Client, etcd_prefix: str) -> None:
    c = etcd_client
    app = with_neighbours(c, etcd_prefix)
    first = app.put("a", "1")
    put = app.put("a", "2", prev_kv=True)
    assert put.prev_kv is not None and (put.prev_kv.key, put.prev_kv.value) == (b"a", b"1")
    app.put(b"b\xff", "3")
    app.put("c/d", "4")

    (a,) = (app.get("a")).kvs
    assert (a.key, a.value, a.version, a.create_revision) == (b"a", b"2", 2, first.header.revision)
    assert (c.get(etcd_prefix + "ns/a")).kvs[0].value == b"2"
    assert (app.get("zz")).kvs == []

    # every way of saying "the whole namespace" stops at its edges
    everything = [b"a", b"b\xff", b"c/d"]
    assert keys((app.get("", prefix=True)).kvs) == everything
    assert keys((app.get_prefix("")).kvs) == everything
    assert keys((app.get("", from_key=True)).kvs) == everything
    assert keys((app.get("b", from_key=True)).kvs) == everything[1:]
    assert keys((app.get("a", range_end="\x00")).kvs) == everything
    assert keys((app.get("a", range_end="c")).kvs) == everything[:2]
    assert keys((app.get_prefix("c/")).kvs) == [b"c/d"]
    assert (app.get("", prefix=True, count_only=True)).count == 3
    assert keys((app.get("", prefix=True, sort_order="descend", limit=1)).kvs) == [b"c/d"]

    deleted = app.delete("b", from_key=True, prev_kv=True)
    assert deleted.deleted == 2 and keys(deleted.prev_kvs) == [b"b\xff", b"c/d"]
    deleted = app.delete_prefix("", prev_kv=True)
    assert deleted.deleted == 1 and keys(deleted.prev_kvs) == [b"a"]
    remaining = c.get(etcd_prefix, prefix=True)
    assert sorted(keys(remaining.kvs)) == sorted(k.encode() for k in neighbours(etcd_prefix + "ns/"))


def test_empty_keys_are_rejected_before_any_rpc(etcd_client: Client, etcd_prefix: str) -> None:
    app = Namespace(etcd_client, etcd_prefix)
    calls = [
        lambda: app.put("", "v"), lambda: app.get(""), lambda: app.get("", range_end="z"),
        lambda: app.delete(""), lambda: app.txn(success=[Op.put("", "v")]),
    ]
    for call in calls:
        with pytest.raises(EmptyKeyError, match="key is not provided"):
            call()
    with pytest.raises(EmptyKeyError, match="watch"):
        app.watch("")
    assert (etcd_client.get(etcd_prefix, prefix=True)).count == 0


def test_txn_is_isolated(etcd_client: Client, etcd_prefix: str) -> None:
    c = etcd_client
    app = with_neighbours(c, etcd_prefix)
    # over the namespace's range, an empty namespace has create revision 0: the neighbours
    # must not count
    empty = Compare.create_revision("", "==", 0, prefix=True)
    result = app.txn([empty], [Op.put("a", "1", prev_kv=True), Op.get("", from_key=True)])
    assert result.succeeded
    put, get = result.responses
    assert isinstance(put, etcdmap.PutResponse) and put.prev_kv is None
    assert isinstance(get, etcdmap.GetResponse) and keys(get.kvs) == [b"a"]
    assert (c.get(etcd_prefix + "ns/a")).kvs[0].value == b"1"

    nested = Op.txn(
        [Compare.value("a", "==", "1")],
        [Op.put("a", "2", prev_kv=True), Op.get("", prefix=True)],
        [Op.delete("", prefix=True)],
    )
    result = app.txn([empty], [Op.delete("a")], [nested, Op.get("a")])
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
    plain = c.txn([Compare.version(etcd_prefix + "ns", "==", 1)], [Op.get(etcd_prefix, prefix=True)])
    assert plain.succeeded and len(plain.responses[0].kvs) == 5  # type: ignore[union-attr]


def test_watch_is_isolated(etcd_client: Client, etcd_prefix: str) -> None:
    c = etcd_client
    app = with_neighbours(c, etcd_prefix)
    start = (c.get("\x00", count_only=True)).header.revision + 1
    called: list[object] = []
    handle = app.add_watch_callback("", called.append, prefix=True, start_revision=start)
    with app.watch("", prefix=True, prev_kv=True, start_revision=start) as watcher, \
            app.watch("a", start_revision=start) as single:
        assert isinstance(watcher, etcdmap.watch.NamespaceWatcher)
        app.put("a", "1")
        for key in neighbours(etcd_prefix + "ns/"):
            c.put(key, "outside again")
        c.put(etcd_prefix + "ns/b", "2")
        last = (app.delete("a")).header.revision
        events = collect(watcher, last)
        assert watcher.next_revision == last + 1
        assert [(e.type, e.kv.key, e.kv.value) for e in events] == [
            (EventType.PUT, b"a", b"1"),
            (EventType.PUT, b"b", b"2"),
            (EventType.DELETE, b"a", b""),
        ]
        assert events[2].prev_kv is not None and (events[2].prev_kv.key, events[2].prev_kv.value) == (b"a", b"1")
        assert [(e.type, e.kv.key) for e in collect(single, last)] == [
            (EventType.PUT, b"a"), (EventType.DELETE, b"a"),
        ]
    for _ in range(100):
        if len([e for r in called for e in r.events]) == 3:  # type: ignore[attr-defined]
            break
        time.sleep(0.05)
    handle.cancel()
    assert [e.kv.key for r in called for e in r.events] == [b"a", b"b", b"a"]  # type: ignore[attr-defined]


def test_etcdctl_sees_the_full_keys(etcd_client: Client, etcd_server: object, etcd_prefix: str) -> None:
    app = Namespace(etcd_client, etcd_prefix + "ns/")
    app.put("from-etcdmap", "v")
    out = etcd_server.etcdctl("get", "--prefix", etcd_prefix, "--keys-only")  # type: ignore[attr-defined]
    assert out.split() == [etcd_prefix + "ns/from-etcdmap"]
    etcd_server.etcdctl("put", etcd_prefix + "ns/from-etcdctl", "w")  # type: ignore[attr-defined]
    assert (app.get("from-etcdctl")).kvs[0].value == b"w"


def test_nested_namespaces_compose(etcd_client: Client, etcd_prefix: str) -> None:
    c = etcd_client
    outer = Namespace(c, etcd_prefix + "a/")
    inner = Namespace(outer, "b/")
    assert isinstance(inner, Namespace)
    inner.put("k", "1")
    outer.put("c", "2")
    outer.put("b", "next to the inner namespace")
    assert keys((c.get(etcd_prefix, prefix=True)).kvs) == [
        f"{etcd_prefix}a/{k}".encode() for k in ("b", "b/k", "c")
    ]
    assert keys((outer.get("", prefix=True)).kvs) == [b"b", b"b/k", b"c"]
    assert keys((inner.get("", from_key=True)).kvs) == [b"k"]
    result = inner.txn([Compare.version("k", "==", 1)], [Op.put("k", "3", prev_kv=True)])
    assert result.succeeded and result.responses[0].prev_kv.key == b"k"  # type: ignore[union-attr]
    start = result.header.revision
    with inner.watch("k", start_revision=start) as watcher:
        response = watcher.__next__()
        assert [e.kv.key for e in response.events] == [b"k"]
    deleted = inner.delete_prefix("", prev_kv=True)
    assert keys(deleted.prev_kvs) == [b"k"]
    assert keys((outer.get_prefix("")).kvs) == [b"b", b"c"]


def test_leases_pass_through(etcd_client: Client, etcd_prefix: str) -> None:
    c = etcd_client
    app = Namespace(c, etcd_prefix + "ns/")
    lease = app.lease_grant(30)
    app.put("held", "v", lease=lease)
    c.put(etcd_prefix + "elsewhere", "v", lease=lease.id)
    assert (app.get("held")).kvs[0].lease == lease.id
    ttl = app.lease_time_to_live(lease, keys=True)
    assert ttl.id == lease.id and ttl.keys == [b"held"]  # only this namespace's keys
    assert len((c.lease_time_to_live(lease, keys=True)).keys) == 2
    assert lease.id in [status.id for status in app.leases()]
    assert (app.lease_keep_alive_once(lease)).id == lease.id
    with app.lease_keep_alive(lease) as keep:
        assert keep.alive
    app.lease_revoke(lease)
    assert (c.get(etcd_prefix, prefix=True)).count == 0
