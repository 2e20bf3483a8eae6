# Generated from tests/_async/test_mirror.py by scripts/unasync: do not edit.
"""Mirror against a real etcd: equality with a get at the same revision after random writes,
server kill/restart, leader kill, relist after compaction (with the exact diff emitted),
read-your-writes, invalid values, indexes, debounce, keys_only/transform, persistence.

Written for AsyncMirror; tests/_sync/test_mirror.py is generated from it by scripts/unasync.
"""

from __future__ import annotations

import time
import random
from pathlib import Path
from typing import Any

import msgspec
import pytest

import etcdmap
from etcdmap import Client, EtcdMap, Op
from etcdmap._sync.mirror import Mirror
from etcdmap._core.mirror import Batch, ChangeKind, MirrorState
from etcdmap.codecs import Json
from etcdmap.errors import MirrorDegradedError, MirrorLagError
from etcdmap.testing import EtcdServer

from .helpers import KVCalls, frozen, put_retrying


def server_copy(client: Client, prefix: str, revision: int) -> dict[str, bytes]:
    """The prefix as the server has it at ``revision`` (one range)."""
    response = client.get(prefix, prefix=True, revision=revision)
    return {kv.key[len(prefix):].decode(): kv.value for kv in response.kvs}


def replay(start: dict[str, Any], batches: list[Batch]) -> dict[str, Any]:
    """``start`` with every change of ``batches`` applied."""
    copy = dict(start)
    for batch in batches:
        for change in batch.changes:
            if change.kind in (ChangeKind.ADDED, ChangeKind.MODIFIED):
                copy[change.key] = change.new
            else:
                copy.pop(change.key, None)
    return copy


def random_writes(client: Client, prefix: str, count: int, seed: int) -> int:
    """``count`` random puts, deletes and multi-key txns on 200 keys; the last revision."""
    rng = random.Random(seed)
    revision = 0
    for i in range(count):
        roll = rng.random()
        key = f"{prefix}{rng.randrange(200)}"
        if roll < 0.6:
            revision = (client.put(key, f"v{i}")).header.revision
        elif roll < 0.8:
            revision = (client.delete(key)).header.revision
        else:
            keys = {f"{prefix}{rng.randrange(200)}" for _ in range(rng.randrange(2, 6))}
            ops = [Op.delete(k) if rng.random() < 0.3 else Op.put(k, f"t{i}") for k in keys]
            revision = (client.txn(success=ops)).header.revision
    return revision


def replayed_random_writes(
    m: Mirror[Any], writer: Client, count: int, seed: int
) -> tuple[list[Batch], dict[str, Any]]:
    """``random_writes`` under ``m``'s prefix, checked: once the mirror has them its copy
    equals a get at its revision and replaying its batches on its content before gives it.
    The batches and the copy."""
    start = dict(m.items())
    batches: list[Batch] = []
    sub = m.subscribe(batches.append)
    last = random_writes(writer, m.prefix, count, seed=seed)
    m.wait_for(last, timeout=30)
    snap = m.local_snapshot()
    assert snap.data == server_copy(writer, m.prefix, snap.revision)
    sub.cancel()
    assert replay(start, batches) == snap.data
    return batches, snap.data


def test_equals_a_get_after_random_writes_and_changes_replay(
    etcd_client: Client, etcd_prefix: str
) -> None:
    c = etcd_client
    for i in range(50):
        c.put(f"{etcd_prefix}{i}", "initial")
    with Client(c.endpoints) as other:
        with Mirror(c, etcd_prefix, page_size=7) as m:
            batches, _ = replayed_random_writes(m, other, 5000, seed=1)
            assert m.lag == 0 and m.state is MirrorState.READY
    # every batch is one revision, in order
    revisions = [b.revision for b in batches]
    assert revisions == sorted(set(revisions))


