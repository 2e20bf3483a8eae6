"""Outages of a lone server (SIGKILL, or SIGSTOP: the connection stays open and nothing
answers): a mirror turns DEGRADED within its bound and READY again once its watch is confirmed
at the server's revision; every close is bounded; the logs say one line per change.

Written for AsyncClient; tests/_sync/test_outage.py is generated from it by scripts/unasync.
The 30 s recovery case is in tests/test_outage_recovery.py (once, not per flavour).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time

import pytest

import etcdmap
from etcdmap import AsyncClient
from etcdmap._async.mirror import AsyncMirror
from etcdmap._core.mirror import MirrorState
from etcdmap.testing import EtcdServer
from etcdmap.testing.nemeses import outage

SIGNALS = [pytest.param(signal.SIGKILL, id="kill"), pytest.param(signal.SIGSTOP, id="stop")]


async def seconds_until(mirror: AsyncMirror[bytes], state: MirrorState, limit: float) -> float:
    """Seconds until ``mirror`` is in ``state`` (AssertionError after ``limit``)."""
    start = time.monotonic()
    while mirror.state is not state:
        if time.monotonic() - start > limit:
            raise AssertionError(f"{mirror!r} not {state.value} after {limit} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - start


@pytest.mark.parametrize("sig", SIGNALS)
async def test_mirror_degrades_within_its_bound_and_is_ready_once_current(
    sig: int, etcd_prefix: str
) -> None:
    changes: list[tuple[MirrorState, MirrorState]] = []
    with EtcdServer() as server:
        async with AsyncClient(server.endpoints) as client:
            mirror = AsyncMirror(
                client, etcd_prefix, degraded_after=3.0,
                on_state_change=lambda old, new: changes.append((old, new)),
            )  # fmt: skip
            async with mirror:
                await mirror.set("a", b"1")
                await asyncio.sleep(1.5)  # quiet, and confirmed by progress notifications
                assert mirror.state is MirrorState.READY
                with outage(server, sig):
                    # within the bound (polled every 20 ms, and the kill itself takes a moment)
                    assert await seconds_until(mirror, MirrorState.DEGRADED, 5.0) <= 3.0
                    assert mirror.local_get("a") == b"1"  # the last copy still answers local reads
                    for consistency in ("linearizable", "session"):
                        started = time.monotonic()
                        with pytest.raises(etcdmap.EtcdError):
                            await mirror.read("a", consistency=consistency)  # type: ignore[arg-type]
                        assert time.monotonic() - started <= 2.5  # failed fast, typed
                async with AsyncClient(server.endpoints) as writer:
                    written = (await writer.put(etcd_prefix + "b", "2", timeout=10)).header.revision
                await seconds_until(mirror, MirrorState.READY, 10.0)
                assert await mirror.wait_for(written, timeout=5) >= written
                assert mirror.local_get("b") == b"2"
                assert await mirror.read("b", consistency="linearizable") == b"2"
    for _ in range(50):
        if len(changes) == 4:
            break
        await asyncio.sleep(0.02)
    assert changes == [
        (MirrorState.SYNCING, MirrorState.READY), (MirrorState.READY, MirrorState.DEGRADED),
        (MirrorState.DEGRADED, MirrorState.READY), (MirrorState.READY, MirrorState.CLOSED),
    ]


@pytest.mark.parametrize("sig", SIGNALS)
async def test_every_close_is_bounded_whatever_the_server_does(sig: int, etcd_prefix: str) -> None:
    with EtcdServer() as server:
        client = AsyncClient(server.endpoints)
        try:
            mirror = await AsyncMirror(client, etcd_prefix).start()
            await mirror.wait_synced(10)
            watcher = await client.watch(etcd_prefix + "w").start()
            lease = await client.lease_grant(30)
            keeper = await lease.keep_alive()
            with outage(server, sig):
                await asyncio.sleep(1.0)  # the outage under way, the mirror still READY
                for name, close in [
                    ("mirror", mirror.aclose), ("watcher", watcher.cancel),
                    ("keep-alive", keeper.stop), ("client", client.aclose),
                ]:  # fmt: skip
                    started = time.monotonic()
                    await close()
                    took = time.monotonic() - started
                    assert took <= 5.0, f"{name} took {took:.1f} s to close"
        finally:
            await client.aclose()


async def test_a_client_answers_soon_after_its_server_is_back(etcd_prefix: str) -> None:
    # grpcio 1.63-1.75 noticed a blocking channel's reconnection only at its backup poll,
    # every 5 s: calls failed for seconds after the server was back.
    with EtcdServer() as server:
        async with AsyncClient(server.endpoints, timeout=1) as client:
            await client.put(etcd_prefix + "k", "v")
            with outage(server):
                down_until = time.monotonic() + 2.0
                while time.monotonic() < down_until:  # failed reconnections back the channel off
                    with pytest.raises(etcdmap.EtcdError):  # refused, or timed out connecting
                        await client.get(etcd_prefix + "k")
            started = time.monotonic()
            assert (await client.get(etcd_prefix + "k", timeout=10)).kvs
            assert time.monotonic() - started < 2.0


async def test_an_outage_logs_one_line_per_change(
    etcd_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="etcdmap")
    with EtcdServer() as server:
        async with AsyncClient(server.endpoints) as client:
            async with AsyncMirror(client, etcd_prefix, degraded_after=1.0) as mirror:
                lease = await client.lease_grant(30)
                async with await lease.keep_alive():
                    with outage(server, signal.SIGKILL):
                        await seconds_until(mirror, MirrorState.DEGRADED, 3.0)
                        await asyncio.sleep(3.0)  # several retries of each stream
                    await seconds_until(mirror, MirrorState.READY, 10.0)
    records = [r for r in caplog.records if r.name.startswith("etcdmap")]
    for record in records:
        text = record.getMessage()
        assert "\n" not in text and record.exc_info is None, text
        assert "<_MultiThreadedRendezvous" not in text and "<AioRpcError" not in text, text
    warnings = [r.getMessage() for r in records if r.levelno >= logging.WARNING]
    # one each: the watch stream lost, the keep-alive stream lost, the mirror degraded
    assert len(warnings) == 3, warnings
    assert any("watch" in w and server.endpoint in w and "retry in" in w for w in warnings)
    assert any("keep-alive" in w and server.endpoint in w and "retry in" in w for w in warnings)
    assert any("degraded" in w for w in warnings)
    assert len([r for r in records if r.levelno == logging.DEBUG]) >= 2  # repeats, quietly
