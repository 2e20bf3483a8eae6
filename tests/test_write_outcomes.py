"""Write outcomes under SIGKILL churn of a real 3-member cluster: a write that raised an error
other than ``OutcomeUnknownError`` must never be in the history, and every acknowledged write
must be. Blocking client only: the error mapping is shared, and one ~20 s churn is enough.
"""

from __future__ import annotations

import random
import threading
import time

import pytest

import etcdmap
from etcdmap import Client, Compare, Op
from etcdmap.testing import EtcdCluster

pytestmark = pytest.mark.cluster

CHURN_SECONDS = 20.0


def write(client: Client, prefix: str, outcomes: dict[str, str], deadline: float) -> None:
    """Unique puts and txns until ``deadline``; each key's outcome goes to ``outcomes``: "ok",
    "unknown" (an OutcomeUnknownError) or the class of any other error."""
    n = 0
    while time.monotonic() < deadline:
        key = f"{prefix}{n:05d}"
        try:
            if n % 2:
                client.put(key, "v" * 512)
            else:
                client.txn(
                    compare=[Compare.version(key, "==", 0)], success=[Op.put(key, "v" * 512)]
                )
            outcomes[key] = "ok"
        except etcdmap.OutcomeUnknownError:
            outcomes[key] = "unknown"
        except etcdmap.EtcdError as error:
            outcomes[key] = type(error).__name__
        n += 1


def test_no_write_outside_outcome_unknown_errors_is_lost_or_applied(
    etcd_cluster: EtcdCluster, etcd_prefix: str
) -> None:
    # the writes run on a thread; members are killed and restarted here (an etcd child dies
    # with the thread that started it)
    cluster = etcd_cluster
    endpoints = [e.removeprefix("http://") for e in cluster.endpoints]
    outcomes: dict[str, str] = {}
    kills: list[str] = []
    rand = random.Random(13)
    with Client(cluster.endpoints, timeout=2) as client:
        deadline = time.monotonic() + CHURN_SECONDS
        writer = threading.Thread(target=write, args=(client, etcd_prefix, outcomes, deadline))
        writer.start()
        try:
            while writer.is_alive():
                time.sleep(rand.uniform(0.2, 0.6))
                conn = client._conn
                if len(kills) % 2 and conn is not None and conn.endpoint in endpoints:
                    victim, role = endpoints.index(conn.endpoint), "client's member"
                else:
                    victim, role = cluster.leader(timeout=15), "leader"
                cluster.kill(victim)
                kills.append(role)
                time.sleep(rand.uniform(0.1, 0.5))
                cluster.restart(victim)
        finally:
            writer.join(30)
            for index, member in enumerate(cluster.members):
                if not member.running:
                    cluster.restart(index)
        assert not writer.is_alive()
        stored = set()
        for kv in client.get(etcd_prefix, prefix=True, timeout=30).kvs:
            stored.add(kv.key.decode())
            assert kv.version == 1, kv.key  # no write applied twice
    counts: dict[str, int] = {}
    for outcome in outcomes.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    print(f"{len(kills)} kills, outcomes {counts}")
    assert len(kills) >= 5 and counts.get("ok", 0) >= 50, (kills, counts)
    lost = [key for key, outcome in outcomes.items() if outcome == "ok" and key not in stored]
    assert not lost, f"acknowledged writes missing: {lost}"
    applied = {
        key: outcome for key, outcome in outcomes.items()
        if outcome not in ("ok", "unknown") and key in stored
    }
    assert not applied, f"writes applied although their error says they were not: {applied}"
