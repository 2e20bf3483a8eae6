"""etcdmap.compat.etcd3's cluster calls on a real 3-member cluster: python-etcd3's
``members`` (an iterator), ``status().leader`` as a ``Member``, and membership changes
(``add_member``, ``update_member``, ``remove_member``, ``Member.update``/``remove``)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import grpc
import pytest

import etcdmap.compat.etcd3 as etcd3
from etcdmap.testing import EtcdCluster
from etcdmap.testing._process import free_ports
from etcdmap.testing.nemeses import outage

pytestmark = pytest.mark.cluster


@pytest.fixture
def etcd(etcd_cluster: EtcdCluster) -> Iterator[etcd3.Etcd3Client]:
    host, port = etcd_cluster.endpoints[0].rsplit(":", 1)
    with etcd3.client(host=host, port=int(port), timeout=10) as client:
        yield client


def test_members_and_leader(etcd: etcd3.Etcd3Client, etcd_cluster: EtcdCluster) -> None:
    members = etcd.members
    assert next(members).id > 0  # an iterator, as python-etcd3's generator
    listed = list(etcd.members)
    assert sorted(m.name for m in listed) == ["m0", "m1", "m2"]
    assert all(m.peer_urls[0].startswith("http://") for m in listed)
    leader = etcd.status().leader
    assert isinstance(leader, etcd3.Member)
    assert leader.name == etcd_cluster.members[etcd_cluster.leader()].name


def test_membership_changes(etcd: etcd3.Etcd3Client) -> None:
    first, second = (f"http://127.0.0.1:{port}" for port in free_ports(2))
    # etcd refuses membership changes until its members have been connected for 5 s
    deadline = time.monotonic() + 15
    while True:
        try:
            added = etcd.add_member([first])  # never started: 3 of 4 still make a quorum
            break
        except etcd3.exceptions.ConnectionFailedError as error:  # python-etcd3's UNAVAILABLE
            assert "unhealthy cluster" in str(error) and time.monotonic() < deadline
            time.sleep(0.2)
    try:
        assert added.peer_urls == [first] and added.id > 0 and added.name == ""
        etcd.update_member(added.id, [second])
        (found,) = [m for m in etcd.members if m.id == added.id]
        assert found.peer_urls == [second]
        found.update([first])
        assert [m.peer_urls for m in etcd.members if m.id == added.id] == [[first]]
    finally:
        added.remove()
    assert added.id not in [m.id for m in etcd.members]
    with pytest.raises(grpc.RpcError) as unknown:
        etcd.remove_member(added.id)
    assert unknown.value.code() is grpc.StatusCode.NOT_FOUND


def test_multi_endpoint_client_fails_over(etcd_cluster: EtcdCluster, etcd_prefix: str) -> None:
    endpoints = [
        etcd3.Endpoint(host, int(port), secure=False)
        for host, port in (e.rsplit(":", 1) for e in etcd_cluster.endpoints)
    ]
    assert str(endpoints[0]) == f"Endpoint(http://{etcd_cluster.endpoints[0]})"
    with etcd3.MultiEndpointEtcd3Client(endpoints, timeout=10, failover=True) as etcd:
        etcd.put(etcd_prefix + "k", "v")
        with outage(etcd_cluster.members[0]):  # the endpoint in use is gone
            assert etcd.get(etcd_prefix + "k")[0] == b"v"
            etcd.put(etcd_prefix + "k", "w")
        assert etcd.get(etcd_prefix + "k")[0] == b"w"
    with pytest.raises(ValueError, match="TLS"):
        etcd3.Endpoint("127.0.0.1", 2379)  # secure by default: credentials needed
