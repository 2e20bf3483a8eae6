# Generated from tests/_async/test_leasing.py by scripts/unasync: do not edit.
"""The leasing KV against a real etcd: cached reads make no RPC, and writes by another leasing
client (revoke handshake) or by a plain client (watch) are seen by the holder.

Written for AsyncClient; tests/_sync/test_leasing.py is generated from it by scripts/unasync.
The three-process randomized check is tests/test_leasing_processes.py.
"""

from __future__ import annotations

import time

import pytest

from etcdmap import Client, LeasingKV, Compare, Op
from etcdmap.errors import DeadlineExceededError
from etcdmap.testing import EtcdServer
from etcdmap.testing.nemeses import frozen

from .helpers import KVCalls


def eventually_value(kv: LeasingKV, key: str, expected: bytes | None) -> None:
    deadline = time.monotonic() + 5
    while True:
        kvs = (kv.get(key)).kvs
        value = kvs[0].value if kvs else None
        if value == expected or time.monotonic() > deadline:
            assert value == expected
            return


def test_cached_reads_make_no_rpc(etcd_server: EtcdServer, etcd_prefix: str) -> None:
    hooks = KVCalls()
    key = etcd_prefix + "k"
    with Client(etcd_server.endpoints, hooks=hooks) as client:
        client.put(key, "v1")
        with LeasingKV(client, etcd_prefix + "leasing/") as kv:
            hooks.methods.clear()
            first = kv.get(key)
            assert first.kvs[0].value == b"v1" and hooks.methods == ["KV/Txn"]
            assert kv.held == 1
            assert (client.get(etcd_prefix + "leasing/" + key)).count == 1
            hooks.methods.clear()
            for _ in range(50):
                assert (kv.get(key)).kvs[0].value == b"v1"
            assert hooks.methods == []
            # The holder's own write updates the cache: still no read RPC.
            written = kv.put(key, "v2")
            hooks.methods.clear()
            cached = kv.get(key)
            assert hooks.methods == []
            assert cached.kvs[0].value == b"v2" and cached.kvs[0].version == 2
            assert cached.kvs[0].mod_revision == written.header.revision
            assert cached.kvs[0] == (client.get(key)).kvs[0]
            kv.delete(key)
            hooks.methods.clear()
            assert (kv.get(key)).kvs == []
            assert hooks.methods == []
            # Options make it a plain server read.
            assert (kv.get(key, serializable=True)).count == 0
            assert hooks.methods == ["KV/Range"]
        # Closing revokes the session: the leasing key is gone.
        assert (client.get(etcd_prefix + "leasing/", prefix=True)).count == 0


def test_another_leasing_client_revokes(etcd_server: EtcdServer, etcd_prefix: str) -> None:
    key = etcd_prefix + "k"
    leasing = etcd_prefix + "leasing/"
    with (
        Client(etcd_server.endpoints) as ca,
        Client(etcd_server.endpoints) as cb,
        LeasingKV(ca, leasing) as a,
        LeasingKV(cb, leasing) as b,
    ):
        a.put(key, "a1")
        assert (a.get(key)).kvs[0].value == b"a1"
        assert a.held == 1
        b.put(key, "b1")  # revokes a's leasing key first
        assert a.held == 0
        assert (a.get(key)).kvs[0].value == b"b1"  # revoked lately: a plain read
        assert (b.get(key)).kvs[0].value == b"b1"
        assert b.held == 1
        a.delete(key)
        assert b.held == 0
        assert (b.get(key)).kvs == []
        response = a.txn(
            [Compare.version(key, "==", 0)], [Op.put(key, "a2")], [Op.get(key)]
        )
        assert response.succeeded
        assert (b.get(key)).kvs[0].value == b"a2"
        with pytest.raises(ValueError, match="ranged delete"):
            a.txn(success=[Op.delete(key, prefix=True)])


def test_plain_writes_invalidate_the_cache(
    etcd_client: Client, etcd_prefix: str
) -> None:
    key = etcd_prefix + "k"
    with LeasingKV(etcd_client, etcd_prefix + "leasing/") as kv:
        etcd_client.put(key, "plain1")
        assert (kv.get(key)).kvs[0].value == b"plain1"
        assert kv.held == 1
        etcd_client.put(key, "plain2")
        eventually_value(kv, key, b"plain2")
        etcd_client.delete(key)
        eventually_value(kv, key, None)
        assert kv.held == 1
        # A key with a lease of its own is never held.
        lease = etcd_client.lease_grant(30)
        etcd_client.put(etcd_prefix + "leased", "x", lease=lease)
        assert (kv.get(etcd_prefix + "leased")).kvs[0].value == b"x"
        assert kv.held == 1
        etcd_client.lease_revoke(lease)


def test_first_calls_end_at_their_timeout_while_the_server_is_frozen(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    """The first call starts the leasing session (a watch of the leasing prefix and a lease
    grant): while the server answers nothing, it still ends at its timeout, typed, and the
    client works once the server is back."""
    key = etcd_prefix + "frozen"
    with Client(etcd_server.endpoints) as client:
        kv = LeasingKV(client, etcd_prefix + "leasing-frozen/")
        with frozen(etcd_server, thaw_after=8):
            for write in (False, True):
                started = time.monotonic()
                with pytest.raises(DeadlineExceededError):
                    if write:
                        kv.put(key, "v", timeout=1)
                    else:
                        kv.get(key, timeout=1)
                assert time.monotonic() - started < 3
        kv.put(key, "v", timeout=10)
        assert (kv.get(key, timeout=10)).kvs[0].value == b"v"
        kv.close()
