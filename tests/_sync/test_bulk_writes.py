# Generated from tests/_async/test_bulk_writes.py by scripts/unasync: do not edit.
"""Bulk writes against a real etcd: ``update()`` and ``copy_prefix`` split into Txns under the
server's ``--max-txn-ops`` and ``--max-request-bytes``, write nothing when a value cannot fit,
and report exactly which keys a failure midway left written.

Written for AsyncEtcdMap; tests/_sync/test_bulk_writes.py is generated from it by
scripts/unasync.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import pytest

import etcdmap
from etcdmap import Client, EtcdMap
from etcdmap.metrics import ClientHooks
from etcdmap.syncer import PrefixCopy
from etcdmap.testing import EtcdServer

from .helpers import KVCalls

KB = 1024


@pytest.fixture(scope="module")
def small_server() -> Iterator[EtcdServer]:
    """A server allowing 4 ops per Txn and 64 KiB per request."""
    with EtcdServer(extra_args=("--max-txn-ops", "4", "--max-request-bytes", str(64 * KB))) as srv:
        yield srv


def stored(client: Client, prefix: str) -> set[str]:
    response = client.get(prefix, prefix=True, keys_only=True, timeout=10)
    return {kv.key.decode()[len(prefix):] for kv in response.kvs}


def mixed() -> dict[str, bytes]:
    """128 small values and 20 of 100 KB: about 2 MB, over one request of etcd's default."""
    data = {f"small{i:03}": b"s" for i in range(128)}
    data.update({f"big{i:02}": b"b" * (100 * KB) for i in range(20)})
    return data


def test_update_splits_by_bytes_and_ops(etcd_server: EtcdServer, etcd_prefix: str) -> None:
    with Client(etcd_server.endpoints, timeout=30) as client:
        m: EtcdMap[bytes] = EtcdMap(client, etcd_prefix)
        data = mixed()
        result = m.update(data)
        assert result.written == 148 and not result.atomic and result.transactions >= 3
        assert stored(client, etcd_prefix) == set(data)
        listed = etcd_server.etcdctl("get", etcd_prefix, "--prefix", "--keys-only")
        assert sum(1 for line in listed.splitlines() if line) == 148


