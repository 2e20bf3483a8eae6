"""Shared test helpers; the etcd fixtures come from etcdmap's own pytest plugin."""

from __future__ import annotations

import threading

import pytest


@pytest.fixture(autouse=True)
def no_leaked_threads() -> object:
    """Fail a test that leaves a new thread running (a client or watcher not closed)."""
    before = set(threading.enumerate())
    yield
    leaked = [
        t for t in threading.enumerate()
        if t not in before and t.is_alive() and "_poll_wrapper" not in t.name  # grpc.aio poller, process-wide
    ]
    assert not leaked, f"threads left running: {leaked}"
