"""What every service of the asyncio client shares: endpoints, the connection, error mapping."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import grpc

from .._core.auth import Credentials, Metadata, needs_new_token, token_metadata
from .._core.endpoints import MiB, channel_options, resolve_endpoints
from .._core.errors import AuthNotEnabledError, ClientClosedError, EtcdError, error_from_status
from .connection import AsyncConnection

__all__ = ["AsyncClientBase"]

_Client = TypeVar("_Client", bound="AsyncClientBase")


class AsyncClientBase:
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
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.endpoints = resolve_endpoints(endpoints)
        self._timeout = timeout
        self._options = channel_options(
            max_send_bytes, max_recv_bytes, keepalive_time, keepalive_timeout
        )
        self._conn: AsyncConnection | None = None
        self._conns: dict[str, AsyncConnection] = {}
        self._closed = False
        self._credentials = Credentials.from_options(username, password)
        #: ("token", token) metadata sent with every call once authenticated; None without.
        self._metadata: Metadata | None = None
        self._authenticated = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoints={self.endpoints!r})"

    async def _connect(self) -> AsyncConnection:
        # Created on first use, so an async channel binds to the loop that uses it.
        if self._closed:
            raise ClientClosedError(f"{self!r} is closed")
        if self._conn is None:
            self._conn = await self._connection_for(self.endpoints[0])
        return self._conn

    async def _connection_for(self, endpoint: str) -> AsyncConnection:
        """The connection to one endpoint: created once, reused, closed with the client."""
        if self._closed:
            raise ClientClosedError(f"{self!r} is closed")
        conn = self._conns.get(endpoint)
        if conn is None:
            conn = self._conns[endpoint] = AsyncConnection(endpoint, self._options)
            if self._credentials is not None and not self._authenticated:
                await self._authenticate(conn, None)
        return conn

    async def _unary(self, rpc: str, request: Any, timeout: float | None) -> Any:
        """Call the unary ``rpc`` of the current connection, mapping gRPC errors."""
        conn = self._conn or await self._connect()
        try:
            return await getattr(conn, rpc)(
                request, timeout=self._timeout if timeout is None else timeout,
                metadata=self._metadata,
            )
        except grpc.RpcError as error:
            if self._credentials is not None:
                return await self._retry_with_token(conn, rpc, request, timeout, error)
            raise _error(error, conn.endpoint, rpc, request) from None

    async def _unary_at(self, endpoint: str, rpc: str, request: Any, timeout: float | None) -> Any:
        """Call the unary ``rpc`` on one given endpoint (Maintenance calls address one member)."""
        conn = await self._connection_for(endpoint)
        try:
            return await getattr(conn, rpc)(
                request, timeout=self._timeout if timeout is None else timeout,
                metadata=self._metadata,
            )
        except grpc.RpcError as error:
            if self._credentials is not None:
                return await self._retry_with_token(conn, rpc, request, timeout, error)
            raise _error(error, conn.endpoint, rpc, request) from None

    async def _retry_with_token(
        self, conn: AsyncConnection, rpc: str, request: Any, timeout: float | None, error: Any
    ) -> Any:
        """After a failed call with credentials: authenticate again and repeat it once when the
        token was the problem (expired, stale, or missing), else raise the mapped error."""
        failure = _error(error, conn.endpoint, rpc, request)
        if not needs_new_token(failure):
            raise failure from None
        await self._authenticate(conn, timeout)
        try:
            return await getattr(conn, rpc)(
                request, timeout=self._timeout if timeout is None else timeout,
                metadata=self._metadata,
            )
        except grpc.RpcError as again:
            raise _error(again, conn.endpoint, rpc, request) from None

    async def _authenticate(self, conn: AsyncConnection, timeout: float | None) -> None:
        """Fetch a token with the client's credentials (Auth.Authenticate on ``conn``).

        ``authentication is not enabled`` means no token is needed: calls go without one.
        A wrong user or password raises ``AuthFailedError``.
        """
        assert self._credentials is not None
        try:
            response = await conn.authenticate(
                self._credentials.request(),
                timeout=self._timeout if timeout is None else timeout,
            )
        except grpc.RpcError as error:
            failure = _error(error, conn.endpoint, "authenticate", None)
            if not isinstance(failure, AuthNotEnabledError):
                raise failure from None
            self._metadata = None
        else:
            self._metadata = token_metadata(response.token)
        self._authenticated = True

    async def aclose(self) -> None:
        """Close the channel. The client cannot be used afterwards."""
        self._closed = True
        self._conn = None
        conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            await conn.aclose()

    async def __aenter__(self: _Client) -> _Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _error(error: Any, endpoint: str, rpc: str, request: Any) -> EtcdError:
    key = getattr(request, "key", None)
    action = rpc if key is None else f"{rpc} {key!r}"
    lease = getattr(request, "ID", None) if rpc.startswith("lease_") else None
    if lease:
        action = f"{rpc} {lease:#x}"  # lease ids in hex, as etcdctl shows them
    return error_from_status(error.code(), error.details(), endpoint=endpoint, action=action)
