# Generated from tests/_async/test_lease.py by scripts/unasync: do not edit.
"""Lease behaviour against a real etcd: grant/revoke/TTL/list, keep-alive, loss, restarts.

Written for AsyncClient; tests/_sync/test_lease.py is generated from this file by
scripts/unasync, so the blocking Client passes exactly the same tests.
"""

from __future__ import annotations

import time
from time import monotonic, monotonic_ns

import pytest

import etcdmap
from etcdmap import Client, Op
from etcdmap.pytest_plugin import ProxiedEtcd
from etcdmap.testing import EtcdServer


def test_grant_time_to_live_leases_and_revoke(etcd_client: Client, etcd_prefix: str) -> None:
    c = etcd_client
    lease = c.lease_grant(60)
    assert lease.ttl == 60 and lease.id > 0 and lease.header.revision > 0
    assert repr(lease) == f"Lease(id={lease.id:#x}, ttl=60)"
    c.put(etcd_prefix + "a", "1", lease=lease)
    c.txn([], [Op.put(etcd_prefix + "b", "2", lease=lease)])
    c.put(etcd_prefix + "free", "3")
    assert (c.get(etcd_prefix + "a")).kvs[0].lease == lease.id
    ttl = c.lease_time_to_live(lease, keys=True)
    assert ttl.id == lease.id and ttl.granted_ttl == 60 and 55 <= ttl.ttl <= 60
    assert sorted(ttl.keys) == [(etcd_prefix + "a").encode(), (etcd_prefix + "b").encode()]
    assert (lease.time_to_live()).keys == []
    assert etcdmap.lease.LeaseStatus(lease.id) in c.leases()
    lease.revoke()
    assert (c.get_prefix(etcd_prefix, keys_only=True)).kvs[0].key.endswith(b"free")
    assert (c.lease_time_to_live(lease.id)).ttl == -1
    assert lease.id not in [status.id for status in c.leases()]
    with pytest.raises(etcdmap.errors.LeaseNotFoundError, match=f"lease_revoke {lease.id:#x}"):
        c.lease_revoke(lease.id)


def test_grant_with_chosen_id_and_errors(etcd_client: Client) -> None:
    c = etcd_client
    lease = c.lease_grant(30, id=0x5EED0001 + (monotonic_ns() % 1000))
    try:
        with pytest.raises(etcdmap.errors.LeaseExistError):
            c.lease_grant(30, id=lease.id)
        with pytest.raises(etcdmap.errors.LeaseTTLTooLargeError):
            c.lease_grant(9_000_000_001)
        with pytest.raises(ValueError, match="lease id"):
            c.lease_revoke(0)
    finally:
        lease.revoke()


def test_keep_alive_once_refreshes_the_ttl(etcd_client: Client) -> None:
    c = etcd_client
    lease = c.lease_grant(10)
    time.sleep(1.5)
    assert (lease.time_to_live()).ttl <= 8
    response = c.lease_keep_alive_once(lease)
    assert (response.id, response.ttl) == (lease.id, 10)
    assert response.header.revision > 0
    assert (lease.time_to_live()).ttl >= 9
    lease.revoke()


def test_revoked_lease_is_reported_lost_promptly(etcd_client: Client) -> None:
    c = etcd_client
    lease = c.lease_grant(30)
    lease.revoke()
    with pytest.raises(etcdmap.errors.LeaseNotFoundError, match=f"{lease.id:#x}"):
        c.lease_keep_alive_once(lease)
    started = monotonic()
    keep = c.lease_keep_alive(lease.id)
    with pytest.raises(etcdmap.errors.LeaseExpiredError, match=f"lease {lease.id:#x} is lost") as caught:
        keep.wait(5)
    assert monotonic() - started < 2
    assert caught.value.lease_id == lease.id and keep.lost.is_set() and not keep.alive
    with pytest.raises(etcdmap.errors.LeaseExpiredError):
        keep.check()
    # revoked through this client while kept alive: the handle ends as lost at once
    other = c.lease_grant(30)
    keep = other.keep_alive()
    other.revoke()
    assert keep.lost.is_set()
    with pytest.raises(etcdmap.errors.LeaseExpiredError, match="revoked"):
        keep.check()


