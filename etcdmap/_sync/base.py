# Generated from etcdmap/_async/base.py by scripts/unasync: do not edit.
"""What every service of the blocking client shares: endpoints, the connection, error mapping."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import grpc

from .._core.endpoints import MiB, channel_options, resolve_endpoints
from .._core.errors import ClientClosedError, EtcdError, error_from_status
from .connection import Connection

__all__ = ["ClientBase"]

_Client = TypeVar("_Client", bound="ClientBase")


class ClientBase:
    """Holds the configuration and the connection; the service classes add the RPCs."""

    def __init__(
        self,
        endpoints: str | Sequence[str] | None = None,
        *,
        timeout: float | None = None,
        max_send_bytes: int = 2 * MiB,
        max_recv_bytes: int | None = None,
        keepalive_time: float = 30.0,
        keepalive_timeout: float = 10.0,
    ) -> None:
        self.endpoints = resolve_endpoints(endpoints)
        self._timeout = timeout
        self._options = channel_options(
            max_send_bytes, max_recv_bytes, keepalive_time, keepalive_timeout
        )
        self._conn: Connection | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoints={self.endpoints!r})"

    def _connect(self) -> Connection:
        # Created on first use, so an async channel binds to the loop that uses it.
        if self._closed:
            raise ClientClosedError(f"{self!r} is closed")
        if self._conn is None:
            self._conn = Connection(self.endpoints[0], self._options)
        return self._conn

    def _unary(self, rpc: str, request: Any, timeout: float | None) -> Any:
        """Call the unary ``rpc`` of the current connection, mapping gRPC errors."""
        conn = self._conn or self._connect()
        try:
            return getattr(conn, rpc)(
                request, timeout=self._timeout if timeout is None else timeout
            )
        except grpc.RpcError as error:
            raise _error(error, conn.endpoint, rpc, request) from None

    def close(self) -> None:
        """Close the channel. The client cannot be used afterwards."""
        self._closed = True
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def __enter__(self: _Client) -> _Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _error(error: Any, endpoint: str, rpc: str, request: Any) -> EtcdError:
    key = getattr(request, "key", None)
    action = rpc if key is None else f"{rpc} {key!r}"
    return error_from_status(error.code(), error.details(), endpoint=endpoint, action=action)
