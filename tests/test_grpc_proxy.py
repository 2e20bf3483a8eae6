"""Tests for etcdmap.testing.EtcdProxy: etcd's gRPC proxy in front of a real server or cluster."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from _sync.helpers import KVCalls

import etcdmap
from etcdmap import AsyncClient, AsyncMirror, Op
from etcdmap.testing import EtcdCluster, EtcdProxy, EtcdServer, EtcdStartError
from etcdmap.testing._metrics import scrape, total

#: etcd binaries of other versions (as in test_testing.py; CI sets it from scripts/etcd-servers).
OTHER_BINARIES = [
    p for p in os.environ.get("ETCDMAP_TEST_ETCD_BINARIES", "").split(os.pathsep) if p
]


@pytest.fixture(scope="module")
def server() -> Iterator[EtcdServer]:
    with EtcdServer() as srv:
        yield srv


def _metrics(proxy: EtcdProxy) -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(proxy.metrics_url, timeout=5) as resp:
        return str(resp.read().decode())


@pytest.mark.parametrize("binary", [None, *OTHER_BINARIES])
def test_proxy_in_front_of_a_server(binary: str | None) -> None:
    with EtcdServer(binary=binary) as srv, EtcdProxy(srv) as proxy:
        assert proxy.running and proxy.endpoints == [proxy.endpoint] != srv.endpoints
        with etcdmap.Client(proxy.endpoints) as client:
            client.put(b"/proxy/k", b"through")
        assert srv.etcdctl("get", "/proxy/k", "--print-value-only").strip() == "through"
        assert "grpc_proxy_cache" in _metrics(proxy)  # the proxy's own metrics, not etcd's


@pytest.mark.cluster
def test_proxy_in_front_of_a_cluster_survives_a_member() -> None:
    with EtcdCluster(3) as cluster, EtcdProxy(cluster) as proxy:
        proxy.etcdctl("put", "/proxy/c", "1")
        for member in cluster.members:
            assert member.etcdctl("get", "/proxy/c", "--print-value-only").strip() == "1"
        cluster.kill(0)
        try:
            cluster.leader(timeout=20)
            assert proxy.etcdctl("put", "/proxy/c", "2", timeout=20).strip() == "OK"
        finally:
            cluster.restart(0)
        assert cluster.members[0].etcdctl("get", "/proxy/c", "--print-value-only").strip() == "2"


def test_kill_and_restart_keep_the_endpoint(server: EtcdServer) -> None:
    with EtcdProxy(server) as proxy:
        endpoint, pid = proxy.endpoint, proxy.pid
        proxy.kill()
        assert not proxy.running and proxy.pid is None
        server.etcdctl("put", "/proxy/r", "while down")
        proxy.restart()
        assert proxy.endpoint == endpoint and proxy.pid not in (None, pid)
        assert proxy.etcdctl("get", "/proxy/r", "--print-value-only").strip() == "while down"
        tmp = os.path.dirname(proxy.log_path)
    assert not proxy.running and not os.path.exists(tmp)


def test_namespace_prefixes_every_key(server: EtcdServer) -> None:
    with EtcdProxy(server, namespace="/tenant/") as proxy:
        proxy.etcdctl("put", "k", "v")
    assert server.etcdctl("get", "/tenant/k", "--print-value-only").strip() == "v"


def test_bad_start_raises_with_the_proxy_output(server: EtcdServer) -> None:
    proxy = EtcdProxy(server, extra_args=("--no-such-flag",), start_timeout=10)
    with pytest.raises(EtcdStartError, match="(?s)grpc-proxy exited.*no-such-flag"):
        proxy.start()
    assert not proxy.running
    proxy.stop()


def test_no_serving_upstream_raises_at_the_deadline(server: EtcdServer) -> None:
    server.kill()
    try:
        with pytest.raises(EtcdStartError, match="not serving after 2.0s"):
            EtcdProxy(server, start_timeout=2).start()
    finally:
        server.restart()


def _states(mirror: etcdmap.Mirror, seconds: float) -> list[etcdmap.MirrorState]:
    """The mirror's states, each change once, over `seconds`."""
    seen = [mirror.state]
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        if mirror.state is not seen[-1]:
            seen.append(mirror.state)
        time.sleep(0.02)
    return seen


def test_a_quiet_mirror_through_the_proxy_stays_ready(server: EtcdServer) -> None:
    # The proxy answers no progress request (it logs "not supported request type"): the
    # heartbeat confirms the copy by a read instead, once it saw a request go unanswered.
    with EtcdProxy(server) as proxy, etcdmap.Client(proxy.endpoints) as client:
        client.put("/proxy/quiet/a", "1")
        with etcdmap.Mirror(
            client, "/proxy/quiet/", progress_interval=0.2, degraded_after=1.0
        ) as m:
            assert _states(m, 2.5) == [etcdmap.MirrorState.READY]
            revision = client.put("/proxy/quiet/b", "2").header.revision
            assert m.wait_for(revision, timeout=5) >= revision
            assert m.local_get("b") == b"2" and m.state is etcdmap.MirrorState.READY


@pytest.mark.parametrize("binary", [None, *OTHER_BINARIES])
def test_a_quiet_mirror_of_a_server_is_confirmed_by_progress_not_reads(binary: str | None) -> None:
    # The same quiet mirror straight to a server at the copy's revision: it watches from that
    # revision, not the next (etcd >= 3.5.22 answers no progress request while a watch starts
    # in the future), so the server answers its progress requests and it reads nothing.
    calls = KVCalls()
    with EtcdServer(binary=binary) as srv, etcdmap.Client(srv.endpoints, hooks=calls) as client:
        client.put("/direct/quiet/a", "1")
        with etcdmap.Mirror(
            client, "/direct/quiet/", progress_interval=0.2, degraded_after=1.0
        ) as m:
            listed = len(calls.methods)
            assert _states(m, 2.0) == [etcdmap.MirrorState.READY]
            assert "KV/Txn" not in calls.methods[listed:], calls.methods[listed:]


