# Generated from tests/_async/test_ordering.py by scripts/unasync: do not edit.
"""The ordering KV against real etcd: a member that is behind (frozen with SIGSTOP while the
others take writes, then resumed) answers a serializable read with an older revision after the
client failed over to it, and the wrapper hands that to its violation handler.

Written for AsyncClient; tests/_sync/test_ordering.py is generated from it by scripts/unasync.
"""

from __future__ import annotations

import os
import signal

import pytest

from etcdmap import Client, OrderingKV, SwitchEndpoint, Op
from etcdmap.errors import NoGreaterRevisionError, OrderingViolationError
from etcdmap.testing import EtcdCluster, EtcdServer


def test_default_handler_raises_and_switching_gives_up(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    with Client(etcd_server.endpoints) as client:
        written = client.put(etcd_prefix + "k", "v")
        kv = OrderingKV(client)
        assert (kv.get(etcd_prefix + "k")).kvs[0].value == b"v"
        assert kv.prev_revision == written.header.revision
        kv.txn(success=[Op.get(etcd_prefix + "k")])
        kv._guard.prev_revision += 1000  # as if a fresher member had answered before
        with pytest.raises(OrderingViolationError) as caught:
            kv.get(etcd_prefix + "k", serializable=True)
        assert caught.value.revision < caught.value.prev_revision
        assert caught.value.operation == "get" and etcd_server.endpoint in str(caught.value)
        with pytest.raises(OrderingViolationError):
            kv.txn(success=[Op.get(etcd_prefix + "k")])

        switching = OrderingKV(client, SwitchEndpoint(client))
        switching._guard.prev_revision = kv.prev_revision
        with pytest.raises(NoGreaterRevisionError, match="no cluster members have a revision"):
            switching.get(etcd_prefix + "k")


@pytest.mark.cluster
def test_a_member_left_behind_calls_the_handler(
    etcd_cluster: EtcdCluster, etcd_prefix: str
) -> None:
    members = etcd_cluster.members
    leader = etcd_cluster.leader()
    # Freeze a follower (freezing the leader would stop writes) while the others go on.
    behind_index = next(i for i in range(3) if i != leader)
    fresh_index = next(i for i in range(3) if i not in (behind_index, leader))
    behind, fresh = members[behind_index], members[fresh_index]
    pid = behind.pid
    assert pid is not None
    violations: list[OrderingViolationError] = []

    def record_and_refuse(violation: OrderingViolationError) -> None:
        violations.append(violation)
        raise violation

    with Client(
        [m.endpoint for m in members if m is not behind]
    ) as writer, Client([fresh.endpoint, behind.endpoint], timeout=15) as reader:
        kv = OrderingKV(reader, record_and_refuse)
        key = etcd_prefix + "k"
        writer.put(key, "0")
        os.kill(pid, signal.SIGSTOP)  # cut off: the other two go on without it
        try:
            # more than the kernel's socket buffers hold, so the frozen member cannot have the
            # writes queued up, ready to apply the moment it runs again
            filler = b"x" * (256 * 1024)
            for i in range(1, 61):
                writer.put(f"{key}/fill{i}", filler)
            writer.put(key, "100")
            # linearizable: a follower applies a commit a moment after the leader acknowledges
            # it, so a serializable read there could still miss the last write
            seen = kv.get(key)
            assert seen.kvs[0].value == b"100"
            # With both up-to-date members gone, the frozen one cannot catch up when it runs
            # again: the reader fails over to it and gets its old state.
            etcd_cluster.kill(fresh_index)
            etcd_cluster.kill(leader)
        finally:
            os.kill(pid, signal.SIGCONT)
        try:
            with pytest.raises(OrderingViolationError) as caught:
                kv.get(key, serializable=True)
        finally:
            etcd_cluster.restart(leader)
            etcd_cluster.restart(fresh_index)
            behind.wait_healthy()
    assert violations == [caught.value]
    assert caught.value.revision < caught.value.prev_revision == seen.header.revision
    assert caught.value.endpoint == behind.endpoint
