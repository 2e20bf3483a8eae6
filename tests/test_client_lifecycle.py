"""How a blocking ``Client`` lives and dies outside the happy path: used inside an event loop,
or dropped without ``close()`` (sync-only: both are about threads that block)."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
import warnings
from collections.abc import Callable

import pytest

import etcdmap
from etcdmap import Client, EtcdMap
from etcdmap.concurrency import Mutex, Session
from etcdmap.testing import EtcdServer


def _threads() -> tuple[int, int]:
    """Python threads and OS threads (gRPC's C threads too) of this process."""
    return threading.active_count(), len(os.listdir("/proc/self/task"))


def _quiet() -> tuple[int, int]:
    """The thread counts once threads that were ending have ended (stable for 0.3 s)."""
    before = None
    for _ in range(50):
        gc.collect()
        if (now := _threads()) == before:
            return now
        before = now
        time.sleep(0.3)
    raise AssertionError(f"thread counts do not settle: {now}")


def _back_to(baseline: tuple[int, int], timeout: float = 10.0) -> bool:
    """Whether both thread counts come back to ``baseline`` (or below) within ``timeout``."""
    deadline = time.monotonic() + timeout
    while any(now > base for now, base in zip(_threads(), baseline, strict=True)):
        if time.monotonic() > deadline:
            return False
        gc.collect()
        time.sleep(0.05)
    return True


def test_dropped_clients_release_their_threads_and_warn(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    with Client(etcd_server.endpoints) as warm:  # gRPC's process-wide threads start once
        with warm.watch(etcd_prefix) as watcher:
            warm.put(etcd_prefix, "0")
            next(iter(watcher))
    baseline = _quiet()
    with pytest.warns(ResourceWarning, match=r"^unclosed Client\(endpoints=") as caught:
        for i in range(20):
            client = Client(etcd_server.endpoints)
            watcher = client.watch(etcd_prefix).start()
            client.put(etcd_prefix, str(i))
            next(iter(watcher))
            del client, watcher
        gc.collect()
        assert _back_to(baseline), (_threads(), baseline)
    assert len([w for w in caught if issubclass(w.category, ResourceWarning)]) == 20


def test_dropped_clients_stop_their_keep_alives(etcd_server: EtcdServer) -> None:
    with Client(etcd_server.endpoints) as warm, warm.lease_keep_alive(warm.lease_grant(5)):
        pass
    baseline = _quiet()
    with pytest.warns(ResourceWarning, match=r"^unclosed Client"):
        for _ in range(5):
            client = Client(etcd_server.endpoints)
            client.lease_keep_alive(client.lease_grant(5)).wait(0.2)
            del client
        gc.collect()
        assert _back_to(baseline), (_threads(), baseline)


def _session_and_mutex(client: Client, key: str) -> None:
    assert Mutex(Session(client, ttl=5).start(), key).acquire(timeout=5)


def _watch_callback(client: Client, key: str) -> None:
    client.add_watch_callback(key, lambda item: None)


def _auto_sync(client: Client, key: str) -> None:
    client.get(key)  # connects, which starts the auto-sync worker


_WORKERS: dict[str, tuple[dict[str, float], Callable[[Client, str], None]]] = {
    "session": ({}, _session_and_mutex),
    "watch-callback": ({}, _watch_callback),
    "auto-sync": ({"auto_sync_interval": 0.2}, _auto_sync),
}


@pytest.mark.parametrize("running", list(_WORKERS))
def test_dropped_clients_stop_their_workers(
    etcd_server: EtcdServer, etcd_prefix: str, running: str
) -> None:
    # A worker of the client (or of an object the user dropped with it) must not keep it
    # alive: the client is collected, its finalizer ends the worker and warns.
    options, start = _WORKERS[running]
    with Client(etcd_server.endpoints, **options) as warm:
        start(warm, f"{etcd_prefix}warm")
    baseline = _quiet()
    with pytest.warns(ResourceWarning, match=r"^unclosed Client") as caught:
        for i in range(5):
            client = Client(etcd_server.endpoints, **options)
            start(client, f"{etcd_prefix}{i}")
            del client
        gc.collect()
        assert _back_to(baseline), (_threads(), baseline)
    assert len([w for w in caught if issubclass(w.category, ResourceWarning)]) == 5


def test_a_closed_or_unused_client_does_not_warn(etcd_server: EtcdServer) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = Client(etcd_server.endpoints)
        client.status(etcd_server.endpoints[0])
        client.close()
        unused = Client(etcd_server.endpoints)
        del client, unused
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_blocking_calls_inside_an_event_loop_warn_once(
    etcd_client: Client, etcd_prefix: str
) -> None:
    m: EtcdMap[bytes] = EtcdMap(etcd_client, etcd_prefix)

    async def in_loop() -> None:
        with pytest.warns(RuntimeWarning, match="blocking call .* use AsyncClient") as caught:
            m["a"] = b"1"
            assert m["a"] == b"1"
            etcd_client.get(etcd_prefix)
        assert len(caught) == 1
        assert caught[0].filename == __file__  # points at the caller's line

    asyncio.run(in_loop())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert m["a"] == b"1"  # no loop in this thread: no warning


def test_other_clients_warn_for_themselves(etcd_server: EtcdServer) -> None:
    async def in_loop() -> None:
        with Client(etcd_server.endpoints) as one, Client(etcd_server.endpoints) as two:
            for client in (one, two):
                with pytest.warns(RuntimeWarning, match=r"Client\(endpoints="):
                    client.get("/x")
        async with etcdmap.AsyncClient(etcd_server.endpoints) as client:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                await client.get("/x")

    asyncio.run(in_loop())
