# Generated from tests/_async/test_ordering.py by scripts/unasync: do not edit.
"""The ordering KV against real etcd: a member that is behind (frozen with SIGSTOP while the
others take writes, then resumed) answers a serializable read with an older revision after the
client failed over to it, and the wrapper hands that to its violation handler.

Written for Client; tests/_sync/test_ordering.py is generated from it by scripts/unasync.
"""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from etcdmap import (
    Client,
    OrderingKV,
    SwitchEndpoint,
    NoGreaterRevisionError,
    Op,
    OrderingViolationError,
)
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
    # Freeze a follower (freezing the leader would stop writes), and read from another member.
    behind_index = next(i for i in range(3) if i != leader)
    fresh_index = next(i for i in range(3) if i != behind_index)
    behind, fresh = members[behind_index], members[fresh_index]
    pid = behind.pid
    assert pid is not None
    violations: list[OrderingViolationError] = []
    with Client(
        [m.endpoint for m in members if m is not behind]
    ) as writer, Client([fresh.endpoint, behind.endpoint], timeout=15) as reader:
        kv = OrderingKV(reader, violations.append)  # returning: send the read again
        key = etcd_prefix + "k"
        writer.put(key, "0")
        os.kill(pid, signal.SIGSTOP)  # cut off: the other two go on without it
        resumer = None
        try:
            for i in range(1, 101):
                writer.put(key, str(i))
            seen = kv.get(key, serializable=True)  # from the fresh member: the latest
            assert seen.kvs[0].value == b"100"
            etcd_cluster.stop(fresh)  # the reader fails over to the frozen member...
            resumer = subprocess.Popen(["sh", "-c", f"sleep 0.5; kill -CONT {pid}"])
            # ... which answers from its old state as soon as it runs again
            response = kv.get(key, serializable=True)
        finally:
            os.kill(pid, signal.SIGCONT)
            if resumer is not None:
                resumer.wait()
            etcd_cluster.restart(fresh)
            behind.wait_healthy()
    assert violations, "the member that was behind had already caught up"
    first = violations[0]
    assert first.revision < first.prev_revision == seen.header.revision
    assert first.endpoint == behind.endpoint
    assert response.header.revision >= seen.header.revision  # retried until it caught up
    assert response.kvs[0].value == b"100"