def test_read_your_writes_for_1000_pairs(etcd_client: Client, etcd_prefix: str) -> None:
    with Mirror(etcd_client, etcd_prefix) as m:
        for i in range(1000):
            key = f"k{i % 37}"
            if i % 5 == 4:
                m.delete(key) if key in m else m.set(key, b"%d" % i)
                assert (key in m) == (m.local_get(key) is not None)
                continue
            m.set(key, b"%d" % i)
            assert m[key] == b"%d" % i


@pytest.mark.needs_direct_server(reason="kills and restarts its own server")
def test_resumes_across_a_killed_and_restarted_server(etcd_prefix: str) -> None:
    with EtcdServer() as server:
        with Client(server.endpoints) as reading, Client(server.endpoints) as writing:
            with Mirror(reading, etcd_prefix, progress_interval=0.2) as m:
                states: list[MirrorState] = []
                for i in range(100):
                    put_retrying(writing, f"{etcd_prefix}{i % 30}", str(i))
                server.kill()
                for _ in range(100):  # no confirmation for 3 progress intervals → degraded
                    if m.state is MirrorState.DEGRADED:
                        break
                    time.sleep(0.05)
                states.append(m.state)
                server.restart()
                for i in range(100, 200):
                    last = put_retrying(writing, f"{etcd_prefix}{i % 30}", str(i))
                m.wait_for(last, timeout=30)
                snap = m.local_snapshot()
                assert snap.data == server_copy(writing, etcd_prefix, snap.revision)
                assert states == [MirrorState.DEGRADED]
                assert m.relists == 0


@pytest.mark.needs_direct_server(reason="kills a cluster's leader: talks to each member")
@pytest.mark.cluster
def test_survives_the_cluster_leader_being_killed(etcd_cluster: object, etcd_prefix: str) -> None:
    cluster = etcd_cluster
    leader = cluster.leader()  # type: ignore[attr-defined]
    endpoints = cluster.endpoints  # type: ignore[attr-defined]
    order = [endpoints[leader]] + [e for i, e in enumerate(endpoints) if i != leader]
    survivor = [e for i, e in enumerate(endpoints) if i != leader]
    try:
        with Client(order) as reading, Client(survivor) as writing:
            with Mirror(reading, etcd_prefix) as m:
                for i in range(100):
                    put_retrying(writing, f"{etcd_prefix}{i % 30}", str(i))
                cluster.kill(leader)  # type: ignore[attr-defined]
                for i in range(100, 200):
                    last = put_retrying(writing, f"{etcd_prefix}{i % 30}", str(i))
                m.wait_for(last, timeout=30)
                snap = m.local_snapshot()
                assert snap.data == server_copy(writing, etcd_prefix, snap.revision)
    finally:
        cluster.restart(leader)  # type: ignore[attr-defined]


def test_compaction_while_away_relists_and_emits_the_exact_diff(
    etcd_client: Client, etcd_prefix: str, tmp_path: Path
) -> None:
    c = etcd_client
    saved = tmp_path / "mirror.bin"
    for i in range(30):
        c.put(f"{etcd_prefix}{i}", f"v{i}")
    with Mirror(c, etcd_prefix, persist=saved, page_size=4) as m:
        old = dict(m.items())
        old_revision = m.revision
    # while no mirror runs: modify, delete, add, rewrite a value unchanged, then compact
    for i in range(10):
        c.put(f"{etcd_prefix}{i}", f"new{i}")
    for i in range(10, 20):
        c.delete(f"{etcd_prefix}{i}")
    c.put(f"{etcd_prefix}25", "v25")
    last = (c.put(f"{etcd_prefix}added", "x")).header.revision
    c.compact(last)
    m = Mirror(c, etcd_prefix, persist=saved, page_size=4)
    changes = m.changes()
    with m:
        assert m.relists == 1 and m.revision >= last
        new = dict(m.items())
        assert new == server_copy(c, etcd_prefix, m.revision)
        batch = changes.__next__()
        assert batch.relist and batch.revision == m.revision
        kinds = {ch.key: ch.kind for ch in batch.changes}
        assert kinds == {
            **{str(i): ChangeKind.MODIFIED for i in range(10)},
            **{str(i): ChangeKind.DELETED for i in range(10, 20)},
            "added": ChangeKind.ADDED,
        }
        assert replay(old, [batch]) == new
        assert old_revision < m.revision
        # and it carries on watching
        m.set("after", b"1")
        assert m["after"] == b"1"


