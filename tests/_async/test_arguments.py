"""Misuse is loud: bad arguments fail at once with a typed error naming the argument, and
nothing is sent (no RPC runs: the client's hooks see none; no lease is granted, no key is
written); a wrapper given the other flavour's client says so; a client dropped unclosed warns."""

from __future__ import annotations

import gc
import math
from collections.abc import AsyncIterator
from typing import Any

import pytest

import etcdmap
import etcdmap.naming
from etcdmap import AsyncClient, AsyncEtcdMap
from etcdmap.codecs import Json
from etcdmap.testing import EtcdServer

from .helpers import KVCalls

#: The client class of the other flavour (``Client`` here, ``AsyncClient`` in the generated
#: sync tests): the name is built so that scripts/unasync leaves it alone.
OTHER_CLIENT: Any = getattr(
    etcdmap, "Client" if AsyncClient.__name__.startswith("Async") else "Async" + "Client"
)


@pytest.fixture
async def recorded(etcd_server: EtcdServer) -> AsyncIterator[tuple[AsyncClient, KVCalls]]:
    calls = KVCalls()
    async with AsyncClient(etcd_server.endpoints, hooks=calls) as client:
        yield client, calls


async def test_bad_writes_send_nothing(
    recorded: tuple[AsyncClient, KVCalls], etcd_prefix: str
) -> None:
    client, calls = recorded
    m: AsyncEtcdMap[Any] = AsyncEtcdMap(client, etcd_prefix, codec=Json())
    for ttl in (math.inf, -math.inf, math.nan, -1, 0, 0.0, 2**63, 1e300):
        with pytest.raises(ValueError, match="^ttl must"):
            await m.set("k", 1, ttl=ttl)
        with pytest.raises(ValueError, match="^ttl must"):
            await m.put_if_absent("k", 1, ttl=ttl)
        with pytest.raises(ValueError, match="^ttl must"):
            await m.modify("k", lambda v: v, default=0, ttl=ttl)
    for ttl in ("5", True, b"5"):
        with pytest.raises(TypeError, match="^ttl must be a number of seconds"):
            await m.set("k", 1, ttl=ttl)
    for retries in (-1, 1.5, None):
        with pytest.raises((TypeError, ValueError), match="^retries must"):
            await m.modify("k", lambda v: v, default=0, retries=retries)  # type: ignore[arg-type]
        with pytest.raises((TypeError, ValueError), match="^retries must"):
            await m.transaction(lambda tx: tx.get("k"), retries=retries)  # type: ignore[arg-type]
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(etcdmap.ValueEncodeError, match="key 'k'.*refers to itself") as info:
        await m.set("k", cycle)
    assert isinstance(info.value, ValueError) and info.value.key == "k"
    with pytest.raises(etcdmap.ValueEncodeError):
        await m.update({"a": 1, "k": cycle})
    with pytest.raises(ValueError, match="^lease must not be negative"):
        await m.set("k", 1, lease=-1)
    with pytest.raises(ValueError, match="^lease must be <= 9223372036854775807"):
        await client.put(etcd_prefix + "k", "v", lease=2**63)
    with pytest.raises(ValueError, match="^mod_revision comparison value must not be negative"):
        await m.replace("k", 1, revision=-1)
    with pytest.raises(ValueError, match="^revision must be <="):
        m.at(2**64)
    assert calls.rpcs == []
    assert (await client.get(etcd_prefix, prefix=True, count_only=True)).count == 0


async def test_bad_lease_arguments_grant_nothing(
    recorded: tuple[AsyncClient, KVCalls]
) -> None:
    client, calls = recorded
    before = {lease.id for lease in await client.leases()}
    calls.rpcs.clear()
    for ident in (-1, 2**63):
        with pytest.raises(ValueError, match="^id must"):
            await client.lease_grant(10, id=ident)
        with pytest.raises(ValueError, match="^lease must"):
            await client.lease_revoke(ident)
        with pytest.raises(ValueError, match="^lease must"):
            await client.lease_time_to_live(ident)
    for ttl in (0, -1, math.inf, math.nan):
        with pytest.raises(ValueError, match="^ttl must"):
            await client.lease_grant(ttl)
    lease = await client.lease_grant(5)
    calls.rpcs.clear()
    async with await client.lease_keep_alive(lease) as keep:
        for timeout in (math.inf, math.nan, -1):
            with pytest.raises(ValueError, match="^timeout must"):
                await keep.wait(timeout)
    await lease.revoke()
    calls.rpcs.clear()
    with pytest.raises(ValueError, match="^ttl must"):
        etcdmap.concurrency.AsyncSession(client, ttl=-1)
    with pytest.raises(TypeError, match="^ttl must"):
        etcdmap.concurrency.AsyncSession(client, ttl="10")  # type: ignore[arg-type]
    assert calls.rpcs == []
    assert {lease.id for lease in await client.leases()} == before


