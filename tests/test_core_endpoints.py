"""Channel options (sans-IO)."""

from __future__ import annotations

import pytest

from etcdmap import Client
from etcdmap._core.endpoints import channel_options


def test_reconnect_backoff_is_capped() -> None:
    options = dict(channel_options(2, None, 30.0, 10.0))
    assert options["grpc.max_reconnect_backoff_ms"] == 500
    assert options["grpc.initial_reconnect_backoff_ms"] == 100
    options = dict(channel_options(2, None, 30.0, 10.0, reconnect_backoff=0.05))
    assert options["grpc.max_reconnect_backoff_ms"] == 50
    assert options["grpc.initial_reconnect_backoff_ms"] == 50


@pytest.mark.parametrize("bad", [0, -1.0, float("nan")])
def test_reconnect_backoff_must_be_positive(bad: float) -> None:
    # checked by the client's constructor, before any channel exists
    with pytest.raises(ValueError, match="reconnect_backoff"):
        Client("127.0.0.1:1", reconnect_backoff=bad)
