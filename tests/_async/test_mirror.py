"""Mirror against a real etcd: equality with a get at the same revision after random writes,
server kill/restart, leader kill, relist after compaction (with the exact diff emitted),
read-your-writes, invalid values, indexes, debounce, keys_only/transform, persistence.

Written for AsyncMirror; tests/_sync/test_mirror.py is generated from it by scripts/unasync.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest

import etcdmap
from etcdmap import AsyncClient, AsyncEtcdMap, Op
from etcdmap._async.mirror import AsyncMirror
from etcdmap._core.mirror import Batch, ChangeKind, MirrorState
from etcdmap.codecs import Json
from etcdmap.errors import MirrorDegradedError, MirrorLagError
from etcdmap.testing import EtcdServer

from .helpers import KVCalls, frozen, put_retrying


async def server_copy(client: AsyncClient, prefix: str, revision: int) -> dict[str, bytes]:
    """The prefix as the server has it at ``revision`` (one range)."""
    response = await client.get(prefix, prefix=True, revision=revision)
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


async def random_writes(client: AsyncClient, prefix: str, count: int, seed: int) -> int:
    """``count`` random puts, deletes and multi-key txns on 200 keys; the last revision."""
    rng = random.Random(seed)
    revision = 0
    for i in range(count):
        roll = rng.random()
        key = f"{prefix}{rng.randrange(200)}"
        if roll < 0.6:
            revision = (await client.put(key, f"v{i}")).header.revision
        elif roll < 0.8:
            revision = (await client.delete(key)).header.revision
        else:
            keys = {f"{prefix}{rng.randrange(200)}" for _ in range(rng.randrange(2, 6))}
            ops = [Op.delete(k) if rng.random() < 0.3 else Op.put(k, f"t{i}") for k in keys]
            revision = (await client.txn(success=ops)).header.revision
    return revision


async def replayed_random_writes(
    m: AsyncMirror[Any], writer: AsyncClient, count: int, seed: int
) -> tuple[list[Batch], dict[str, Any]]:
    """``random_writes`` under ``m``'s prefix, checked: once the mirror has them its copy
    equals a get at its revision and replaying its batches on its content before gives it.
    The batches and the copy."""
    start = dict(m.items())
    batches: list[Batch] = []
    sub = m.subscribe(batches.append)
    last = await random_writes(writer, m.prefix, count, seed=seed)
    await m.wait_for(last, timeout=30)
    snap = m.local_snapshot()
    assert snap.data == await server_copy(writer, m.prefix, snap.revision)
    await sub.cancel()
    assert replay(start, batches) == snap.data
    return batches, snap.data


async def test_equals_a_get_after_random_writes_and_changes_replay(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    c = async_etcd_client
    for i in range(50):
        await c.put(f"{etcd_prefix}{i}", "initial")
    async with AsyncClient(c.endpoints) as other:
        async with AsyncMirror(c, etcd_prefix, page_size=7) as m:
            batches, _ = await replayed_random_writes(m, other, 5000, seed=1)
            assert m.lag == 0 and m.state is MirrorState.READY
    # every batch is one revision, in order
    revisions = [b.revision for b in batches]
    assert revisions == sorted(set(revisions))


async def test_read_your_writes_for_1000_pairs(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    async with AsyncMirror(async_etcd_client, etcd_prefix) as m:
        for i in range(1000):
            key = f"k{i % 37}"
            if i % 5 == 4:
                await m.delete(key) if key in m else await m.set(key, b"%d" % i)
                assert (key in m) == (m.local_get(key) is not None)
                continue
            await m.set(key, b"%d" % i)
            assert m[key] == b"%d" % i


@pytest.mark.needs_direct_server(reason="kills and restarts its own server")
async def test_resumes_across_a_killed_and_restarted_server(etcd_prefix: str) -> None:
    with EtcdServer() as server:
        async with AsyncClient(server.endpoints) as reading, AsyncClient(server.endpoints) as writing:
            async with AsyncMirror(reading, etcd_prefix, progress_interval=0.2) as m:
                states: list[MirrorState] = []
                for i in range(100):
                    await put_retrying(writing, f"{etcd_prefix}{i % 30}", str(i))
                server.kill()
                for _ in range(100):  # no confirmation for 3 progress intervals → degraded
                    if m.state is MirrorState.DEGRADED:
                        break
                    await asyncio.sleep(0.05)
                states.append(m.state)
                server.restart()
                for i in range(100, 200):
                    last = await put_retrying(writing, f"{etcd_prefix}{i % 30}", str(i))
                await m.wait_for(last, timeout=30)
                snap = m.local_snapshot()
                assert snap.data == await server_copy(writing, etcd_prefix, snap.revision)
                assert states == [MirrorState.DEGRADED]
                assert m.relists == 0


@pytest.mark.needs_direct_server(reason="kills a cluster's leader: talks to each member")
@pytest.mark.cluster
async def test_survives_the_cluster_leader_being_killed(etcd_cluster: object, etcd_prefix: str) -> None:
    cluster = etcd_cluster
    leader = cluster.leader()  # type: ignore[attr-defined]
    endpoints = cluster.endpoints  # type: ignore[attr-defined]
    order = [endpoints[leader]] + [e for i, e in enumerate(endpoints) if i != leader]
    survivor = [e for i, e in enumerate(endpoints) if i != leader]
    try:
        async with AsyncClient(order) as reading, AsyncClient(survivor) as writing:
            async with AsyncMirror(reading, etcd_prefix) as m:
                for i in range(100):
                    await put_retrying(writing, f"{etcd_prefix}{i % 30}", str(i))
                cluster.kill(leader)  # type: ignore[attr-defined]
                for i in range(100, 200):
                    last = await put_retrying(writing, f"{etcd_prefix}{i % 30}", str(i))
                await m.wait_for(last, timeout=30)
                snap = m.local_snapshot()
                assert snap.data == await server_copy(writing, etcd_prefix, snap.revision)
    finally:
        cluster.restart(leader)  # type: ignore[attr-defined]


async def test_compaction_while_away_relists_and_emits_the_exact_diff(
    async_etcd_client: AsyncClient, etcd_prefix: str, tmp_path: Path
) -> None:
    c = async_etcd_client
    saved = tmp_path / "mirror.bin"
    for i in range(30):
        await c.put(f"{etcd_prefix}{i}", f"v{i}")
    async with AsyncMirror(c, etcd_prefix, persist=saved, page_size=4) as m:
        old = dict(m.items())
        old_revision = m.revision
    # while no mirror runs: modify, delete, add, rewrite a value unchanged, then compact
    for i in range(10):
        await c.put(f"{etcd_prefix}{i}", f"new{i}")
    for i in range(10, 20):
        await c.delete(f"{etcd_prefix}{i}")
    await c.put(f"{etcd_prefix}25", "v25")
    last = (await c.put(f"{etcd_prefix}added", "x")).header.revision
    await c.compact(last)
    m = AsyncMirror(c, etcd_prefix, persist=saved, page_size=4)
    changes = m.changes()
    async with m:
        assert m.relists == 1 and m.revision >= last
        new = dict(m.items())
        assert new == await server_copy(c, etcd_prefix, m.revision)
        batch = await changes.__anext__()
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
        await m.set("after", b"1")
        assert m["after"] == b"1"


async def test_restart_from_the_saved_copy_without_a_full_load(
    async_etcd_client: AsyncClient, etcd_prefix: str, tmp_path: Path
) -> None:
    c = async_etcd_client
    saved = tmp_path / "copy.bin"
    await c.put(f"{etcd_prefix}a", "1")
    async with AsyncMirror(c, etcd_prefix, persist=saved) as m:
        await m.set("b", b"2")
    last = (await c.put(f"{etcd_prefix}c", "3")).header.revision
    m = AsyncMirror(c, etcd_prefix, persist=saved)
    batches = m.changes()
    async with m:
        await m.wait_for(last)
        assert dict(m.items()) == {"a": b"1", "b": b"2", "c": b"3"}
        assert m.relists == 0
        batch = await batches.__anext__()
        assert batch.source == "watch" and [ch.key for ch in batch.changes] == ["c"]


class Service(msgspec.Struct):
    owner: str
    port: int


async def test_invalid_values_indexes_and_a_failing_callback(
    async_etcd_client: AsyncClient, etcd_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    c = async_etcd_client
    await c.put(f"{etcd_prefix}web", b'{"owner": "alice", "port": 80}')
    await c.put(f"{etcd_prefix}bad", b"not json")
    async with AsyncMirror(c, etcd_prefix, value_type=Service) as m:
        assert set(m.invalid) == {"bad"} and "bad" not in m
        assert isinstance(m.invalid["bad"].error, etcdmap.ValueDecodeError)
        m.add_index("owner", lambda key, s: s.owner)
        assert list(m.lookup("owner", "alice")) == ["web"]

        def explode(batch: Batch) -> None:
            raise RuntimeError("boom")

        seen: list[Batch] = []
        async with m.subscribe(explode), m.subscribe(seen.append):
            await m.set("db", Service("alice", 5432))
            await m.set("web", Service("bob", 80))
            revision = (await c.put(f"{etcd_prefix}db", b"[1, 2]")).header.revision
            await m.wait_for(revision)
            assert list(m.lookup("owner", "alice")) == []
            assert list(m.lookup("owner", "bob")) == ["web"]
            assert set(m.invalid) == {"bad", "db"}
            await m.set("bad", Service("carol", 1))
            assert "bad" not in m.invalid and m["bad"].owner == "carol"
            for _ in range(100):
                if len(seen) == 4:
                    break
                await asyncio.sleep(0.02)
        kinds = [[ch.kind for ch in b.changes] for b in seen]
        assert kinds == [[ChangeKind.ADDED], [ChangeKind.MODIFIED], [ChangeKind.INVALID], [ChangeKind.ADDED]]
        assert "boom" in caplog.text and m.state is MirrorState.READY


async def test_debounce_merges_a_config_push(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    c = async_etcd_client
    async with AsyncMirror(c, etcd_prefix, value_type=int) as m:
        seen: list[Batch] = []
        async with m.subscribe(seen.append, debounce=0.3):
            for i in range(20):
                await c.put(f"{etcd_prefix}{i}", str(i))
            await c.put(f"{etcd_prefix}0", "100")
            last = (await c.delete(f"{etcd_prefix}1")).header.revision
            await m.wait_for(last)
            for _ in range(100):
                if seen:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.1)
        assert len(seen) == 1
        batch = seen[0]
        assert batch.revision == last
        assert {ch.key: ch.new for ch in batch.changes} == {
            **{str(i): i for i in range(2, 20)}, "0": 100,
        }


async def test_keys_only_transform_state_callbacks_and_consistency(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    c = async_etcd_client
    await c.put(f"{etcd_prefix}a", b'{"x": 1, "big": "....."}')
    async with AsyncMirror(c, etcd_prefix, keys_only=True) as keys:
        assert list(keys) == ["a"] and keys["a"] is None
    states: list[tuple[MirrorState, MirrorState]] = []
    slim = AsyncMirror(
        c, etcd_prefix, codec=Json(), transform=lambda key, v: v["x"],
        on_state_change=lambda old, new: states.append((old, new)),
    )
    async with slim:
        assert slim["a"] == 1
        # a write from elsewhere, seen by a linearizable read without waiting for anything else
        await c.put(f"{etcd_prefix}b", b'{"x": 2}')
        assert await slim.read("b", consistency="linearizable") == 2
        assert await slim.count(consistency="local") == 2
        # a quiet prefix: progress notifications keep the mirror current
        other = await c.put(f"{etcd_prefix}-elsewhere", b"1")
        assert await slim.wait_for(other.header.revision, timeout=5) >= other.header.revision
        assert slim.lag == 0 and slim.last_confirmed is not None
    for _ in range(50):
        if len(states) == 2:
            break
        await asyncio.sleep(0.02)
    assert states == [
        (MirrorState.SYNCING, MirrorState.READY), (MirrorState.READY, MirrorState.CLOSED)
    ]


async def test_etcd_map_mirror_and_arguments(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    m = AsyncEtcdMap(async_etcd_client, etcd_prefix, value_type=int)
    await m.set("a", 1)
    async with AsyncMirror.of_map(m) as mirror:
        assert mirror["a"] == 1
        await mirror.update({"b": 2, "c": 3})
        assert dict(mirror.items()) == {"a": 1, "b": 2, "c": 3}
        with pytest.raises(TypeError):
            await mirror.set("d", "not an int")  # type: ignore[arg-type]
        assert await mirror.clear() == 3
        assert len(mirror) == 0
        with pytest.raises(KeyError):
            await mirror.delete("a")
        with pytest.raises(TimeoutError, match="did not reach revision"):
            await mirror.wait_for(mirror.revision + 1000, timeout=0.3)
    with pytest.raises(ValueError, match="consistency"):
        AsyncMirror(async_etcd_client, etcd_prefix, consistency="eventual")  # type: ignore[arg-type]
    with pytest.raises(etcdmap.ClientClosedError):
        await mirror.wait_for(mirror.revision + 1)


async def test_a_quiet_prefix_with_keys_is_confirmed_at_the_server_revision(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    c = async_etcd_client
    await c.put(f"{etcd_prefix}a", b"1")
    async with AsyncMirror(c, etcd_prefix) as m:
        # writes elsewhere only: no event here, and the copy is still current at their revision
        elsewhere = await c.put(f"{etcd_prefix[:-1]}-elsewhere", b"1")
        assert await m.wait_for(elsewhere.header.revision, timeout=3) >= elsewhere.header.revision
        assert await m.barrier("linearizable") >= elsewhere.header.revision
        assert m.lag == 0


async def test_a_mirror_of_a_server_nobody_writes_to_stays_ready(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    # Nothing is written after the listing, so a watch from the listed revision + 1 starts in
    # the future, and etcd >= 3.5.22 (3.4.38, 3.6.2) answers no progress request on a stream
    # with such a watch: the heartbeat heard nothing and the mirror degraded after a second.
    # Through etcd's gRPC proxy (--through-grpc-proxy), which answers none, reads confirm it.
    async with AsyncClient(etcd_server.endpoints) as client:
        await client.put(etcd_prefix + "a", "1")
        async with AsyncMirror(client, etcd_prefix, progress_interval=0.2, degraded_after=1.0) as mirror:
            quiet_until = time.monotonic() + 3.0
            while time.monotonic() < quiet_until:
                assert mirror.state is MirrorState.READY
                await asyncio.sleep(0.05)
            assert mirror.local_get("a") == b"1"


async def test_dunders_read_the_local_copy_now_and_show_the_mirror_s_own_writes(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    calls = KVCalls()
    async with AsyncClient(etcd_server.endpoints, hooks=calls) as c, AsyncClient(c.endpoints) as other:
        # no heartbeat during the test: every KV call below is one the reads made
        mirror = AsyncMirror(c, etcd_prefix, consistency="linearizable", progress_interval=30, degraded_after=90)
        async with mirror as m:
            await m.set("a", b"1")
            sent = len(calls.methods)
            assert m["a"] == b"1" and "a" in m and len(m) == 1 and list(m) == ["a"]
            assert dict(m.items()) == {"a": b"1"} and list(m.values()) == [b"1"]
            assert list(m.keys()) == ["a"]
            assert len(calls.methods) == sent  # no RPC, whatever the consistency
            # the consistency methods still wait as consistency says: here for the server
            await other.put(f"{etcd_prefix}b", "2")
            assert await m.read("b") == b"2" and len(calls.methods) > sent
            assert m["b"] == b"2" and await m.count() == 2
            await m.delete("a")
            assert "a" not in m


@pytest.mark.needs_direct_server(reason="freezes its own server")
async def test_a_degraded_mirror_s_dunders_raise_at_once_unless_its_consistency_is_local(
    etcd_prefix: str,
) -> None:
    with EtcdServer() as server:
        async with AsyncClient(server.endpoints) as c:
            checked = AsyncMirror(c, etcd_prefix, degraded_after=1.0)
            local = AsyncMirror(c, etcd_prefix, degraded_after=1.0, consistency="local")
            async with checked as m, local:
                await m.set("a", b"1")
                await local.wait_for(m.revision)
                with frozen(server):
                    deadline = time.monotonic() + 5
                    while MirrorState.READY in (m.state, local.state):
                        assert time.monotonic() < deadline, "not DEGRADED after 5 s"
                        await asyncio.sleep(0.02)
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
                    await asyncio.sleep(0.02)
                assert m["a"] == b"1"


async def test_a_write_whose_copy_lags_says_it_was_applied_and_at_which_revision(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    c = async_etcd_client
    async with AsyncMirror(c, etcd_prefix) as m:
        m.timeout = 1e-6  # a write now waits a microsecond at most for the copy to show it
        m.map.timeout = 10  # ... but its Put may take as long as it needs
        lagged = None
        for i in range(300):  # the watch often beats the Put's answer: then no wait at all
            try:
                await m.set("k", b"%d" % i)
            except MirrorLagError as error:
                lagged = error
                break
            assert m["k"] == b"%d" % i  # read-your-writes when the copy showed it in time
        assert lagged is not None, "no write outran its watch event in 300 tries"
        assert isinstance(lagged, TimeoutError) and "was applied at revision" in str(lagged)
        found = await c.get(f"{etcd_prefix}k")
        assert found.kv is not None and found.kv.mod_revision == lagged.revision
        assert found.value == b"%d" % i
        assert await m.wait_for(lagged.revision, timeout=5) >= lagged.revision
        assert m["k"] == b"%d" % i
