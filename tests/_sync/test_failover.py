# Generated from tests/_async/test_failover.py by scripts/unasync: do not edit.
"""Multi-endpoint failover and clientv3's retry rules against a real 3-member cluster.

Written for AsyncClient; tests/_sync/test_failover.py is generated from it by scripts/unasync.
"""

from __future__ import annotations

import time

import pytest

import etcdmap
from etcdmap import Client

pytestmark = pytest.mark.cluster


def write_and_read(client: Client, prefix: str, start: int, count: int) -> tuple[int, int]:
    """Put then get ``count`` new keys. A failed put is NOT retried here (its outcome may be
    unknown); every get must succeed. Returns (puts that succeeded, puts that failed)."""
    ok = failed = 0
    for i in range(start, start + count):
        key = f"{prefix}{i:04d}"
        try:
            client.put(key, str(i), timeout=10)
            ok += 1
        except etcdmap.EtcdError:
            failed += 1
            continue
        got = client.get(key, timeout=15)
        assert got.kvs and got.kvs[0].value == str(i).encode(), key
    return ok, failed


def test_keeps_serving_while_its_member_and_then_the_leader_die(
    etcd_cluster: object, etcd_prefix: str
) -> None:
    cluster = etcd_cluster
    leader = cluster.leader()  # type: ignore[attr-defined]
    followers = [i for i in range(3) if i != leader]
    order = [followers[0], leader, followers[1]]
    endpoints = [cluster.endpoints[i] for i in order]  # type: ignore[attr-defined]
    with Client(endpoints) as client:
        totals = [write_and_read(client, etcd_prefix, 0, 20)]
        assert client._conn is not None and client._conn.endpoint == endpoints[0]

        cluster.kill(followers[0])  # type: ignore[attr-defined]  # the member the client uses
        totals.append(write_and_read(client, etcd_prefix, 100, 20))
        assert client._conn.endpoint != endpoints[0]
        cluster.restart(followers[0])  # type: ignore[attr-defined]

        cluster.kill(leader)  # type: ignore[attr-defined]
        totals.append(write_and_read(client, etcd_prefix, 200, 20))
        cluster.restart(leader)  # type: ignore[attr-defined]

        succeeded = sum(ok for ok, _ in totals)
        assert succeeded >= 50, totals
        written = client.get(etcd_prefix, prefix=True, timeout=15)
        assert len(written.kvs) >= succeeded
        # no write was ever sent twice by the client's own retries
        assert all(kv.version == 1 for kv in written.kvs), [
            (kv.key, kv.version) for kv in written.kvs if kv.version != 1
        ]


def test_writes_move_on_from_a_refused_endpoint(etcd_cluster: object, etcd_prefix: str) -> None:
    # 127.0.0.1:1 refuses connections: a put provably never left, so it is safe to retry it
    # on the next endpoint
    endpoints = ["127.0.0.1:1", *etcd_cluster.endpoints]  # type: ignore[attr-defined]
    with Client(endpoints) as client:
        client.put(etcd_prefix + "k", "v", timeout=10)
        assert (client.get(etcd_prefix + "k")).kvs[0].version == 1
        assert client._conn is not None and client._conn.endpoint != "127.0.0.1:1"


def test_reads_give_up_with_the_endpoint_named(etcd_prefix: str) -> None:
    with Client(["127.0.0.1:1", "127.0.0.1:2"],
                           retry=etcdmap.RetryPolicy(max_attempts=4)) as client:
        with pytest.raises(etcdmap.ConnectionFailedError, match=r"127\.0\.0\.1:[12]"):
            client.get(etcd_prefix + "k", timeout=5)


def test_auto_sync_finds_the_other_members(etcd_cluster: object, etcd_prefix: str) -> None:
    endpoints = etcd_cluster.endpoints  # type: ignore[attr-defined]
    with Client(endpoints[:1], auto_sync_interval=0.2) as client:
        client.put(etcd_prefix + "k", "v")
        for _ in range(50):
            if len(client.endpoints) == 3:
                break
            time.sleep(0.1)
        assert sorted(client.endpoints) == sorted(e.removeprefix("http://") for e in endpoints)


def test_reject_old_cluster_accepts_a_current_server(etcd_cluster: object, etcd_prefix: str) -> None:
    with Client(etcd_cluster.endpoints, reject_old_cluster=True) as client:  # type: ignore[attr-defined]
        client.put(etcd_prefix + "k", "v")
    with Client(["127.0.0.1:1"], reject_old_cluster=True, timeout=2,
                           retry=etcdmap.RetryPolicy(max_attempts=2)) as unreachable:
        with pytest.raises(etcdmap.ConnectionFailedError):
            unreachable.get(etcd_prefix + "k")


def test_a_paged_pass_goes_on_through_a_follower_that_lost_its_quorum(
    etcd_cluster: object, etcd_prefix: str
) -> None:
    # the pages after the first are read at the pinned revision, serializable: a member that
    # has applied that revision serves them alone, as a linearizable read cannot
    cluster = etcd_cluster
    follower = cluster.follower()  # type: ignore[attr-defined]
    with Client([cluster.endpoints[follower]]) as client:  # type: ignore[attr-defined]
        for i in range(30):
            client.put(f"{etcd_prefix}{i:02d}", str(i))
        pages = client.get_pages(etcd_prefix, prefix=True, page_size=10, timeout=5)
        first = pages.__next__()
        with cluster.alone(follower):  # type: ignore[attr-defined]
            rest = [page for page in pages]
            with pytest.raises(etcdmap.EtcdError):  # the follower has no quorum left
                client.get(etcd_prefix + "00", timeout=2)
        keys = [kv.key for page in [first, *rest] for kv in page.kvs]
        assert keys == [f"{etcd_prefix}{i:02d}".encode() for i in range(30)]