async def test_a_fractional_ttl_is_rounded_up(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    m: AsyncEtcdMap[Any] = AsyncEtcdMap(async_etcd_client, etcd_prefix, codec=Json())
    await m.set("k", 1, ttl=1.2)
    entry = await m.entry("k")
    status = await async_etcd_client.lease_time_to_live(entry.lease)
    await async_etcd_client.lease_revoke(entry.lease)
    assert status.granted_ttl == 2


async def test_bad_timeouts_and_ranges_send_nothing(
    recorded: tuple[AsyncClient, KVCalls], etcd_prefix: str
) -> None:
    client, calls = recorded
    for timeout in (math.inf, math.nan, -1, 1e300):
        with pytest.raises(ValueError, match="^timeout must"):
            await client.get(etcd_prefix, timeout=timeout)
        with pytest.raises(ValueError, match="^timeout must"):
            await client.put(etcd_prefix + "k", "v", timeout=timeout)
        with pytest.raises(ValueError, match="^timeout must"):
            await client.lease_keep_alive_once(1, timeout=timeout)
    for timeout in (True, "1", b"1"):
        with pytest.raises(TypeError, match="^timeout must be a number of seconds"):
            await client.get(etcd_prefix, timeout=timeout)  # type: ignore[arg-type]
    watcher = client.watch(etcd_prefix)
    for timeout in (math.inf, math.nan, -1):
        with pytest.raises(ValueError, match="^timeout must"):
            await watcher.start(timeout=timeout)
    with pytest.raises(TypeError, match="^timeout must be a number of seconds"):
        await watcher.start(timeout="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="^revision must be <="):
        await client.get(etcd_prefix, revision=2**64)
    with pytest.raises(TypeError, match="^limit must be an int"):
        await client.get(etcd_prefix, limit=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="^min_mod_revision must not be negative"):
        await client.get(etcd_prefix, min_mod_revision=-2)
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
        AsyncClient(**options)


async def test_a_wrapper_refuses_a_client_of_the_other_flavour(
    async_etcd_client: AsyncClient,
) -> None:
    other = OTHER_CLIENT(async_etcd_client.endpoints)  # never used: nothing to close
    mine, theirs = AsyncClient.__name__, OTHER_CLIENT.__name__
    wrong = rf"needs an? {mine}; use \w+ with an? {theirs}$"
    with pytest.raises(TypeError, match=rf"^{AsyncEtcdMap.__name__} {wrong}"):
        AsyncEtcdMap(other, "/p/")
    with pytest.raises(TypeError, match=rf"^{etcdmap.AsyncMirror.__name__} {wrong}"):
        etcdmap.AsyncMirror(other, "/p/")
    with pytest.raises(TypeError, match=rf"^{etcdmap.concurrency.AsyncSession.__name__} {wrong}"):
        etcdmap.concurrency.AsyncSession(other)
    with pytest.raises(TypeError, match=rf"^{etcdmap.syncer.AsyncSyncer.__name__} {wrong}"):
        etcdmap.syncer.AsyncSyncer(other, "/p/")
    with pytest.raises(TypeError, match=rf"^{etcdmap.AsyncLeasingKV.__name__} {wrong}"):
        etcdmap.AsyncLeasingKV(other, "/leasing/")
    with pytest.raises(TypeError, match=rf"^{etcdmap.AsyncOrderingKV.__name__} {wrong}"):
        etcdmap.AsyncOrderingKV(other)
    with pytest.raises(TypeError, match=rf"^{etcdmap.concurrency.AsyncQueue.__name__} {wrong}"):
        etcdmap.concurrency.AsyncQueue(other, "/q")
    with pytest.raises(TypeError, match=rf"^{etcdmap.naming.AsyncRegistry.__name__} {wrong}"):
        etcdmap.naming.AsyncRegistry(other, "/svc/")
    with pytest.raises(TypeError, match=rf"^{etcdmap.syncer.AsyncPrefixCopy.__name__} {wrong}"):
        etcdmap.syncer.AsyncPrefixCopy(async_etcd_client, other, "/p/")
    with pytest.raises(TypeError, match=rf"^{etcdmap.AsyncNamespace.__name__} {wrong}"):
        etcdmap.AsyncNamespace(other, "/p/")
    with pytest.raises(TypeError, match=rf"^{AsyncEtcdMap.__name__} needs an? {mine}, not str"):
        AsyncEtcdMap("127.0.0.1:2379", "/p/")  # type: ignore[arg-type]


async def test_a_client_dropped_unclosed_warns(etcd_server: EtcdServer) -> None:
    client = AsyncClient(etcd_server.endpoints)
    await client.get("/x")
    with pytest.warns(ResourceWarning, match=rf"^unclosed {AsyncClient.__name__}\(endpoints="):
        del client
        gc.collect()
