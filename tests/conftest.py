"""Shared test helpers; the etcd fixtures come from etcdmap's own pytest plugin."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest


def _new_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    # grpc.aio's poller thread and etcdmap.testing's spawner of etcd processes (for
    # restarts from other threads) are process-wide and live as long as the interpreter.
    return [
        t
        for t in threading.enumerate()
        if t not in before and t.is_alive()
        and "_poll_wrapper" not in t.name and not t.name.startswith("etcdmap-spawner")
    ]


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves a thread running (a client, watcher or keep-alive not closed).

    gRPC ends its own helper threads shortly after a channel closes, so allow two seconds.
    """
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 2.0
    while (leaked := _new_threads(before)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not leaked, f"threads left running: {leaked}"