def test_restart_from_the_saved_copy_without_a_full_load(
    etcd_client: Client, etcd_prefix: str, tmp_path: Path
) -> None:
    c = etcd_client
    saved = tmp_path / "copy.bin"
    c.put(f"{etcd_prefix}a", "1")
    with Mirror(c, etcd_prefix, persist=saved) as m:
        m.set("b", b"2")
    last = (c.put(f"{etcd_prefix}c", "3")).header.revision
    m = Mirror(c, etcd_prefix, persist=saved)
    batches = m.changes()
    with m:
        m.wait_for(last)
        assert dict(m.items()) == {"a": b"1", "b": b"2", "c": b"3"}
        assert m.relists == 0
        batch = batches.__next__()
        assert batch.source == "watch" and [ch.key for ch in batch.changes] == ["c"]


class Service(msgspec.Struct):
    owner: str
    port: int


def test_invalid_values_indexes_and_a_failing_callback(
    etcd_client: Client, etcd_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    c = etcd_client
    c.put(f"{etcd_prefix}web", b'{"owner": "alice", "port": 80}')
    c.put(f"{etcd_prefix}bad", b"not json")
    with Mirror(c, etcd_prefix, value_type=Service) as m:
        assert set(m.invalid) == {"bad"} and "bad" not in m
        assert isinstance(m.invalid["bad"].error, etcdmap.ValueDecodeError)
        m.add_index("owner", lambda key, s: s.owner)
        assert list(m.lookup("owner", "alice")) == ["web"]

        def explode(batch: Batch) -> None:
            raise RuntimeError("boom")

        seen: list[Batch] = []
        with m.subscribe(explode), m.subscribe(seen.append):
            m.set("db", Service("alice", 5432))
            m.set("web", Service("bob", 80))
            revision = (c.put(f"{etcd_prefix}db", b"[1, 2]")).header.revision
            m.wait_for(revision)
            assert list(m.lookup("owner", "alice")) == []
            assert list(m.lookup("owner", "bob")) == ["web"]
            assert set(m.invalid) == {"bad", "db"}
            m.set("bad", Service("carol", 1))
            assert "bad" not in m.invalid and m["bad"].owner == "carol"
            for _ in range(100):
                if len(seen) == 4:
                    break
                time.sleep(0.02)
        kinds = [[ch.kind for ch in b.changes] for b in seen]
        assert kinds == [[ChangeKind.ADDED], [ChangeKind.MODIFIED], [ChangeKind.INVALID], [ChangeKind.ADDED]]
        assert "boom" in caplog.text and m.state is MirrorState.READY


def test_debounce_merges_a_config_push(etcd_client: Client, etcd_prefix: str) -> None:
    c = etcd_client
    with Mirror(c, etcd_prefix, value_type=int) as m:
        seen: list[Batch] = []
        with m.subscribe(seen.append, debounce=0.3):
            for i in range(20):
                c.put(f"{etcd_prefix}{i}", str(i))
            c.put(f"{etcd_prefix}0", "100")
            last = (c.delete(f"{etcd_prefix}1")).header.revision
            m.wait_for(last)
            for _ in range(100):
                if seen:
                    break
                time.sleep(0.05)
            time.sleep(0.1)
        assert len(seen) == 1
        batch = seen[0]
        assert batch.revision == last
        assert {ch.key: ch.new for ch in batch.changes} == {
            **{str(i): i for i in range(2, 20)}, "0": 100,
        }


def test_keys_only_transform_state_callbacks_and_consistency(
    etcd_client: Client, etcd_prefix: str
) -> None:
    c = etcd_client
    c.put(f"{etcd_prefix}a", b'{"x": 1, "big": "....."}')
    with Mirror(c, etcd_prefix, keys_only=True) as keys:
        assert list(keys) == ["a"] and keys["a"] is None
    states: list[tuple[MirrorState, MirrorState]] = []
    slim = Mirror(
        c, etcd_prefix, codec=Json(), transform=lambda key, v: v["x"],
        on_state_change=lambda old, new: states.append((old, new)),
    )
    with slim:
        assert slim["a"] == 1
        # a write from elsewhere, seen by a linearizable read without waiting for anything else
        c.put(f"{etcd_prefix}b", b'{"x": 2}')
        assert slim.read("b", consistency="linearizable") == 2
        assert slim.count(consistency="local") == 2
        # a quiet prefix: progress notifications keep the mirror current
        other = c.put(f"{etcd_prefix}-elsewhere", b"1")
        assert slim.wait_for(other.header.revision, timeout=5) >= other.header.revision
        assert slim.lag == 0 and slim.last_confirmed is not None
    for _ in range(50):
        if len(states) == 2:
            break
        time.sleep(0.02)
    assert states == [
        (MirrorState.SYNCING, MirrorState.READY), (MirrorState.READY, MirrorState.CLOSED)
    ]


def test_etcd_map_mirror_and_arguments(etcd_client: Client, etcd_prefix: str) -> None:
    m = EtcdMap(etcd_client, etcd_prefix, value_type=int)
    m.set("a", 1)
    with Mirror.of_map(m) as mirror:
        assert mirror["a"] == 1
        mirror.update({"b": 2, "c": 3})
        assert dict(mirror.items()) == {"a": 1, "b": 2, "c": 3}
        with pytest.raises(TypeError):
            mirror.set("d", "not an int")  # type: ignore[arg-type]
        assert mirror.clear() == 3
        assert len(mirror) == 0
        with pytest.raises(KeyError):
            mirror.delete("a")
        with pytest.raises(TimeoutError, match="did not reach revision"):
            mirror.wait_for(mirror.revision + 1000, timeout=0.3)
    with pytest.raises(ValueError, match="consistency"):
        Mirror(etcd_client, etcd_prefix, consistency="eventual")  # type: ignore[arg-type]
    with pytest.raises(etcdmap.ClientClosedError):
        mirror.wait_for(mirror.revision + 1)


def test_a_quiet_prefix_with_keys_is_confirmed_at_the_server_revision(
    etcd_client: Client, etcd_prefix: str
) -> None:
    c = etcd_client
    c.put(f"{etcd_prefix}a", b"1")
    with Mirror(c, etcd_prefix) as m:
        # writes elsewhere only: no event here, and the copy is still current at their revision
        elsewhere = c.put(f"{etcd_prefix[:-1]}-elsewhere", b"1")
        assert m.wait_for(elsewhere.header.revision, timeout=3) >= elsewhere.header.revision
        assert m.barrier("linearizable") >= elsewhere.header.revision
        assert m.lag == 0


def test_a_mirror_of_a_server_nobody_writes_to_stays_ready(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    # Nothing is written after the listing, so a watch from the listed revision + 1 starts in
    # the future, and etcd >= 3.5.22 (3.4.38, 3.6.2) answers no progress request on a stream
    # with such a watch: the heartbeat heard nothing and the mirror degraded after a second.
    # Through etcd's gRPC proxy (--through-grpc-proxy), which answers none, reads confirm it.
    with Client(etcd_server.endpoints) as client:
        client.put(etcd_prefix + "a", "1")
        with Mirror(client, etcd_prefix, progress_interval=0.2, degraded_after=1.0) as mirror:
            quiet_until = time.monotonic() + 3.0
            while time.monotonic() < quiet_until:
                assert mirror.state is MirrorState.READY
                time.sleep(0.05)
            assert mirror.local_get("a") == b"1"


def test_dunders_read_the_local_copy_now_and_show_the_mirror_s_own_writes(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    calls = KVCalls()
    with Client(etcd_server.endpoints, hooks=calls) as c, Client(c.endpoints) as other:
        # no heartbeat during the test: every KV call below is one the reads made
        mirror = Mirror(c, etcd_prefix, consistency="linearizable", progress_interval=30, degraded_after=90)
        with mirror as m:
            m.set("a", b"1")
            sent = len(calls.methods)
            assert m["a"] == b"1" and "a" in m and len(m) == 1 and list(m) == ["a"]
            assert dict(m.items()) == {"a": b"1"} and list(m.values()) == [b"1"]
            assert list(m.keys()) == ["a"]
            assert len(calls.methods) == sent  # no RPC, whatever the consistency
            # the consistency methods still wait as consistency says: here for the server
            other.put(f"{etcd_prefix}b", "2")
            assert m.read("b") == b"2" and len(calls.methods) > sent
            assert m["b"] == b"2" and m.count() == 2
            m.delete("a")
            assert "a" not in m


@pytest.mark.needs_direct_server(reason="freezes its own server")
def test_a_degraded_mirror_s_dunders_raise_at_once_unless_its_consistency_is_local(
    etcd_prefix: str,
) -> None:
    with EtcdServer() as server:
        with Client(server.endpoints) as c:
            checked = Mirror(c, etcd_prefix, degraded_after=1.0)
            local = Mirror(c, etcd_prefix, degraded_after=1.0, consistency="local")
            with checked as m, local:
                m.set("a", b"1")
                local.wait_for(m.revision)
                with frozen(server):
                    deadline = time.monotonic() + 5
                    while MirrorState.READY in (m.state, local.state):
                        assert time.monotonic() < deadline, "not DEGRADED after 5 s"
                        time.sleep(0.02)
                    reads = [
                        lambda: m["a"], lambda: "a" in m, lambda: len(m), lambda: list(m),
                        lambda: list(m.items()), lambda: list(m.keys()), lambda: list(m.values()),
                    ]
                    for read in reads:
                        started = time.monotonic()
                        with pytest.raises(MirrorDegradedError, match="DEGRADED.*revision"):
                            read()
                        assert time.monotonic() - started < 0.1  # no I/O: the server is frozen
                    assert isinstance(MirrorDegradedError("x"), etcdmap.TransportError)
                    # "local" asked for the copy as it is; local_get always answers it
                    assert local["a"] == b"1" and len(local) == 1 and m.local_get("a") == b"1"
                deadline = time.monotonic() + 10
                while m.state is not MirrorState.READY:
                    assert time.monotonic() < deadline, "not READY 10 s after the thaw"
                    time.sleep(0.02)
                assert m["a"] == b"1"


def test_a_write_whose_copy_lags_says_it_was_applied_and_at_which_revision(
    etcd_client: Client, etcd_prefix: str
) -> None:
    c = etcd_client
    with Mirror(c, etcd_prefix) as m:
        m.timeout = 1e-6  # a write now waits a microsecond at most for the copy to show it
        m.map.timeout = 10  # ... but its Put may take as long as it needs
        lagged = None
        for i in range(300):  # the watch often beats the Put's answer: then no wait at all
            try:
                m.set("k", b"%d" % i)
            except MirrorLagError as error:
                lagged = error
                break
            assert m["k"] == b"%d" % i  # read-your-writes when the copy showed it in time
        assert lagged is not None, "no write outran its watch event in 300 tries"
        assert isinstance(lagged, TimeoutError) and "was applied at revision" in str(lagged)
        found = c.get(f"{etcd_prefix}k")
        assert found.kv is not None and found.kv.mod_revision == lagged.revision
        assert found.value == b"%d" % i
        assert m.wait_for(lagged.revision, timeout=5) >= lagged.revision
        assert m["k"] == b"%d" % i
