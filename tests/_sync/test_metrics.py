# Generated from tests/_async/test_metrics.py by scripts/unasync: do not edit.
"""Metrics and hooks against a real etcd: a Prometheus scrape after a small workload.

Written for AsyncClient; tests/_sync/test_metrics.py is generated from this file by
scripts/unasync, so the blocking Client (grpc.intercept_channel) passes the same tests as
the asyncio one (interceptors given to the grpc.aio channel). Streams are instrumented on
the blocking client only (see _backends/asyncio.py), so they are not asserted here.
"""

from __future__ import annotations

import time
import logging
from typing import Any

import pytest

import etcdmap
from etcdmap import Client, Mirror
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


def test_prometheus_scrape_after_a_workload(etcd_server: EtcdServer, etcd_prefix: str) -> None:
    registry = prometheus_client.CollectorRegistry()
    trace = TraceHook()
    hooks = [PrometheusMetrics(registry), trace]
    # The first endpoint refuses connections: the read is retried on the second.
    with Client(["127.0.0.1:1", *etcd_server.endpoints], hooks=hooks, timeout=10) as c:
        c.get(etcd_prefix + "missing")
    with Client(etcd_server.endpoints, hooks=hooks, timeout=10) as c:
        for i in range(3):
            c.get(etcd_prefix + "missing")
            c.put(etcd_prefix + f"k{i}", "v")
        with pytest.raises(etcdmap.errors.FutureRevisionError):
            c.get(etcd_prefix + "k0", revision=10**9)
        written = c.put(etcd_prefix + "w", "1")
        with c.watch(etcd_prefix, prefix=True, start_revision=written.header.revision) as watcher:
            for response in watcher:
                assert response.events
                break
        lease = c.lease_grant(30)
        c.lease_keep_alive_once(lease)
        lease.revoke()
        with Mirror(c, etcd_prefix) as mirror:
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


def test_watch_resumes_are_counted_by_endpoint(etcd_prefix: str) -> None:
    registry = prometheus_client.CollectorRegistry()
    with EtcdServer() as server:
        with Client(server.endpoints, hooks=[PrometheusMetrics(registry)], timeout=5) as c:
            start = (c.put(etcd_prefix + "a", "1")).header.revision
            with c.watch(etcd_prefix, prefix=True, start_revision=start) as watcher:
                seen = [(watcher.__next__()).events[0].kv.mod_revision]
                server.kill()
                server.restart()
                for _ in range(100):  # the first writes may meet the restarting server
                    try:
                        written = c.put(etcd_prefix + "b", "2")
                        break
                    except etcdmap.EtcdError:
                        time.sleep(0.1)
                seen.append((watcher.__next__()).events[0].kv.mod_revision)
    assert seen == [start, written.header.revision]
    assert sample(registry, "etcdmap_watch_resumes_total", endpoint=server.endpoints[0]) >= 1


def test_no_hooks_no_interceptors(etcd_client: Client, etcd_prefix: str) -> None:
    c = etcd_client
    c.put(etcd_prefix + "a", "1")
    assert c._hooks is None
    channel = c._conn.channel  # type: ignore[union-attr]
    assert type(channel).__module__ != "grpc._interceptor"
    assert not getattr(channel, "_unary_unary_interceptors", None)


def test_logging_hooks(etcd_server: EtcdServer, etcd_prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="etcdmap.rpc")
    with Client(etcd_server.endpoints, hooks=LoggingHooks()) as c:
        c.put(etcd_prefix + "a", "1")
    records = [r for r in caplog.records if r.name == "etcdmap.rpc"]
    assert any(getattr(r, "rpc_method", None) == "KV/Put" and r.rpc_code == "OK" for r in records)


def test_hooks_must_be_client_hooks() -> None:
    with pytest.raises(TypeError, match="ClientHooks"):
        Client("127.0.0.1:1", hooks=[object()])  # type: ignore[list-item]
