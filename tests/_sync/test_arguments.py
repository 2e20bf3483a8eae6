# Generated from tests/_async/test_arguments.py by scripts/unasync: do not edit.
"""Misuse is loud: bad arguments fail at once with a typed error naming the argument, and
nothing is sent (no RPC runs: the client's hooks see none; no lease is granted, no key is
written); a wrapper given the other flavour's client says so; a client dropped unclosed warns."""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator
from typing import Any

import pytest

import etcdmap
import etcdmap.naming
from etcdmap import Client, EtcdMap
from etcdmap.codecs import Json
from etcdmap.testing import EtcdServer

from .helpers import KVCalls

#: The client class of the other flavour (``Client`` here, ``Client`` in the generated
#: sync tests): the name is built so that scripts/unasync leaves it alone.
OTHER_CLIENT: Any = getattr(
    etcdmap, "Client" if Client.__name__.startswith("Async") else "Async" + "Client"
)


@pytest.fixture
def recorded(etcd_server: EtcdServer) -> Iterator[tuple[Client, KVCalls]]:
    calls = KVCalls()
    with Client(etcd_server.endpoints, hooks=calls) as client:
        yield client, calls


def test_bad_writes_send_nothing(
    recorded: tuple[Client, KVCalls], etcd_prefix: str
) -> None:
    client, calls = recorded
    m: EtcdMap[Any] = EtcdMap(client, etcd_prefix, codec=Json())
    for ttl in (math.inf, -math.inf, math.nan, -1, 0, 0.0, 2**63, 1e300):
        with pytest.raises(ValueError, match="^ttl must"):
            m.set("k", 1, ttl=ttl)
        with pytest.raises(ValueError, match="^ttl must"):
            m.put_if_absent("k", 1, ttl=ttl)
        with pytest.raises(ValueError, match="^ttl must"):
            m.modify("k", lambda v: v, default=0, ttl=ttl)
    for ttl in ("5", True, b"5"):
        with pytest.raises(TypeError, match="^ttl must be a number of seconds"):
            m.set("k", 1, ttl=ttl)
    for retries in (-1, 1.5, None):
        with pytest.raises((TypeError, ValueError), match="^retries must"):
            m.modify("k", lambda v: v, default=0, retries=retries)  # type: ignore[arg-type]
        with pytest.raises((TypeError, ValueError), match="^retries must"):
            m.transaction(lambda tx: tx.get("k"), retries=retries)  # type: ignore[arg-type]
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(etcdmap.ValueEncodeError, match="key 'k'.*refers to itself") as info:
        m.set("k", cycle)
    assert isinstance(info.value, ValueError) and info.value.key == "k"
    with pytest.raises(etcdmap.ValueEncodeError):
        m.update({"a": 1, "k": cycle})
    with pytest.raises(ValueError, match="^lease must not be negative"):
        m.set("k", 1, lease=-1)
    with pytest.raises(ValueError, match="^lease must be <= 9223372036854775807"):
        client.put(etcd_prefix + "k", "v", lease=2**63)
    with pytest.raises(ValueError, match="^mod_revision comparison value must not be negative"):
        m.replace("k", 1, revision=-1)
    with pytest.raises(ValueError, match="^revision must be <="):
        m.at(2**64)
    assert calls.rpcs == []
    assert (client.get(etcd_prefix, prefix=True, count_only=True)).count == 0


def test_bad_lease_arguments_grant_nothing(
    recorded: tuple[Client, KVCalls]
) -> None:
    client, calls = recorded
    before = {lease.id for lease in client.leases()}
    calls.rpcs.clear()
    for ident in (-1, 2**63):
        with pytest.raises(ValueError, match="^id must"):
            client.lease_grant(10, id=ident)
        with pytest.raises(ValueError, match="^lease must"):
            client.lease_revoke(ident)
        with pytest.raises(ValueError, match="^lease must"):
            client.lease_time_to_live(ident)
    for ttl in (0, -1, math.inf, math.nan):
        with pytest.raises(ValueError, match="^ttl must"):
            client.lease_grant(ttl)
    lease = client.lease_grant(5)
    calls.rpcs.clear()
    with client.lease_keep_alive(lease) as keep:
        for timeout in (math.inf, math.nan, -1):
            with pytest.raises(ValueError, match="^timeout must"):
                keep.wait(timeout)
    lease.revoke()
    calls.rpcs.clear()
    with pytest.raises(ValueError, match="^ttl must"):
        etcdmap.concurrency.Session(client, ttl=-1)
    with pytest.raises(TypeError, match="^ttl must"):
        etcdmap.concurrency.Session(client, ttl="10")  # type: ignore[arg-type]
    assert calls.rpcs == []
    assert {lease.id for lease in client.leases()} == before


def test_a_fractional_ttl_is_rounded_up(
    etcd_client: Client, etcd_prefix: str
) -> None:
    m: EtcdMap[Any] = EtcdMap(etcd_client, etcd_prefix, codec=Json())
    m.set("k", 1, ttl=1.2)
    entry = m.entry("k")
    status = etcd_client.lease_time_to_live(entry.lease)
    etcd_client.lease_revoke(entry.lease)
    assert status.granted_ttl == 2


