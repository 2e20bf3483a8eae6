"""Endpoint strings and gRPC channel options."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

__all__ = ["DEFAULT_ENDPOINT", "channel_options", "given_endpoints", "resolve_endpoints"]

DEFAULT_ENDPOINT = "127.0.0.1:2379"
MiB = 1024 * 1024
#: A plain endpoint: host (a name, an IPv4 address or a bracketed IPv6 one) and port.
_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.%\w]+\]|[^\s:/\[\]]+):(\d{1,5})")


def given_endpoints(endpoints: str | Sequence[str] | None) -> list[str]:
    """The endpoint strings a client was given, schemes kept (``_core.tls`` reads them).

    None reads ``ETCDMAP_ENDPOINTS`` (comma-separated), else ``127.0.0.1:2379``.
    """
    if endpoints is None:
        endpoints = os.environ.get("ETCDMAP_ENDPOINTS") or DEFAULT_ENDPOINT
    if isinstance(endpoints, str):
        endpoints = endpoints.split(",")
    elif isinstance(endpoints, (bytes, bytearray)) or not isinstance(endpoints, Sequence):
        raise TypeError(
            f"endpoints must be a str or a sequence of str, not {type(endpoints).__name__}"
        )
    for endpoint in endpoints:
        if not isinstance(endpoint, str):
            raise TypeError(
                f"endpoints must hold str ('host:port'), not {type(endpoint).__name__}"
            )
    return [endpoint.strip() for endpoint in endpoints]


def resolve_endpoints(endpoints: str | Sequence[str] | None) -> list[str]:
    """Normalise the endpoints a client was given to gRPC targets ``host:port``.

    None reads ``ETCDMAP_ENDPOINTS`` (comma-separated), else ``127.0.0.1:2379``. The scheme
    (``http://`` or ``https://``) is dropped: whether channels use TLS is decided once per
    client by ``_core.tls.client_tls``. Other gRPC target URIs (``unix:///path``,
    ``dns:///host:port``) are passed on as they are.

    Raises ``TypeError`` for endpoints that are not strings, ``ValueError`` naming the
    endpoint for an empty one or one that is not ``host:port`` (port 1 to 65535).
    """
    targets = []
    for given in given_endpoints(endpoints):
        endpoint = given.removeprefix("http://").removeprefix("https://").rstrip("/")
        if not endpoint:
            raise ValueError("endpoints: an endpoint is empty; expected host:port")
        if "://" not in endpoint:
            match = _HOST_PORT.fullmatch(endpoint)
            if match is None or not 0 < int(match[2]) < 65536:
                raise ValueError(f"endpoints: {given!r} is not host:port")
        targets.append(endpoint)
    if not targets:
        raise ValueError("no endpoints given")
    return targets


def channel_options(
    max_send_bytes: int,
    max_recv_bytes: int | None,
    keepalive_time: float,
    keepalive_timeout: float,
    reconnect_backoff: float = 0.5,
) -> list[tuple[str, Any]]:
    """gRPC channel arguments for one endpoint.

    gRPC Python receives at most 4 MiB by default, which breaks any large range; etcd's Go
    client receives without limit (-1 here) and sends at most 2 MiB.

    ``reconnect_backoff`` caps the pause between two attempts to reconnect to an endpoint
    that is down. gRPC's own cap is 120 s, and the pause is kept by a subchannel shared by
    every channel of the process to that endpoint, so after a long outage even a new client
    waited up to two minutes for a server that was back.
    """
    backoff_ms = max(1, int(reconnect_backoff * 1000))
    return [
        ("grpc.max_send_message_length", max_send_bytes),
        ("grpc.max_receive_message_length", -1 if max_recv_bytes is None else max_recv_bytes),
        ("grpc.keepalive_time_ms", int(keepalive_time * 1000)),
        ("grpc.keepalive_timeout_ms", int(keepalive_timeout * 1000)),
        # etcd refuses pings on an idle connection by default (PermitWithoutStream=false).
        ("grpc.keepalive_permit_without_calls", 0),
        ("grpc.initial_reconnect_backoff_ms", min(100, backoff_ms)),
        ("grpc.max_reconnect_backoff_ms", backoff_ms),
    ]