def test_what_cannot_fit_is_refused_before_anything_is_sent(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    calls = KVCalls()
    with Client(etcd_server.endpoints, hooks=[calls]) as client:
        m: EtcdMap[bytes] = EtcdMap(client, etcd_prefix)
        data = {**mixed(), "huge": b"h" * (1600 * KB)}
        with pytest.raises(etcdmap.RequestTooLargeError, match="'huge'.*nothing was sent"):
            m.update(data)
        with pytest.raises(TypeError, match="'bad'"):
            m.update({"a": b"1", "bad": 3})  # type: ignore[dict-item]
        # atomic=True: one Txn or nothing sent
        big = {key: value for key, value in mixed().items() if key.startswith("big")}
        with pytest.raises(etcdmap.RequestTooLargeError, match="atomic=True"):
            m.update(big, atomic=True)
        with pytest.raises(etcdmap.errors.TooManyOpsError, match="atomic=True"):
            m.update({f"k{i}": b"v" for i in range(129)}, atomic=True)
        assert calls.methods == []
        assert stored(client, etcd_prefix) == set()
        calls.methods.clear()
        result = m.update({f"k{i}": b"v" for i in range(128)}, atomic=True)
        assert result.atomic and result.transactions == 1 and calls.methods == ["KV/Txn"]


def test_limits_of_a_smaller_server(small_server: EtcdServer, etcd_prefix: str) -> None:
    with Client(small_server.endpoints) as client:
        # told the server's limits: every Txn fits
        m: EtcdMap[bytes] = EtcdMap(
            client, etcd_prefix + "told/", max_txn_ops=4, max_request_bytes=64 * KB
        )
        data = {f"k{i:02}": b"v" * (20 * KB) for i in range(10)}
        assert (m.update(data)).written == 10
        assert stored(client, etcd_prefix + "told/") == set(data)
        # not told: too many ops per Txn is learnt (a refused Txn applied nothing) ...
        m = EtcdMap(client, etcd_prefix + "ops/")
        small = {f"k{i:02}": b"v" for i in range(10)}
        assert (m.update(small)).written == 10
        assert stored(client, etcd_prefix + "ops/") == set(small)
        # ... but a request too large midway stops it, saying exactly what was written
        m = EtcdMap(client, etcd_prefix + "bytes/", max_txn_ops=4)
        data = {**{f"a{i}": b"v" for i in range(8)}, "big": b"b" * (100 * KB), "z": b"v"}
        with pytest.raises(etcdmap.PartialWriteError) as caught:
            m.update(data)
        error = caught.value
        assert isinstance(error, etcdmap.RequestTooLargeError)
        assert error.written == [f"a{i}" for i in range(8)]
        assert error.not_written == ["big", "z"] and error.unknown == []
        assert stored(client, etcd_prefix + "bytes/") == set(error.written)


class KillOnSecondTxn(ClientHooks):
    """Kills ``server`` as the second KV/Txn starts: the first Txn is written, the second
    never arrives (or its outcome is unknown)."""

    def __init__(self, server: EtcdServer) -> None:
        self.server = server
        self.txns = 0

    def rpc_started(self, method: str, metadata: list[tuple[str, str]]) -> object:
        if method == "KV/Txn":
            self.txns += 1
            if self.txns == 2:
                self.server.kill()
        return None


def test_a_server_dying_midway_leaves_exactly_the_reported_keys(
    etcd_prefix: str,
) -> None:
    with EtcdServer() as server:
        hook = KillOnSecondTxn(server)
        with Client(server.endpoints, timeout=3, hooks=[hook]) as client:
            m: EtcdMap[bytes] = EtcdMap(client, etcd_prefix, max_txn_ops=4)
            data = {f"k{i:02}": b"v" for i in range(10)}
            with pytest.raises(etcdmap.PartialWriteError) as caught:
                m.update(data)
            error = caught.value
            assert isinstance(error, etcdmap.EtcdError) and error.written == list(data)[:4]
            assert error.written + error.unknown + error.not_written == list(data)
            assert isinstance(error, etcdmap.OutcomeUnknownError) == bool(error.unknown)
            assert isinstance(error, type(error.cause))
            server.restart()
            assert stored(client, etcd_prefix) == set(error.written)


def test_copy_prefix_splits_by_bytes_and_ops(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    source, target = etcd_prefix + "src/", etcd_prefix + "dst/"
    with Client(etcd_server.endpoints, timeout=30) as client:
        m: EtcdMap[bytes] = EtcdMap(client, source)
        data = mixed()
        m.update(data)
        with PrefixCopy(client, client, source, target) as copy:
            # the base copy, then changes too big for one Txn together (one revision each)
            assert copy.wait_for(m.revision, timeout=30), copy.error
            assert stored(client, target) == set(data)
            m.update({f"big{i:02}": b"c" * (100 * KB) for i in range(20)})
            assert copy.wait_for(m.revision, timeout=30), copy.error
        changed = client.get(target + "big19", timeout=10)
        assert changed.kvs[0].value == b"c" * (100 * KB)


def test_copy_prefix_of_a_value_too_large_for_the_destination_stops_before_writing(
    small_server: EtcdServer, etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    with Client(etcd_server.endpoints) as source, Client(
        small_server.endpoints
    ) as destination:
        source.put(etcd_prefix + "a", "1")
        source.put(etcd_prefix + "huge", b"h" * (100 * KB))
        copy = PrefixCopy(
            source, destination, etcd_prefix, max_txn_ops=4, max_request_bytes=64 * KB
        )
        with copy:
            with pytest.raises(etcdmap.RequestTooLargeError, match="huge.*nothing was sent"):
                copy.wait_for(10**9, timeout=10)
            assert not copy.running
        assert stored(destination, etcd_prefix) == set()


def test_copy_prefix_into_a_destination_dying_midway_says_what_it_wrote(
    etcd_server: EtcdServer, etcd_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    reports: list[etcdmap.syncer.CopyProgress] = []
    with Client(etcd_server.endpoints) as source:
        data = {f"k{i:02}": b"v" for i in range(10)}
        EtcdMap(source, etcd_prefix).update(data)
        with EtcdServer() as server:
            hook = KillOnSecondTxn(server)
            with Client(server.endpoints, timeout=1, hooks=[hook]) as destination:
                copy = PrefixCopy(
                    source, destination, etcd_prefix, max_txn_ops=4, timeout=1,
                    retry_timeout=2, progress=reports.append,
                )  # fmt: skip
                with copy:
                    started = time.monotonic()
                    with pytest.raises(etcdmap.PartialWriteError) as caught:
                        copy.wait_for(10**9, timeout=30)
                    assert 2 <= time.monotonic() - started < 8 and not copy.running
                error = caught.value
                names = [(etcd_prefix + key).encode() for key in data]
                assert error.written == names[:4] and error.complete_revision == 0
                assert error.written + error.unknown + error.not_written == names
                assert isinstance(error, etcdmap.OutcomeUnknownError) == bool(error.unknown)
                assert isinstance(error, type(error.cause)) and copy.error is error
                # visible while it retried: progress reports and one WARNING line
                assert reports[-1].failures > 0 and reports[-1].last_error
                warnings = [r for r in caplog.records if r.levelname == "WARNING"]
                assert len([r for r in warnings if "copy of" in r.getMessage()]) == 1
                server.restart()
                assert stored(destination, etcd_prefix) == {
                    name.decode()[len(etcd_prefix):] for name in error.written
                }


def test_copy_prefix_to_a_destination_that_stays_down_ends_within_its_bound(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    with Client(etcd_server.endpoints) as source:
        source.put(etcd_prefix + "a", "1")
        with EtcdServer() as server:
            with Client(server.endpoints, timeout=1) as destination:
                with PrefixCopy(
                    source, destination, etcd_prefix, timeout=1, retry_timeout=1.5
                ) as copy:
                    assert copy.wait_for(1, timeout=10), copy.error
                    complete = copy.revision
                    server.kill()
                    started = time.monotonic()
                    source.put(etcd_prefix + "b", "2")
                    with pytest.raises(etcdmap.PartialWriteError) as caught:
                        copy.wait_for(10**9, timeout=30)
                    assert 1.5 <= time.monotonic() - started < 6
                error = caught.value
                assert error.complete_revision == complete and error.written == []
                assert error.not_written + error.unknown == [(etcd_prefix + "b").encode()]
                assert isinstance(error, etcdmap.TransportError)
                server.restart()


def test_copy_prefix_retry_timeout_is_checked(etcd_server: EtcdServer) -> None:
    with Client(etcd_server.endpoints) as client:
        for bad, kind in ((-1, ValueError), (math.inf, ValueError), ("1", TypeError)):
            with pytest.raises(kind, match="retry_timeout"):
                PrefixCopy(client, client, "/p/", retry_timeout=bad)  # type: ignore[arg-type]
