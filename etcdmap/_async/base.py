"""What every service of the asyncio client shares: endpoints, the connection, error mapping."""

from __future__ import annotations

import logging
import os
import random
import sys
import time
import warnings
import weakref
from collections.abc import Sequence
from typing import Any, TypeVar

import grpc

from .._backends.asyncio import (
    BLOCKING,
    BidiStream,
    Event,
    Worker,
    close_channel_now,
    running_loop,
)
from .._core.auth import Credentials, Metadata, needs_new_token, token_metadata
from .._core.checks import check_count, check_seconds, check_timeout
from .._core.cluster import endpoints_from_members, member_list_request, parse_members
from .._core.endpoints import MiB, channel_options, resolve_endpoints
from .._core.errors import (
    AuthNotEnabledError,
    ClientClosedError,
    EtcdError,
    OldClusterError,
    error_from_status,
)
from .._core.hooks import ClientHooks, HookSet
from .._core.maintenance import MIN_SERVER_VERSION, is_old_server
from .._core.retry import RetryPolicy, backoff, should_retry
from .._core.tls import TLSConfig, client_tls
from .._core.views import in_notebook_kernel
from .._pb import etcdserverpb
from .connection import RPC_NAMES, AsyncConnection

__all__ = ["AsyncClientBase"]