def test_bad_timeouts_and_ranges_send_nothing(
    recorded: tuple[Client, KVCalls], etcd_prefix: str
) -> None:
    client, calls = recorded
    for timeout in (math.inf, math.nan, -1, 1e300):
        with pytest.raises(ValueError, match="^timeout must"):
            client.get(etcd_prefix, timeout=timeout)
        with pytest.raises(ValueError, match="^timeout must"):
            client.put(etcd_prefix + "k", "v", timeout=timeout)
        with pytest.raises(ValueError, match="^timeout must"):
            client.lease_keep_alive_once(1, timeout=timeout)
    for timeout in (True, "1", b"1"):
        with pytest.raises(TypeError, match="^timeout must be a number of seconds"):
            client.get(etcd_prefix, timeout=timeout)  # type: ignore[arg-type]
    watcher = client.watch(etcd_prefix)
    for timeout in (math.inf, math.nan, -1):
        with pytest.raises(ValueError, match="^timeout must"):
            watcher.start(timeout=timeout)
    with pytest.raises(TypeError, match="^timeout must be a number of seconds"):
        watcher.start(timeout="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="^revision must be <="):
        client.get(etcd_prefix, revision=2**64)
    with pytest.raises(TypeError, match="^limit must be an int"):
        client.get(etcd_prefix, limit=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="^min_mod_revision must not be negative"):
        client.get(etcd_prefix, min_mod_revision=-2)
    assert calls.rpcs == []


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"endpoints": [None]}, TypeError, "^endpoints must hold str"),
        ({"endpoints": ["localhost"]}, ValueError, "^endpoints: 'localhost' is not host:port"),
        ({"timeout": math.inf}, ValueError, "^timeout must"),
        ({"timeout": 0}, ValueError, "^timeout must be > 0"),
        ({"connect_timeout": -1}, ValueError, "^connect_timeout must"),
        ({"keepalive_time": None}, TypeError, "^keepalive_time must"),
        ({"keepalive_timeout": math.nan}, ValueError, "^keepalive_timeout must"),
        ({"auto_sync_interval": "1s"}, TypeError, "^auto_sync_interval must"),
        ({"max_send_bytes": 0}, ValueError, "^max_send_bytes must be positive"),
        ({"max_recv_bytes": 1.5}, TypeError, "^max_recv_bytes must be an int"),
    ],
)
def test_bad_client_options(options: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        Client(**options)


def test_a_wrapper_refuses_a_client_of_the_other_flavour(
    etcd_client: Client,
) -> None:
    other = OTHER_CLIENT(etcd_client.endpoints)  # never used: nothing to close
    mine, theirs = Client.__name__, OTHER_CLIENT.__name__
    wrong = rf"needs an? {mine}; use \w+ with an? {theirs}$"
    with pytest.raises(TypeError, match=rf"^{EtcdMap.__name__} {wrong}"):
        EtcdMap(other, "/p/")
    with pytest.raises(TypeError, match=rf"^{etcdmap.Mirror.__name__} {wrong}"):
        etcdmap.Mirror(other, "/p/")
    with pytest.raises(TypeError, match=rf"^{etcdmap.concurrency.Session.__name__} {wrong}"):
        etcdmap.concurrency.Session(other)
    with pytest.raises(TypeError, match=rf"^{etcdmap.syncer.Syncer.__name__} {wrong}"):
        etcdmap.syncer.Syncer(other, "/p/")
    with pytest.raises(TypeError, match=rf"^{etcdmap.LeasingKV.__name__} {wrong}"):
        etcdmap.LeasingKV(other, "/leasing/")
    with pytest.raises(TypeError, match=rf"^{etcdmap.OrderingKV.__name__} {wrong}"):
        etcdmap.OrderingKV(other)
    with pytest.raises(TypeError, match=rf"^{etcdmap.concurrency.Queue.__name__} {wrong}"):
        etcdmap.concurrency.Queue(other, "/q")
    with pytest.raises(TypeError, match=rf"^{etcdmap.naming.Registry.__name__} {wrong}"):
        etcdmap.naming.Registry(other, "/svc/")
    with pytest.raises(TypeError, match=rf"^{etcdmap.syncer.PrefixCopy.__name__} {wrong}"):
        etcdmap.syncer.PrefixCopy(etcd_client, other, "/p/")
    with pytest.raises(TypeError, match=rf"^{etcdmap.Namespace.__name__} {wrong}"):
        etcdmap.Namespace(other, "/p/")
    with pytest.raises(TypeError, match=rf"^{EtcdMap.__name__} needs an? {mine}, not str"):
        EtcdMap("127.0.0.1:2379", "/p/")  # type: ignore[arg-type]


def test_a_client_dropped_unclosed_warns(etcd_server: EtcdServer) -> None:
    client = Client(etcd_server.endpoints)
    client.get("/x")
    with pytest.warns(ResourceWarning, match=rf"^unclosed {Client.__name__}\(endpoints="):
        del client
        gc.collect()
