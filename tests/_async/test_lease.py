"""Lease behaviour against a real etcd: grant/revoke/TTL/list, keep-alive, loss, restarts.

Written for AsyncClient; tests/_sync/test_lease.py is generated from this file by
scripts/unasync, so the blocking Client passes exactly the same tests.
"""

from __future__ import annotations

import asyncio
from time import monotonic, monotonic_ns

import pytest

import etcdmap
from etcdmap import AsyncClient, Op
from etcdmap.pytest_plugin import ProxiedEtcd
from etcdmap.testing import EtcdServer


async def test_grant_time_to_live_leases_and_revoke(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    c = async_etcd_client
    lease = await c.lease_grant(60)
    assert lease.ttl == 60 and lease.id > 0 and lease.header.revision > 0
    assert repr(lease) == f"AsyncLease(id={lease.id:#x}, ttl=60)"
    await c.put(etcd_prefix + "a", "1", lease=lease)
    await c.txn([], [Op.put(etcd_prefix + "b", "2", lease=lease)])
    await c.put(etcd_prefix + "free", "3")
    assert (await c.get(etcd_prefix + "a")).kvs[0].lease == lease.id
    ttl = await c.lease_time_to_live(lease, keys=True)
    assert ttl.id == lease.id and ttl.granted_ttl == 60 and 55 <= ttl.ttl <= 60
    assert sorted(ttl.keys) == [(etcd_prefix + "a").encode(), (etcd_prefix + "b").encode()]
    assert (await lease.time_to_live()).keys == []
    assert etcdmap.lease.LeaseStatus(lease.id) in await c.leases()
    await lease.revoke()
    assert (await c.get_prefix(etcd_prefix, keys_only=True)).kvs[0].key.endswith(b"free")
    assert (await c.lease_time_to_live(lease.id)).ttl == -1
    assert lease.id not in [status.id for status in await c.leases()]
    with pytest.raises(etcdmap.errors.LeaseNotFoundError, match=f"lease_revoke {lease.id:#x}"):
        await c.lease_revoke(lease.id)


async def test_grant_with_chosen_id_and_errors(async_etcd_client: AsyncClient) -> None:
    c = async_etcd_client
    lease = await c.lease_grant(30, id=0x5EED0001 + (monotonic_ns() % 1000))
    try:
        with pytest.raises(etcdmap.errors.LeaseExistError):
            await c.lease_grant(30, id=lease.id)
        with pytest.raises(etcdmap.errors.LeaseTTLTooLargeError):
            await c.lease_grant(9_000_000_001)
        with pytest.raises(ValueError, match="lease id"):
            await c.lease_revoke(0)
    finally:
        await lease.revoke()


async def test_keep_alive_once_refreshes_the_ttl(async_etcd_client: AsyncClient) -> None:
    c = async_etcd_client
    lease = await c.lease_grant(10)
    await asyncio.sleep(1.5)
    assert (await lease.time_to_live()).ttl <= 8
    response = await c.lease_keep_alive_once(lease)
    assert (response.id, response.ttl) == (lease.id, 10)
    assert response.header.revision > 0
    assert (await lease.time_to_live()).ttl >= 9
    await lease.revoke()


async def test_revoked_lease_is_reported_lost_promptly(async_etcd_client: AsyncClient) -> None:
    c = async_etcd_client
    lease = await c.lease_grant(30)
    await lease.revoke()
    with pytest.raises(etcdmap.errors.LeaseNotFoundError, match=f"{lease.id:#x}"):
        await c.lease_keep_alive_once(lease)
    started = monotonic()
    keep = await c.lease_keep_alive(lease.id)
    with pytest.raises(etcdmap.errors.LeaseExpiredError, match=f"lease {lease.id:#x} is lost") as caught:
        await keep.wait(5)
    assert monotonic() - started < 2
    assert caught.value.lease_id == lease.id and keep.lost.is_set() and not keep.alive
    with pytest.raises(etcdmap.errors.LeaseExpiredError):
        keep.check()
    # revoked through this client while kept alive: the handle ends as lost at once
    other = await c.lease_grant(30)
    keep = await other.keep_alive()
    await other.revoke()
    assert keep.lost.is_set()
    with pytest.raises(etcdmap.errors.LeaseExpiredError, match="revoked"):
        keep.check()


async def test_keep_alive_many_leases_on_one_stream(
    async_etcd_client: AsyncClient, etcd_server: object, etcd_prefix: str
) -> None:
    c = async_etcd_client
    # the key dies within its TTL + 1 s of the last keep-alive; a gRPC proxy renews a lease
    # it keeps alive for its clients for one more TTL after their last request
    outlives = 3 + (2 if isinstance(etcd_server, ProxiedEtcd) else 0)
    leases = [await c.lease_grant(2) for _ in range(20)]
    key = etcd_prefix + "alive"
    await c.put(key, "x", lease=leases[0])
    handles = [await lease.keep_alive() for lease in leases]
    again = await c.lease_keep_alive(leases[1])  # a second handle for one lease shares it
    assert await handles[0].wait(10) is False  # 10 s, five TTLs: no loss
    assert (await c.get(key)).count == 1
    assert c._lease_keeper is not None and c._lease_keeper.connects == 1
    assert all(h.alive and h.ttl == 2 and h.response is not None for h in handles)
    for handle in handles:
        await handle.stop()
    assert handles[0].stopped and await handles[0].wait(0) is True
    assert again.alive  # leases[1] is still kept alive through the other handle
    stopped = monotonic()
    while (await c.get(key)).count:
        assert monotonic() - stopped < outlives, f"the key outlived the keep-alive by {outlives} s"
        await asyncio.sleep(0.1)
    assert (await leases[1].time_to_live()).ttl > 0
    await again.stop()
    await leases[1].revoke()


@pytest.mark.needs_direct_server(reason="kills and restarts its own server")
async def test_keep_alive_survives_a_server_restart(etcd_prefix: str) -> None:
    with EtcdServer() as server:
        async with AsyncClient(server.endpoints) as c:
            lease = await c.lease_grant(10)
            await c.put(etcd_prefix + "k", "v", lease=lease)
            async with await lease.keep_alive() as keep:
                assert await keep.wait(0.5) is False
                server.kill()
                await asyncio.sleep(0.5)
                server.restart()
                before = keep.response
                deadline = monotonic() + 8
                while keep.response is before:  # a renewal on the re-opened stream
                    assert monotonic() < deadline, "no keep-alive after the restart"
                    keep.check()
                    await asyncio.sleep(0.1)
                assert c._lease_keeper is not None and c._lease_keeper.connects >= 2
                assert keep.alive and keep.ttl == 10
                assert (await c.get(etcd_prefix + "k")).count == 1
                assert (await lease.time_to_live()).ttl >= 8
            assert keep.stopped and not keep.lost.is_set()


async def test_lease_context_manager_revokes(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    c = async_etcd_client
    async with await c.lease_grant(30) as lease:
        await c.put(etcd_prefix + "k", "v", lease=lease)
        async with await lease.keep_alive() as keep:
            assert keep.alive
        assert keep.stopped and not keep.lost.is_set()
        assert (await c.get(etcd_prefix + "k")).count == 1
    assert (await c.get(etcd_prefix + "k")).count == 0
    assert (await c.lease_time_to_live(lease)).ttl == -1
    async with await c.lease_grant(30) as gone:
        await gone.revoke()  # revoked inside the block: leaving it is still fine


async def test_close_stops_every_keep_alive(etcd_server: EtcdServer) -> None:
    client = AsyncClient(etcd_server.endpoints)
    first, second = await client.lease_grant(30), await client.lease_grant(30)
    keeps = [await first.keep_alive(), await second.keep_alive()]
    assert await keeps[0].wait(0.2) is False
    await client.aclose()
    assert all(k.stopped and not k.alive and not k.lost.is_set() for k in keeps)
    with pytest.raises(etcdmap.ClientClosedError):
        await client.lease_keep_alive(first)
    async with AsyncClient(etcd_server.endpoints) as other:
        await other.lease_revoke(first)
        await other.lease_revoke(second)


async def test_calls_that_need_a_lease_refuse_none_by_name(async_etcd_client: AsyncClient) -> None:
    for no_lease in (None, 0):
        with pytest.raises(ValueError, match="a lease id .or Lease. is required"):
            await async_etcd_client.lease_revoke(no_lease)
        with pytest.raises(ValueError, match="a lease id .or Lease. is required"):
            await async_etcd_client.lease_time_to_live(no_lease)
    with pytest.raises(TypeError, match="lease must be an int lease id or a Lease, not str"):
        await async_etcd_client.lease_revoke("7")  # type: ignore[arg-type]