def test_keep_alive_many_leases_on_one_stream(
    etcd_client: Client, etcd_server: object, etcd_prefix: str
) -> None:
    c = etcd_client
    # the key dies within its TTL + 1 s of the last keep-alive; a gRPC proxy renews a lease
    # it keeps alive for its clients for one more TTL after their last request
    outlives = 3 + (2 if isinstance(etcd_server, ProxiedEtcd) else 0)
    leases = [c.lease_grant(2) for _ in range(20)]
    key = etcd_prefix + "alive"
    c.put(key, "x", lease=leases[0])
    handles = [lease.keep_alive() for lease in leases]
    again = c.lease_keep_alive(leases[1])  # a second handle for one lease shares it
    assert handles[0].wait(10) is False  # 10 s, five TTLs: no loss
    assert (c.get(key)).count == 1
    assert c._lease_keeper is not None and c._lease_keeper.connects == 1
    assert all(h.alive and h.ttl == 2 and h.response is not None for h in handles)
    for handle in handles:
        handle.stop()
    assert handles[0].stopped and handles[0].wait(0) is True
    assert again.alive  # leases[1] is still kept alive through the other handle
    stopped = monotonic()
    while (c.get(key)).count:
        assert monotonic() - stopped < outlives, f"the key outlived the keep-alive by {outlives} s"
        time.sleep(0.1)
    assert (leases[1].time_to_live()).ttl > 0
    again.stop()
    leases[1].revoke()


@pytest.mark.needs_direct_server(reason="kills and restarts its own server")
def test_keep_alive_survives_a_server_restart(etcd_prefix: str) -> None:
    with EtcdServer() as server:
        with Client(server.endpoints) as c:
            lease = c.lease_grant(10)
            c.put(etcd_prefix + "k", "v", lease=lease)
            with lease.keep_alive() as keep:
                assert keep.wait(0.5) is False
                server.kill()
                time.sleep(0.5)
                server.restart()
                before = keep.response
                deadline = monotonic() + 8
                while keep.response is before:  # a renewal on the re-opened stream
                    assert monotonic() < deadline, "no keep-alive after the restart"
                    keep.check()
                    time.sleep(0.1)
                assert c._lease_keeper is not None and c._lease_keeper.connects >= 2
                assert keep.alive and keep.ttl == 10
                assert (c.get(etcd_prefix + "k")).count == 1
                assert (lease.time_to_live()).ttl >= 8
            assert keep.stopped and not keep.lost.is_set()


def test_lease_context_manager_revokes(etcd_client: Client, etcd_prefix: str) -> None:
    c = etcd_client
    with c.lease_grant(30) as lease:
        c.put(etcd_prefix + "k", "v", lease=lease)
        with lease.keep_alive() as keep:
            assert keep.alive
        assert keep.stopped and not keep.lost.is_set()
        assert (c.get(etcd_prefix + "k")).count == 1
    assert (c.get(etcd_prefix + "k")).count == 0
    assert (c.lease_time_to_live(lease)).ttl == -1
    with c.lease_grant(30) as gone:
        gone.revoke()  # revoked inside the block: leaving it is still fine


def test_close_stops_every_keep_alive(etcd_server: EtcdServer) -> None:
    client = Client(etcd_server.endpoints)
    first, second = client.lease_grant(30), client.lease_grant(30)
    keeps = [first.keep_alive(), second.keep_alive()]
    assert keeps[0].wait(0.2) is False
    client.close()
    assert all(k.stopped and not k.alive and not k.lost.is_set() for k in keeps)
    with pytest.raises(etcdmap.ClientClosedError):
        client.lease_keep_alive(first)
    with Client(etcd_server.endpoints) as other:
        other.lease_revoke(first)
        other.lease_revoke(second)


def test_calls_that_need_a_lease_refuse_none_by_name(etcd_client: Client) -> None:
    for no_lease in (None, 0):
        with pytest.raises(ValueError, match="a lease id .or Lease. is required"):
            etcd_client.lease_revoke(no_lease)
        with pytest.raises(ValueError, match="a lease id .or Lease. is required"):
            etcd_client.lease_time_to_live(no_lease)
    with pytest.raises(TypeError, match="lease must be an int lease id or a Lease, not str"):
        etcd_client.lease_revoke("7")  # type: ignore[arg-type]
