"""Each nemesis of etcdmap.testing.nemeses against a real proxied 3-member cluster."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import etcdmap
from etcdmap.errors import CompactedError, DeadlineExceededError, OutcomeUnknownError
from etcdmap.testing import EtcdCluster
from etcdmap.testing.nemeses import (
    Link,
    compact,
    delayed,
    hold,
    isolated,
    killed,
    paused,
    pick,
    severed,
)

pytestmark = [pytest.mark.cluster, pytest.mark.robustness]


@pytest.fixture(scope="module")
def cluster() -> Iterator[EtcdCluster]:
    with EtcdCluster(3, proxied=True) as started:
        yield started


@pytest.fixture
def prefix(cluster: EtcdCluster) -> str:
    """A fresh key prefix, once every member serves writes again (after the last test's
    fault, a member's peers take a moment to reconnect)."""
    key = f"/nemeses/{uuid.uuid4().hex[:8]}/"
    for endpoint in cluster.endpoints:
        _eventually_put(endpoint, key + "ready")
    return key


def _eventually_put(endpoint: str, key: str, timeout: float = 30.0) -> None:
    """Put through `endpoint` until it works: a proposal a member forwarded while its peer
    links came back may be dropped and time out (etcd does not resend it)."""
    deadline = time.monotonic() + timeout
    with _client([endpoint]) as client:
        while True:
            try:
                client.put(key, "v")
                return
            except OutcomeUnknownError:
                assert time.monotonic() < deadline, f"{endpoint} serves no write in {timeout} s"


def _client(endpoints: list[str], timeout: float = 2.0) -> etcdmap.Client:
    return etcdmap.Client(endpoints, timeout=timeout)


def _wait(condition: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]  # a callable
        assert time.monotonic() < deadline, f"{condition} still false after {timeout} s"
        time.sleep(0.05)


def test_killed_leader_is_replaced_then_restarted(cluster: EtcdCluster, prefix: str) -> None:
    leader = pick(cluster, "leader")
    with killed(cluster, "leader") as server, _client(cluster.endpoints) as client:
        assert not server.running
        assert cluster.leader(timeout=15) != leader
        client.put(prefix + "k", "during")
    assert server.running
    with _client([cluster.endpoints[leader]]) as client:
        assert client.get(prefix + "k").kvs[0].value == b"during"


def test_paused_follower_is_stopped_and_the_quorum_serves(
    cluster: EtcdCluster, prefix: str
) -> None:
    follower = pick(cluster, "follower")
    with paused(cluster, follower) as server:
        state = Path(f"/proc/{server.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        assert state in "Tt"
        others = [e for i, e in enumerate(cluster.endpoints) if i != follower]
        with _client(others) as client:
            client.put(prefix + "k", "v")
    with _client([cluster.endpoints[follower]]) as client:
        assert client.get(prefix + "k").kvs[0].value == b"v"


def test_isolated_leader_loses_its_clients_and_a_new_leader_is_elected(
    cluster: EtcdCluster, prefix: str
) -> None:
    with isolated(cluster, "leader") as index:
        _wait(lambda: cluster.leader(timeout=15) != index)
        with _client([cluster.endpoints[index]], timeout=0.5) as client:
            with pytest.raises(DeadlineExceededError):
                client.put(prefix + "k", "lost?")
    _eventually_put(cluster.endpoints[index], prefix + "k")  # healed: it serves again


def test_a_nemesis_heals_when_its_block_raises(cluster: EtcdCluster, prefix: str) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        with isolated(cluster, "follower", Link.CUT) as index:
            raise RuntimeError("boom")
    assert all(proxy._rule(None).link is Link.PASS for proxy in cluster.peer_proxies)
    _eventually_put(cluster.endpoints[index], prefix + "k")


def test_severed_follower_falls_behind_then_catches_up(
    cluster: EtcdCluster, prefix: str
) -> None:
    leader = pick(cluster, "leader")
    follower = pick(cluster, "follower")
    # through the leader: a put sent to the follower would be forwarded over the cut link
    with _client([cluster.endpoints[leader]]) as client:
        base = client.put(prefix + "k", "0").header.revision
        with severed(cluster, leader, follower):
            for n in range(1, 6):
                client.put(prefix + "k", str(n))
            with _client([cluster.endpoints[follower]]) as lagging:
                seen = lagging.get(prefix + "k", serializable=True).header.revision
            assert seen < base + 5  # raft messages from the leader go nowhere
        with _client([cluster.endpoints[follower]]) as healed:
            _wait(lambda: healed.get(prefix + "k", serializable=True).kvs[0].value == b"5")


def test_delayed_member_answers_late(cluster: EtcdCluster, prefix: str) -> None:
    with _client([cluster.endpoints[0]]) as client:
        client.put(prefix + "k", "v")
        with delayed(cluster, 0, 0.3):
            began = time.monotonic()
            client.get(prefix + "k", serializable=True)
            assert time.monotonic() - began >= 0.6  # 0.3 s each way
        client.get(prefix + "k", serializable=True)  # behind frames delayed before healing
        began = time.monotonic()
        client.get(prefix + "k", serializable=True)
        assert time.monotonic() - began < 0.3


def test_compact_makes_older_revisions_unreadable(cluster: EtcdCluster, prefix: str) -> None:
    with _client(cluster.endpoints) as client:
        old = client.put(prefix + "k", "1").header.revision
        client.put(prefix + "k", "2")
        assert compact(cluster) > old
        with pytest.raises(CompactedError):
            client.get(prefix + "k", revision=old)


def test_hold_heals_after_the_given_time(cluster: EtcdCluster) -> None:
    began = time.monotonic()
    hold(killed(cluster, "follower"), 0.2)
    assert time.monotonic() - began >= 0.2
    assert all(member.running for member in cluster.members)


def test_bad_arguments_are_refused(cluster: EtcdCluster) -> None:
    with pytest.raises(ValueError, match="Link.PASS"):
        with isolated(cluster, 0, Link.PASS):
            pass
    with pytest.raises(ValueError, match="same member"):
        with severed(cluster, 1, 1):
            pass
    with pytest.raises(IndexError, match="member=7"):
        pick(cluster, 7)
    with pytest.raises(ValueError, match="delay=-1"):
        with delayed(cluster, 0, -1):
            pass
    unproxied = EtcdCluster(3)
    with pytest.raises(RuntimeError, match="proxied=True"):
        with isolated(unproxied, 0):
            pass