def test_a_mirror_whose_watch_is_behind_the_server_turns_degraded(server: EtcdServer) -> None:
    # The proxy frozen, a write straight to the server: the copy is stale, and no read through
    # the proxy may claim it is current; thawed, the watch brings the write and READY back.
    ready, degraded = etcdmap.MirrorState.READY, etcdmap.MirrorState.DEGRADED
    with EtcdProxy(server) as proxy, etcdmap.Client(proxy.endpoints) as client:
        client.put("/proxy/behind/a", "1")
        with etcdmap.Mirror(
            client, "/proxy/behind/", progress_interval=0.2, degraded_after=1.0, timeout=5.0
        ) as m, etcdmap.Client(server.endpoints) as direct:
            assert _states(m, 1.5) == [ready]
            proxy.kill(signal.SIGSTOP)
            try:
                revision = direct.put("/proxy/behind/b", "2").header.revision
                assert _states(m, 1.5) == [ready, degraded]
                assert m.local_get("b") is None
            finally:
                proxy.kill(signal.SIGCONT)
            assert m.wait_for(revision, timeout=5) >= revision
            assert m.local_get("b") == b"2"
            assert _states(m, 0.5)[-1] is ready


def test_a_quiet_mirror_through_the_proxy_stays_ready_with_server_progress_notifications() -> None:
    # the remedy: the server's own progress notifications (more often than
    # the mirror's degraded_after) pass through the proxy and confirm the watch
    interval = ("--experimental-watch-progress-notify-interval", "200ms")
    with EtcdServer(extra_args=interval) as srv, EtcdProxy(srv) as proxy:
        with etcdmap.Client(proxy.endpoints) as client:
            client.put("/proxy/notified/a", "1")
            with etcdmap.Mirror(client, "/proxy/notified/", degraded_after=1.0) as m:
                assert _states(m, 2.0) == [etcdmap.MirrorState.READY]


def _server_watchers(server: EtcdServer) -> int:
    return round(total(scrape(server.metrics_url), "etcd_debugging_mvcc_watcher_total"))


async def test_a_fleet_of_mirrors_through_the_proxy_shares_one_server_watcher(
    server: EtcdServer,
) -> None:
    # 30 mirrors of one prefix start through one proxy within 0.3 s, then a writer puts. The
    # proxy lets a watch share a server watcher only if that one has delivered nothing after
    # the watch's start revision, and merges only server watchers of fewer than 5 watches:
    # mirrors watching from their copy's own revision (which the shared watcher delivered)
    # made groups of their own. From the next revision they all join one, losing no event.
    prefix, count = "/proxy/fleet/", 30
    with EtcdProxy(server) as proxy:
        async with AsyncClient(server.endpoints) as writer:
            await writer.txn(success=[Op.put(f"{prefix}{i:03d}", "v") for i in range(50)])
            before = _server_watchers(server)  # the proxy's own watchers included
            clients = [AsyncClient(proxy.endpoints) for _ in range(count)]
            mirrors = [AsyncMirror(c, prefix, start_jitter=0.3) for c in clients]
            try:
                for m in mirrors:
                    await m.start()
                deadline = time.monotonic() + 10
                while any(m.state is not etcdmap.MirrorState.READY for m in mirrors):
                    assert time.monotonic() < deadline, [m.state for m in mirrors]
                    await asyncio.sleep(0.05)
                for i in range(20):
                    last = (await writer.put(f"{prefix}w{i % 5}", str(i))).header.revision
                for m in mirrors:
                    await m.wait_for(last, timeout=5)
                    snap = m.local_snapshot()
                    got = await writer.get(prefix, prefix=True, revision=snap.revision)
                    cut = len(prefix)
                    assert snap.data == {kv.key[cut:].decode(): kv.value for kv in got.kvs}
                assert _server_watchers(server) - before <= 2
            finally:
                for m in mirrors:
                    await m.aclose()
                for c in clients:
                    await c.aclose()


def test_target_must_be_a_server_or_cluster() -> None:
    with pytest.raises(TypeError, match="target="):
        EtcdProxy(["127.0.0.1:2379"])  # type: ignore[arg-type]  # the wrong type is the test


_PLUGIN_TESTS = """
import pytest
from etcdmap.pytest_plugin import ProxiedEtcd

def test_proxied(etcd_server):
    assert isinstance(etcd_server, ProxiedEtcd)
    assert etcd_server.endpoints == etcd_server.proxy.endpoints != etcd_server.server.endpoints
    assert etcd_server.etcdctl("put", "/plugin/k", "v").strip() == "OK"
    with pytest.raises(RuntimeError, match="needs_direct_server"):
        etcd_server.kill()

@pytest.mark.needs_direct_server(reason="kills its server")
def test_direct():
    pass

@pytest.mark.needs_direct_server
def test_no_reason():
    pass
"""


def test_the_plugin_option_hands_out_the_proxy_and_skips_marked_tests(tmp_path: Path) -> None:
    (tmp_path / "test_plugin_proxy.py").write_text(_PLUGIN_TESTS)
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    args = ["-p", "no:randomly", "-p", "no:cacheprovider", "-rs", "--through-grpc-proxy"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *args, "test_plugin_proxy.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    out = result.stdout + result.stderr
    assert "1 passed, 1 skipped, 1 error" in out, out
    assert "needs the etcd server itself, not a gRPC proxy: kills its server" in out
    assert "test_no_reason: needs_direct_server(reason=...) needs a reason" in out
