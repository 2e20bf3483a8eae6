"""FailureLog and describe: one log line per change of a loop's state (sans-IO)."""

from __future__ import annotations

import logging

import grpc
import pytest

from etcdmap._core.errors import ConnectionFailedError, NoLeaderError
from etcdmap._core.outage import FailureLog, describe


class FakeRpcError(grpc.RpcError):
    """What a gRPC stream raises: code() and details(), and a many-line repr."""

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE

    def details(self) -> str:
        return "failed to connect to all addresses;\nlast error: Connection refused"

    def __str__(self) -> str:
        return "<_MultiThreadedRendezvous of RPC that terminated with:\n\tstatus = ...\n>"


def test_describe_names_the_etcdmap_class_on_one_line() -> None:
    assert describe(FakeRpcError()) == (
        "ConnectionFailedError: failed to connect to all addresses; last error: Connection "
        "refused"
    )
    assert describe(NoLeaderError("etcdserver: no leader")) == "NoLeaderError: etcdserver: no leader"
    assert describe(None) == "the server ended the stream"
    long = describe(ConnectionFailedError("x" * 500))
    assert len(long) < 250 and long.endswith("...")


def test_one_warning_per_outage_repeats_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="etcdmap.test")
    faults = FailureLog(logging.getLogger("etcdmap.test"), "watch stream")
    faults.recovered("h:1")  # nothing failed: nothing to say
    for _ in range(3):
        faults.failed("h:1", FakeRpcError(), 0.5)
    faults.recovered("h:1")
    faults.failed(None, None, 0.1)
    levels = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in levels] == ["WARNING", "DEBUG", "DEBUG", "INFO", "WARNING"]
    assert levels[0][1] == (
        "watch stream to h:1 failed (ConnectionFailedError: failed to connect to all addresses; "
        "last error: Connection refused); next retry in 0.5 s (failure 1 in a row)"
    )
    assert levels[3][1] == "watch stream to h:1 works again after 3 failures"
    assert levels[4][1].startswith("watch stream failed (the server ended the stream)")