_Client = TypeVar("_Client", bound="AsyncClientBase")
log = logging.getLogger("etcdmap.client")
_REQUIRE_LEADER = ("hasleader", "true")


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
        retry: RetryPolicy | None = None,
        tls: TLSConfig | None = None,
        auto_sync_interval: float | None = None,
        reject_old_cluster: bool = False,
        connect_timeout: float | None = None,
        hooks: ClientHooks | Sequence[ClientHooks] = (),
        reconnect_backoff: float = 0.5,
    ) -> None:
        self.endpoints = resolve_endpoints(endpoints)
        #: Certificates read once here; None means plaintext channels.
        self._tls = client_tls(endpoints, tls)
        self._timeout = check_timeout(timeout)
        self._options = channel_options(
            check_count(max_send_bytes, "max_send_bytes", minimum=1),
            None if max_recv_bytes is None else check_count(
                max_recv_bytes, "max_recv_bytes", minimum=1
            ),
            check_seconds(keepalive_time, "keepalive_time"),
            check_seconds(keepalive_timeout, "keepalive_timeout"),
            check_seconds(reconnect_backoff, "reconnect_backoff"),
        )
        self._conn: AsyncConnection | None = None
        self._leftovers = _Leftovers(repr(self))
        self._conns = self._leftovers.conns
        #: Releases the channels and streams of a client dropped without aclose().
        self._finalizer = weakref.finalize(self, self._leftovers.release)
        self._finalizer.atexit = False  # at exit threads die anyway: no warning then
        self._closed = False
        self._credentials = Credentials.from_options(username, password)
        #: ("token", token) metadata sent with every call once authenticated; None without.
        self._metadata: Metadata | None = None
        self._authenticated = False
        self._retry = retry or RetryPolicy()
        self._random = random.Random()
        self._auto_sync_interval = check_timeout(auto_sync_interval, "auto_sync_interval")
        self._reject_old_cluster = reject_old_cluster
        #: Bounds the first login and the reject_old_cluster check (Go's DialTimeout).
        self._connect_timeout = check_timeout(connect_timeout, "connect_timeout")
        #: Observation hooks (etcdmap.metrics); None keeps channels free of interceptors.
        self._hooks = HookSet(hooks) if hooks else None
        self._syncer: Worker | None = None
        self._stopping = Event()
        self._leftovers.stops.append(self._stopping)
        #: Whether a call should still look for an event loop in its thread (blocking
        #: clients only, until they warned once).
        self._loop_check = BLOCKING

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoints={self.endpoints!r})"

    @property
    def hooks(self) -> HookSet | None:
        """The observation hooks given as ``hooks=`` (one ``HookSet``), None without any.
        Layers above the client (mirrors) report through them too."""
        return self._hooks

    async def _connect(self) -> AsyncConnection:
        # Created on first use, so an async channel binds to the loop that uses it.
        self._check_open()
        if self._conn is None:
            if self._reject_old_cluster:
                await self._check_server_versions()
            self._conn = await self._connection_for(self.endpoints[0])
            if self._auto_sync_interval and self._syncer is None:
                self._syncer = Worker(
                    _auto_sync, weakref.ref(self), self._stopping, self._auto_sync_interval,
                    name="etcdmap-auto-sync",
                )
        return self._conn

    def _check_open(self) -> None:
        """``ClientClosedError`` once ``close()`` / ``aclose()`` has begun."""
        if self._closed:
            raise ClientClosedError(f"{self!r} is closed")

    async def _check_server_versions(self) -> None:
        """``reject_old_cluster``: every endpoint must answer Maintenance.Status with a
        version this client supports (clientv3's RejectOldCluster), else OldClusterError."""
        for endpoint in self.endpoints:
            request = etcdserverpb.StatusRequest()
            timeout = self._connect_timeout or self._timeout or 5.0
            status = await self._unary("status", request, timeout, endpoint)
            if is_old_server(status.version):
                raise OldClusterError(
                    f"etcdclient: old cluster version: {endpoint} runs etcd {status.version}, "
                    f"older than {'.'.join(map(str, MIN_SERVER_VERSION))}",
                    endpoint=endpoint,
                )

    async def _sync_endpoints(self) -> None:
        """Refresh ``endpoints`` from Cluster.MemberList (the client URLs of started voting
        members); a failed sync is only logged."""
        try:
            response = await self._unary("member_list", member_list_request(), 5.0)
        except EtcdError as error:
            log.warning("endpoint auto-sync failed: %s", error)
            return
        found = endpoints_from_members(parse_members(response).members)
        if found:
            self.endpoints = resolve_endpoints(found)

    async def _connection_for(self, endpoint: str) -> AsyncConnection:
        """The connection to one endpoint: created once, reused, closed with the client."""
        self._check_open()
        conn = self._conns.get(endpoint)
        if conn is None:
            conn = self._conns[endpoint] = AsyncConnection(
                endpoint, self._options, self._tls, self._hooks
            )
            if self._credentials is not None and not self._authenticated:
                await self._authenticate(conn, self._connect_timeout)
        return conn

    async def _unary(
        self, rpc: str, request: Any, timeout: float | None, endpoint: str | None = None
    ) -> Any:
        """Call the unary ``rpc`` on the current endpoint, or only ever on ``endpoint``
        (Maintenance calls address one member); on failure, see ``_recover``. ``timeout`` is
        checked here, before any I/O, for every public method."""
        seconds = self._call_timeout(timeout)
        if self._loop_check and running_loop() is not None:
            self._warn_blocking_loop()
        if endpoint is None:
            conn = self._conn or await self._connect()
        else:
            conn = await self._connection_for(endpoint)
        try:
            return await getattr(conn, rpc)(request, timeout=seconds, metadata=self._metadata)
        except ValueError:
            self._check_open()  # gRPC's "Cannot invoke RPC on closed channel!"
            raise
        except grpc.RpcError as error:
            pinned = endpoint is not None
            return await self._recover(conn, rpc, request, timeout, error, pinned=pinned)

    def _warn_blocking_loop(self) -> None:
        """Warn once per client that a blocking call runs in a thread that runs an event
        loop: it works, but the loop stands still until etcd answers. Not in a notebook,
        where every cell runs on the kernel's loop and blocking it is the norm."""
        self._loop_check = False
        if in_notebook_kernel():
            return
        name = type(self).__name__
        warnings.warn(
            f"{self!r} made a blocking call in a thread that runs an event loop, which stops "
            f"the loop until etcd answers; use Async{name} in async code",
            RuntimeWarning, stacklevel=_caller_level(),
        )

    def _call_timeout(self, timeout: float | None) -> float | None:
        """The seconds one call may take: its ``timeout`` (checked: None or a finite number
        >= 0, where 0 is a deadline already passed), else the client's default."""
        return self._timeout if timeout is None else check_timeout(timeout, zero=True)

    async def _recover(
        self,
        conn: AsyncConnection,
        rpc: str,
        request: Any,
        timeout: float | None,
        error: Any,
        *,
        pinned: bool,
    ) -> Any:
        """The slow path after a failed call: renew the auth token once if that was the
        problem; retry as clientv3 does (``_core.retry``: reads on UNAVAILABLE, writes only when
        they never left), moving to the next endpoint unless the call is ``pinned`` to one;
        else raise the mapped error. Retries stop after the policy's attempts or once the
        call's timeout has passed again since the first failure; ``ClientClosedError`` as
        soon as the client is closed meanwhile (a pause between attempts ends at once)."""
        name = RPC_NAMES.get(rpc, rpc)
        timeout = self._timeout if timeout is None else timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        renewed = False
        attempt = 1
        while True:
            self._check_open()  # a call the closing cut short fails as closed, not cancelled
            failure = _error(error, conn.endpoint, rpc, request)
            code, details = error.code(), error.details() or ""
            if self._credentials is not None and not renewed and needs_new_token(failure):
                renewed = True
                await self._authenticate(conn, timeout)
            else:
                if code is grpc.StatusCode.UNAVAILABLE and not pinned:
                    conn = await self._next_connection(conn)
                retryable = should_retry(name, code, details, endpoints=len(self.endpoints))
                left = None if deadline is None else deadline - time.monotonic()
                if not retryable or attempt >= self._retry.max_attempts or (
                    left is not None and left <= 0
                ):
                    raise failure from None
                wait = backoff(attempt, len(self.endpoints), self._retry, self._random)
                if wait:
                    await self._stopping.wait(wait if left is None else min(wait, left))
                    self._check_open()
                attempt += 1
                if self._hooks is not None:
                    self._hooks.retried(name, code.name)
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.001)
            try:
                return await getattr(conn, rpc)(request, timeout=remaining, metadata=self._metadata)
            except ValueError:
                self._check_open()  # gRPC's "Cannot invoke RPC on closed channel!"
                raise
            except grpc.RpcError as again:
                error = again

    async def _next_connection(self, failed: AsyncConnection) -> AsyncConnection:
        """Move the client to the endpoint after ``failed`` (round robin) and return it."""
        endpoints = self.endpoints
        index = endpoints.index(failed.endpoint) if failed.endpoint in endpoints else -1
        self._conn = await self._connection_for(endpoints[(index + 1) % len(endpoints)])
        return self._conn

    def _stream_metadata(self) -> Metadata:
        """Metadata for opening a stream: the auth token when logged in, and ``hasleader``:
        streams only talk to a member that has a leader, so a partitioned member cannot
        leave a watcher stale or renew a lease the cluster is expiring (WithRequireLeader)."""
        return (*(self._metadata or ()), _REQUIRE_LEADER)

    async def _open_stream(self, rpc: str, attempt: int) -> tuple[AsyncConnection, BidiStream]:
        """Open the bidirectional stream ``rpc`` for the ``attempt``-th time: endpoints in
        turn, so a re-opened stream tries the next member (the last may be gone for good)."""
        endpoints = self.endpoints
        conn = await self._connection_for(endpoints[attempt % len(endpoints)])
        stream = BidiStream(getattr(conn, rpc), self._stream_metadata())
        self._leftovers.streams.add(stream)
        return conn, stream

    async def _renew_token_after(self, conn: AsyncConnection, error: Any, action: str) -> None:
        """After a stream failed: log in again if the token was the reason (streams are
        re-opened by their owners, who call this first)."""
        if self._credentials is None:
            return
        failure = error_from_status(
            error.code(), error.details(), endpoint=conn.endpoint, action=action
        )
        if needs_new_token(failure):
            try:
                await self._authenticate(conn, None)
            except EtcdError as auth_error:
                log.warning("%s: cannot renew the auth token (%s)", action, auth_error)

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
        self._finalizer.detach()
        self._closed = True
        self._stopping.set()
        if self._syncer is not None:
            await self._syncer.join()
        self._conn = None
        conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            await conn.aclose()

    async def __aenter__(self: _Client) -> _Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class _Leftovers:
    """What a client holds open: its connections and the streams opened on them. It never
    refers to the client, so the client's finalizer can own it and release them when the
    client is dropped without ``aclose()``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.conns: dict[str, AsyncConnection] = {}
        self.streams: weakref.WeakSet[BidiStream] = weakref.WeakSet()
        #: Set to stop the client's background workers (they hold no strong reference).
        self.stops: list[Event] = []

    def release(self) -> None:
        """Warn (``ResourceWarning``, as an unclosed file does) and end every stream and
        channel, which ends their threads. A client that never connected has nothing to
        release and does not warn."""
        if not self.conns:
            return
        warnings.warn(
            f"unclosed {self.name}: close it with aclose() or use it in an async with block",
            ResourceWarning, stacklevel=2,
        )
        for stop in self.stops:
            stop.set()
        for stream in list(self.streams):
            stream.cancel()
        for conn in self.conns.values():
            close_channel_now(conn.channel)
        self.conns.clear()


async def _auto_sync(
    client: weakref.ref[AsyncClientBase], stopping: Event, interval: float
) -> None:
    """The worker of ``auto_sync_interval``: sync the client's endpoints every ``interval``
    seconds until ``stopping`` is set. It holds the client only while syncing, so a client
    dropped without ``aclose()`` is collected and its finalizer sets ``stopping``."""
    while not await stopping.wait(interval):
        alive = client()
        if alive is None:
            return
        await alive._sync_endpoints()
        del alive


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _caller_level() -> int:
    """The ``stacklevel`` of a warning raised here that points at the first frame outside
    etcdmap (the user's line), however deep in the library the call came from."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


def _error(error: Any, endpoint: str, rpc: str, request: Any) -> EtcdError:
    key = getattr(request, "key", None)
    action = rpc if key is None else f"{rpc} {key!r}"
    lease = getattr(request, "ID", None) if rpc.startswith("lease_") else None
    if lease:
        action = f"{rpc} {lease:#x}"  # lease ids in hex, as etcdctl shows them
    return error_from_status(error.code(), error.details(), endpoint=endpoint, action=action)
