"""Metrics and hooks against a real etcd: a Prometheus scrape after a small workload.

Written for AsyncClient; tests/_sync/test_metrics.py is generated from this file by
scripts/unasync, so the blocking Client (grpc.intercept_channel) passes the same tests as
the asyncio one (interceptors given to the grpc.aio channel). Streams are instrumented on
the blocking client only (see _backends/asyncio.py), so they are not asserted here.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

import etcdmap
from etcdmap import AsyncClient, AsyncMirror
from etcdmap.metrics import ClientHooks, LoggingHooks, PrometheusMetrics
from etcdmap.testing import EtcdServer

prometheus_client = pytest.importorskip("prometheus_client")


def sample(registry: Any, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else float(value)


class TraceHook(ClientHooks):
    """An OpenTelemetry-style hook: adds a trace header and pairs start with finish."""

    def __init__(self) -> None:
        self.finished: list[tuple[str, str, object]] = []

    def rpc_started(self, method: str, metadata: list[tuple[str, str]]) -> object:
        metadata.append(("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))
        return f"span:{method}"

    def rpc_finished(self, method: str, code: str, seconds: float, state: object) -> None:
        assert seconds >= 0
        self.finished.append((method, code, state))


async def test_prometheus_scrape_after_a_workload(etcd_server: EtcdServer, etcd_prefix: str) -> None:
    registry = prometheus_client.CollectorRegistry()
    trace = TraceHook()
    hooks = [PrometheusMetrics(registry), trace]
    # The first endpoint refuses connections: the read is retried on the second.
    async with AsyncClient(["127.0.0.1:1", *etcd_server.endpoints], hooks=hooks, timeout=10) as c:
        await c.get(etcd_prefix + "missing")
    async with AsyncClient(etcd_server.endpoints, hooks=hooks, timeout=10) as c:
        for i in range(3):
            await c.get(etcd_prefix + "missing")
            await c.put(etcd_prefix + f"k{i}", "v")
        with pytest.raises(etcdmap.errors.FutureRevisionError):
            await c.get(etcd_prefix + "k0", revision=10**9)
        written = await c.put(etcd_prefix + "w", "1")
        async with c.watch(etcd_prefix, prefix=True, start_revision=written.header.revision) as watcher:
            async for response in watcher:
                assert response.events
                break
        lease = await c.lease_grant(30)
        await c.lease_keep_alive_once(lease)
        await lease.revoke()
        async with AsyncMirror(c, etcd_prefix) as mirror:
            assert len(mirror) == 4
    text = prometheus_client.generate_latest(registry).decode()
    assert 'etcdmap_rpc_handled_total{code="OK",method="KV/Put"} 4.0' in text
    assert sample(registry, "etcdmap_rpc_handled_total", method="KV/Range", code="OK") >= 3
    assert sample(registry, "etcdmap_rpc_handled_total", method="KV/Range", code="OUT_OF_RANGE") >= 1
    assert sample(registry, "etcdmap_rpc_retries_total", method="KV/Range", code="UNAVAILABLE") >= 1
    assert sample(registry, "etcdmap_rpc_handled_total", method="KV/Range", code="UNAVAILABLE") >= 1
    assert sample(registry, "etcdmap_rpc_duration_seconds_count", method="KV/Put") == 4
    assert sample(registry, "etcdmap_rpc_handled_total", method="Lease/LeaseGrant", code="OK") == 1
    assert registry.get_sample_value("etcdmap_mirror_lag_revisions", {"mirror": etcd_prefix}) == 0
    assert ("KV/Put", "OK", "span:KV/Put") in trace.finished


async def test_watch_resumes_are_counted_by_endpoint(etcd_prefix: str) -> None:
    registry = prometheus_client.CollectorRegistry()
    with EtcdServer() as server:
        async with AsyncClient(server.endpoints, hooks=[PrometheusMetrics(registry)], timeout=5) as c:
            start = (await c.put(etcd_prefix + "a", "1")).header.revision
            async with c.watch(etcd_prefix, prefix=True, start_revision=start) as watcher:
                seen = [(await watcher.__anext__()).events[0].kv.mod_revision]
                server.kill()
                server.restart()
                for _ in range(100):  # the first writes may meet the restarting server
                    try:
                        written = await c.put(etcd_prefix + "b", "2")
                        break
                    except etcdmap.EtcdError:
                        await asyncio.sleep(0.1)
                seen.append((await watcher.__anext__()).events[0].kv.mod_revision)
    assert seen == [start, written.header.revision]
    assert sample(registry, "etcdmap_watch_resumes_total", endpoint=server.endpoints[0]) >= 1


async def test_no_hooks_no_interceptors(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    c = async_etcd_client
    await c.put(etcd_prefix + "a", "1")
    assert c._hooks is None
    channel = c._conn.channel  # type: ignore[union-attr]
    assert type(channel).__module__ != "grpc._interceptor"
    assert not getattr(channel, "_unary_unary_interceptors", None)


async def test_logging_hooks(etcd_server: EtcdServer, etcd_prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="etcdmap.rpc")
    async with AsyncClient(etcd_server.endpoints, hooks=LoggingHooks()) as c:
        await c.put(etcd_prefix + "a", "1")
    records = [r for r in caplog.records if r.name == "etcdmap.rpc"]
    assert any(getattr(r, "rpc_method", None) == "KV/Put" and r.rpc_code == "OK" for r in records)


def test_hooks_must_be_client_hooks() -> None:
    with pytest.raises(TypeError, match="ClientHooks"):
        AsyncClient("127.0.0.1:1", hooks=[object()])  # type: ignore[list-item]
