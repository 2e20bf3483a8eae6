# Generated from tests/_async/test_mirror_fleet.py by scripts/unasync: do not edit.
"""Mirrors started together (a fleet) against a real etcd: one listing between the mirrors
that share a ``persist=`` snapshot, a compacted shared snapshot relisted once and said so,
and a bounded ``start_jitter``.

Written for AsyncMirror; tests/_sync/test_mirror_fleet.py is generated from it by
scripts/unasync.
"""

from __future__ import annotations

import time
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from etcdmap import Client
from etcdmap._sync.mirror import Mirror
from etcdmap._core.mirror import MirrorState
from etcdmap.testing import EtcdServer

from .helpers import KVCalls


def server_copy(client: Client, prefix: str, revision: int) -> dict[str, bytes]:
    """The prefix as the server has it at ``revision`` (one range)."""
    response = client.get(prefix, prefix=True, revision=revision)
    return {kv.key[len(prefix):].decode(): kv.value for kv in response.kvs}


def start_fleet(
    client: Client, calls: KVCalls, prefix: str, count: int, **options: Any
) -> tuple[list[Mirror[bytes]], int]:
    """``count`` mirrors of ``prefix`` started at once and synced, and the number of Range
    RPCs (from ``calls``, the client's hooks) their start cost."""
    calls.methods.clear()
    mirrors = [Mirror(client, prefix, **options) for _ in range(count)]
    try:
        for m in mirrors:
            m.start()
        for m in mirrors:
            m.wait_synced(10)
    except BaseException:
        close_all(mirrors)
        raise
    return mirrors, calls.methods.count("KV/Range")


def close_all(mirrors: list[Mirror[bytes]]) -> None:
    for m in mirrors:
        m.close()


def settled(condition: Callable[[], bool]) -> None:
    """Wait until ``condition()`` holds (AssertionError after 10 seconds)."""
    for _ in range(500):
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in 10 s")


def test_mirrors_sharing_a_snapshot_list_the_prefix_once(
    etcd_server: EtcdServer, etcd_prefix: str, tmp_path: Path
) -> None:
    calls = KVCalls()
    with Client(etcd_server.endpoints, hooks=calls) as c:
        for i in range(20):
            c.put(f"{etcd_prefix}{i}", f"v{i}")
        mirrors, ranges = start_fleet(c, calls, etcd_prefix, 3, persist=tmp_path / "f.bin")
        try:
            assert ranges == 1, calls.methods
            # and each mirror then follows the writes on its own watch
            last = (c.put(f"{etcd_prefix}new", "x")).header.revision
            for m in mirrors:
                m.wait_for(last)
                snap = m.local_snapshot()
                assert snap.data == server_copy(c, etcd_prefix, snap.revision)
                assert len(snap.data) == 21
        finally:
            close_all(mirrors)


def test_a_compacted_shared_snapshot_is_relisted_once_and_said_so(
    etcd_server: EtcdServer, etcd_prefix: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    calls = KVCalls()
    shared = tmp_path / "fleet.bin"
    with Client(etcd_server.endpoints, hooks=calls) as c:
        for i in range(10):
            c.put(f"{etcd_prefix}{i}", f"v{i}")
        with Mirror(c, etcd_prefix, persist=shared) as m:
            saved_at = m.revision
        for i in range(5):
            c.put(f"{etcd_prefix}{i}", f"new{i}")
        last = (c.delete(f"{etcd_prefix}9")).header.revision
        c.compact(last)
        caplog.set_level(logging.INFO, logger="etcdmap.mirror")
        mirrors, ranges = start_fleet(c, calls, etcd_prefix, 2, persist=shared)
        try:
            assert ranges == 1, calls.methods
            for m in mirrors:
                assert m.relists == 1 and saved_at < last <= m.revision
                assert dict(m.items()) == server_copy(c, etcd_prefix, m.revision)
            said = [r.getMessage() for r in caplog.records if r.name == "etcdmap.mirror"]
            assert any(
                "compacted" in line and f"the copy saved in {shared} is older" in line
                for line in said
            ), said
            assert any("saved by another mirror" in line for line in said), said
        finally:
            close_all(mirrors)


def test_start_jitter_spreads_the_loads_within_its_bound(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    calls = KVCalls()
    jitter = 0.6
    ready: list[float] = []  # when each mirror turned READY, after its own pause

    def note(old: MirrorState, new: MirrorState) -> None:
        if new is MirrorState.READY:
            ready.append(time.monotonic() - began)

    with Client(etcd_server.endpoints, hooks=calls) as c:
        c.put(f"{etcd_prefix}a", "1")
        with pytest.raises(ValueError, match="start_jitter"):
            Mirror(c, etcd_prefix, start_jitter=-1)
        began = time.monotonic()
        mirrors, _ = start_fleet(
            c, calls, etcd_prefix, 8, start_jitter=jitter, on_state_change=note
        )
        try:
            settled(lambda: len(ready) == len(mirrors))
            # within the jitter plus a load's time on a busy machine, and not all at once
            assert max(ready) < jitter + 2.0, ready
            assert max(ready) - min(ready) > 0.05, ready
        finally:
            close_all(mirrors)
