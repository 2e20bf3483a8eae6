# Generated from tests/_async/test_kv_layers.py by scripts/unasync: do not edit.
"""Every KV (the client, a namespace view, the ordering and leasing KVs) has the same methods,
all run through ``do(op)``, and the layers above take any of them: a map over a namespace view
or over a leasing KV, against a real etcd.

Written for AsyncClient; tests/_sync/test_kv_layers.py is generated from it by scripts/unasync.
"""

from __future__ import annotations

import pytest

from etcdmap import (
    Client,
    EtcdMap,
    LeasingKV,
    Mirror,
    Namespace,
    OrderingKV,
    CompactedError,
    Compare,
    Op,
)
from etcdmap.codecs import Str
from etcdmap.concurrency import Session
from etcdmap.testing import EtcdServer

from .helpers import KVCalls


def test_do_runs_every_kind_of_op(etcd_client: Client, etcd_prefix: str) -> None:
    client = etcd_client
    put = client.do(Op.put(etcd_prefix + "k", "v", prev_kv=True))
    assert put.prev_kv is None
    got = client.do(Op.get(etcd_prefix, prefix=True, keys_only=True))
    assert [kv.key for kv in got.kvs] == [(etcd_prefix + "k").encode()] and not got.kvs[0].value
    txn = client.do(Op.txn([Compare.version(etcd_prefix + "k", "==", 1)], [Op.get(etcd_prefix + "k")]))
    assert txn.succeeded and txn.responses[0].kvs[0].value == b"v"  # type: ignore[union-attr]
    deleted = client.do(Op.delete(etcd_prefix, prefix=True))
    assert deleted.deleted == 1
    client.do(Op.compact(deleted.header.revision))
    with pytest.raises(CompactedError) as caught:
        client.do(Op.get(etcd_prefix, revision=put.header.revision))
    assert caught.value.compact_revision == deleted.header.revision


def test_map_over_a_namespace_view(etcd_client: Client, etcd_prefix: str) -> None:
    tenant = Namespace(etcd_client, etcd_prefix + "tenant/")
    m = EtcdMap(tenant, "cfg/", codec=Str())
    m.set("a", "1")
    m.update({"b": "2", "c": "3"})
    stored = etcd_client.get(etcd_prefix + "tenant/cfg/", prefix=True)
    assert [kv.key for kv in stored.kvs] == [(etcd_prefix + f"tenant/cfg/{k}").encode() for k in "abc"]
    assert [key for key in m.keys()] == ["a", "b", "c"]
    assert m.transaction(lambda tx: tx.get("b")) == "2"  # an STM over the view
    etcd_client.put(etcd_prefix + "tenant/cfg/d", "4")
    assert m["d"] == "4"
    tenant.delete_prefix("cfg/")
    assert m.count() == 0


def test_mirror_over_a_namespace_view(etcd_client: Client, etcd_prefix: str) -> None:
    client = etcd_client
    tenant = Namespace(client, etcd_prefix + "tenant/")
    client.put(etcd_prefix + "tenant/cfg/a", "1")
    with Mirror(tenant, "cfg/", codec=Str()) as m:
        assert dict(m.items()) == {"a": "1"}
        written = client.put(etcd_prefix + "tenant/cfg/b", "2")
        m.wait_for(written.header.revision, timeout=10)
        assert m.local_get("b") == "2"
        m.set("c", "3")
    assert (client.get(etcd_prefix + "tenant/cfg/c")).kvs[0].value == b"3"


def test_map_over_a_leasing_kv_reads_from_the_cache(etcd_server: EtcdServer, etcd_prefix: str) -> None:
    hooks = KVCalls()
    with Client(etcd_server.endpoints, hooks=hooks) as client:
        with LeasingKV(client, etcd_prefix + "leasing/") as kv:
            m = EtcdMap(kv, etcd_prefix + "cfg/", codec=Str())
            m.set("a", "1")
            assert m["a"] == "1"  # the acquire Txn
            hooks.methods.clear()
            assert m["a"] == "1" and hooks.methods == []  # from memory
            assert [key for key in m.keys()] == ["a"]
            client.put(etcd_prefix + "cfg/b", "2")
            assert dict([item for item in m.items()]) == {"a": "1", "b": "2"}
            with pytest.raises(ValueError, match="ranged delete"):
                kv.delete_prefix(etcd_prefix + "cfg/")
            with pytest.raises(TypeError, match="ttl= needs a KV with the calls of Leases"):
                m.set("c", "3", ttl=10)
            with pytest.raises(TypeError, match="a mirror needs a KV with the calls of WatchKV"):
                Mirror.of_map(m)


def test_ordering_kv_has_every_kv_method(etcd_client: Client, etcd_prefix: str) -> None:
    kv = OrderingKV(etcd_client)
    for i in range(5):
        kv.put(f"{etcd_prefix}{i}", str(i))
    pages = [page for page in kv.get_pages(etcd_prefix, prefix=True, page_size=2)]
    assert [len(page.kvs) for page in pages] == [2, 2, 1]
    assert kv.prev_revision == pages[0].header.revision
    assert (kv.get_prefix(etcd_prefix, count_only=True)).count == 5
    assert (kv.delete_prefix(etcd_prefix, prev_kv=True)).deleted == 5
    assert (kv.get_prefix(etcd_prefix)).count == 0
    with pytest.raises(TypeError, match="Session needs a KV with the calls of WatchKV"):
        Session(kv)  # no leases, no watches: said here, not at the first lock
