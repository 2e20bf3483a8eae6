"""Channel options (sans-IO)."""

from __future__ import annotations

import pytest

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
    with pytest.raises(ValueError, match="reconnect_backoff"):
        channel_options(2, None, 30.0, 10.0, reconnect_backoff=bad)
