"""The Lease service: grant, revoke, time-to-live, list, and keep-alive on one shared stream."""

from __future__ import annotations

import functools
import logging
import time
import weakref

import grpc

from .._backends.asyncio import BidiStream, Event, Lock, Worker
from .._core import lease as core
from .._core.checks import check_timeout
from .._core.errors import (
    ConnectionLostError,
    EtcdError,
    LeaseExpiredError,
    LeaseNotFoundError,
    error_from_status,
)
from .._core.kv import LeaseLike, required_lease
from .._core.lease import (
    KeepAliveSchedule,
    LeaseKeepAliveResponse,
    LeaseRevokeResponse,
    LeaseStatus,
    LeaseTimeToLive,
)
from .._core.outage import FailureLog, describe
from .._core.results import ResponseHeader
from .base import AsyncClientBase
from .connection import AsyncConnection

__all__ = ["AsyncLease", "AsyncLeaseKeepAlive", "AsyncLeaseService"]

log = logging.getLogger("etcdmap.lease")

#: Seconds between looks at the schedule (clientv3 scans every 500 ms as well).
TICK = 0.5
#: Seconds to wait before re-opening a broken keep-alive stream (clientv3's retryConnWait).
RECONNECT_WAIT = 0.5


class AsyncLease:
    """A granted lease: ``id`` and the ``ttl`` (seconds) the server granted.

    Pass it as ``lease=`` to ``put`` / ``Op.put`` to attach keys. Its methods run on the
    client that granted it: ``revoke()``, ``time_to_live()``, ``keep_alive()`` and
    ``keep_alive_once()``. Used as a context manager it is revoked when the block ends (its
    keys are deleted)::

        async with await client.lease_grant(10) as lease:
            await client.put("/service/me", "addr", lease=lease)
            async with await lease.keep_alive():
                ...
    """

    __slots__ = ("_client", "header", "id", "ttl")

    def __init__(
        self, client: AsyncLeaseService, id: int, ttl: int, header: ResponseHeader
    ) -> None:
        self._client = client
        self.id = id
        self.ttl = ttl
        self.header = header

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id:#x}, ttl={self.ttl})"

    async def revoke(self, *, timeout: float | None = None) -> LeaseRevokeResponse:
        """Revoke this lease now (see ``lease_revoke``)."""
        return await self._client.lease_revoke(self, timeout=timeout)

    async def time_to_live(
        self, *, keys: bool = False, timeout: float | None = None
    ) -> LeaseTimeToLive:
        """The remaining TTL (see ``lease_time_to_live``)."""
        return await self._client.lease_time_to_live(self, keys=keys, timeout=timeout)

    async def keep_alive(self) -> AsyncLeaseKeepAlive:
        """Keep this lease alive in the background (see ``lease_keep_alive``)."""
        return await self._client.lease_keep_alive(self)

    async def keep_alive_once(self, *, timeout: float | None = None) -> LeaseKeepAliveResponse:
        """Renew this lease once (see ``lease_keep_alive_once``)."""
        return await self._client.lease_keep_alive_once(self, timeout=timeout)

    async def __aenter__(self) -> AsyncLease:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await self.revoke()
        except LeaseNotFoundError:
            pass  # already expired or revoked: what the block's end asks for


class AsyncLeaseKeepAlive:
    """The handle of one ``lease_keep_alive``: the lease is renewed until ``stop()``.

    ``ttl`` is the TTL of the latest renewal (the known TTL before the first one, or None)
    and ``response`` the latest ``LeaseKeepAliveResponse``. When the lease is lost (the
    server answers TTL ≤ 0 because it expired or was revoked, or no answer came within the
    TTL) the ``lost`` event is set, and ``check()`` and ``wait()`` raise
    ``LeaseExpiredError``. As a context manager it stops on exit (the lease is not revoked).
    """

    def __init__(self, keeper: AsyncLeaseKeeper, lease_id: int, ttl: int | None) -> None:
        self._keeper = keeper
        self.id = lease_id
        self.ttl = ttl
        self.response: LeaseKeepAliveResponse | None = None
        #: Set when the lease is lost.
        self.lost = Event()
        self._ended = Event()
        self._reason = ""
        self.stopped = False

    def __repr__(self) -> str:
        state = "lost" if self.lost.is_set() else "stopped" if self.stopped else "alive"
        return f"{type(self).__name__}(id={self.id:#x}, ttl={self.ttl}, {state})"

    @property
    def alive(self) -> bool:
        """Whether the lease is still being kept alive."""
        return not self._ended.is_set()

    def check(self) -> None:
        """Raise ``LeaseExpiredError`` if the lease was lost; return otherwise."""
        if self.lost.is_set():
            raise LeaseExpiredError(
                f"lease {self.id:#x} is lost: {self._reason}", lease_id=self.id
            )

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait until keeping alive ends or ``timeout`` seconds pass.

        Raises ``LeaseExpiredError`` if the lease was lost; returns True if it was stopped
        (``stop()``, or the client closed) and False when the timeout passed first.
        """
        ended = await self._ended.wait(check_timeout(timeout, zero=True))
        self.check()
        return ended

    async def stop(self) -> None:
        """Stop renewing (the lease then expires after its TTL unless renewed elsewhere)."""
        await self._keeper.remove(self)

    def _end(self, reason: str | None) -> None:
        """Mark this handle ended: lost with ``reason``, or stopped when None."""
        if self._ended.is_set():
            return
        if reason is None:
            self.stopped = True
        else:
            self._reason = reason
            self.lost.set()
        self._ended.set()

    async def __aenter__(self) -> AsyncLeaseKeepAlive:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


class AsyncLeaseKeeper:
    """The client's one LeaseKeepAlive stream, shared by every kept-alive lease.

    One worker opens the stream and reads the answers (re-opening it after an error); a
    second one sends the renewals the schedule says are due and reports leases whose
    deadline passed. Every request is sent with the lock held, so writes never overlap.
    """

    def __init__(self, client: AsyncClientBase) -> None:
        # Weak: the workers must not keep a client alive that its user dropped, so that the
        # client's finalizer can run and stop them (through _stop).
        self._client = weakref.proxy(client)
        self._schedule = KeepAliveSchedule()
        self._handles: dict[int, list[AsyncLeaseKeepAlive]] = {}
        self._lock = Lock()
        self._stream: BidiStream | None = None
        self._workers: list[Worker] = []
        self._stop = Event()
        self._faults = FailureLog(log, "lease keep-alive stream")
        client._leftovers.stops.append(self._stop)
        #: How many times a stream was opened (1 + the number of re-opens).
        self.connects = 0

    async def add(self, ident: int, ttl: int | None) -> AsyncLeaseKeepAlive:
        handle = AsyncLeaseKeepAlive(self, ident, ttl)
        async with self._lock:
            if self._stop.is_set():
                handle._end(None)
                return handle
            self._handles.setdefault(ident, []).append(handle)
            if self._schedule.add(ident, time.monotonic(), ttl):
                await self._send_due()
            if not self._workers:
                self._workers = [
                    Worker(self._run, name="etcdmap-lease-keepalive"),
                    Worker(self._tick, name="etcdmap-lease-ticker"),
                ]
        return handle

    async def remove(self, handle: AsyncLeaseKeepAlive) -> None:
        async with self._lock:
            handles = self._handles.get(handle.id, [])
            if handle in handles:
                handles.remove(handle)
            if not handles and self._handles.pop(handle.id, None) is not None:
                self._schedule.remove(handle.id)
        handle._end(None)

    async def forget(self, ident: int, reason: str) -> None:
        """The lease is gone (revoked by this client): end its handles as lost."""
        async with self._lock:
            self._schedule.remove(ident)
            handles = self._handles.pop(ident, [])
        for handle in handles:
            handle._end(reason)

    async def aclose(self) -> None:
        self._stop.set()
        async with self._lock:
            if self._stream is not None:
                self._stream.cancel()
        await self._end_all()
        for worker in self._workers:
            await worker.join()

    async def _end_all(self) -> None:
        """Mark every handle stopped (the keeper has stopped): their waits end."""
        async with self._lock:
            handles = [h for hs in self._handles.values() for h in hs]
            self._handles.clear()
            for handle in handles:
                self._schedule.remove(handle.id)
        for handle in handles:
            handle._end(None)

    async def _send_due(self) -> None:
        # Called with the lock held.
        stream = self._stream
        if stream is None:
            return
        for ident in self._schedule.due(time.monotonic()):
            try:
                await stream.send(core.keep_alive_request(ident))
            except Exception as error:  # a broken call: the reader sees it and re-opens
                log.debug("lease keep-alive send failed (%s); re-opening the stream",
                          describe(error))
                stream.cancel()
                return

    async def _tick(self) -> None:
        while not self._stop.is_set():
            async with self._lock:
                await self._send_due()
                now = time.monotonic()
                lost = [(i, self._handles.pop(i, [])) for i in self._schedule.expired(now)]
                wait = self._schedule.wait_time(now)
            for ident, handles in lost:
                log.warning("lease %#x: no keep-alive answer within its TTL", ident)
                for handle in handles:
                    handle._end("no keep-alive answer within its TTL; it may have expired")
            await self._stop.wait(TICK if wait is None else min(wait, TICK))

    async def _run(self) -> None:
        try:
            await self._serve()
        except ReferenceError:
            pass  # the client was dropped without aclose(): its finalizer stops the keeper
        # Stopped: by aclose(), which ended the handles, or by the finalizer of a dropped
        # client, after which a wait on a handle (a session's worker) must end too.
        await self._end_all()

    async def _serve(self) -> None:
        while not self._stop.is_set():
            stream = None
            conn: AsyncConnection | None = None
            cause: BaseException | None = None  # of the failure, None for a stream that ended
            try:
                conn, stream = await self._client._open_stream("lease_keep_alive", self.connects)
                async with self._lock:
                    if self._stop.is_set():
                        stream.cancel()
                        break
                    self._stream = stream
                    self.connects += 1
                    self._schedule.resend_all(time.monotonic())
                    await self._send_due()
                await self._pump(stream, conn)
            except grpc.RpcError as error:
                cause = error
                if conn is not None:
                    await self._client._renew_token_after(conn, error, "lease_keep_alive")
            except EtcdError as error:
                cause = error
            async with self._lock:
                self._stream = None
                if stream is not None:
                    stream.cancel()
            if not self._stop.is_set():
                self._faults.failed(None if conn is None else conn.endpoint, cause, RECONNECT_WAIT)
            await self._stop.wait(RECONNECT_WAIT)

    async def _pump(self, stream: BidiStream, conn: AsyncConnection) -> None:
        while (message := await stream.recv()) is not None:
            self._faults.recovered(conn.endpoint)
            response = core.parse_keep_alive(message)
            async with self._lock:
                outcome = self._schedule.on_response(response.id, response.ttl, time.monotonic())
                if outcome == "gone":
                    handles = self._handles.pop(response.id, [])
                else:
                    handles = list(self._handles.get(response.id, []))
            for handle in handles:
                handle.response = response
                if outcome == "gone":
                    handle._end("the server reports it expired or revoked (TTL 0)")
                else:
                    handle.ttl = response.ttl


class AsyncLeaseService(AsyncClientBase):
    """Lease methods of ``AsyncClient``. Wherever a lease is taken, an id or a ``Lease`` works."""

    _lease_keeper: AsyncLeaseKeeper | None = None

    async def lease_grant(
        self, ttl: float, id: int = 0, *, timeout: float | None = None
    ) -> AsyncLease:
        """Create a lease of ``ttl`` seconds (Lease.LeaseGrant, through raft).

        ``ttl`` is a finite number > 0; etcd leases are whole seconds, so a fraction is
        rounded up (0.5 is 1 s). ``id`` picks the lease id, 1 to 2**63 - 1 (0: the server
        chooses; ``LeaseExistError`` if taken). Bad values raise ``TypeError``/``ValueError``
        naming ``ttl`` or ``id`` before anything is sent. The server may raise a too-small
        TTL to its minimum; ``Lease.ttl`` is what it granted.
        Keys attached to the lease are deleted when it expires or is revoked.

        Example: ``lease = await client.lease_grant(10)``.
        """
        request = core.grant_request(ttl, id)
        granted = core.parse_grant(await self._unary("lease_grant", request, timeout))
        return AsyncLease(self, granted.id, granted.ttl, granted.header)

    async def lease_revoke(
        self, lease: LeaseLike, *, timeout: float | None = None
    ) -> LeaseRevokeResponse:
        """Revoke a lease at once, deleting every key attached to it (Lease.LeaseRevoke).

        A keep-alive of it on this client ends as lost. ``LeaseNotFoundError`` if the lease
        does not exist (expired or already revoked).
        """
        ident = required_lease(lease)
        try:
            response = await self._unary("lease_revoke", core.revoke_request(ident), timeout)
        except LeaseNotFoundError:
            await self._forget_lease(ident, "it was not found when revoked")
            raise
        await self._forget_lease(ident, "revoked by this client")
        return core.parse_revoke(response)

    async def lease_time_to_live(
        self, lease: LeaseLike, *, keys: bool = False, timeout: float | None = None
    ) -> LeaseTimeToLive:
        """The remaining and granted TTL of a lease (Lease.LeaseTimeToLive, served by the
        leader). ``keys=True`` also lists the attached keys. For an expired or unknown lease
        ``ttl`` is -1."""
        request = core.time_to_live_request(required_lease(lease), keys)
        return core.parse_time_to_live(await self._unary("lease_time_to_live", request, timeout))

    async def leases(self, *, timeout: float | None = None) -> list[LeaseStatus]:
        """Every lease the cluster has (Lease.LeaseLeases, etcd ≥ 3.3)."""
        response = await self._unary("lease_leases", core.leases_request(), timeout)
        return core.parse_leases(response)

    async def lease_keep_alive_once(
        self, lease: LeaseLike, *, timeout: float | None = None
    ) -> LeaseKeepAliveResponse:
        """Renew a lease once (one request and answer on a LeaseKeepAlive stream of its own).

        The lease's TTL starts again from its granted TTL. ``LeaseNotFoundError`` if the
        lease expired or was revoked (the server answers TTL 0).
        """
        ident = required_lease(lease)
        seconds = self._call_timeout(timeout)
        conn = self._conn or await self._connect()
        stream = BidiStream(
            functools.partial(conn.lease_keep_alive, timeout=seconds),
            self._stream_metadata(),
        )
        action = f"lease_keep_alive_once {ident:#x}"
        try:
            await stream.send(core.keep_alive_request(ident))
            message = await stream.recv()
        except grpc.RpcError as error:
            raise error_from_status(
                error.code(), error.details(), endpoint=conn.endpoint, action=action
            ) from None
        finally:
            stream.cancel()
        if message is None:
            raise ConnectionLostError(
                f"the keep-alive stream to {conn.endpoint} ended without an answer ({action})",
                endpoint=conn.endpoint,
            )
        response = core.parse_keep_alive(message)
        if response.ttl <= 0:
            raise LeaseNotFoundError(
                f"etcdserver: requested lease not found ({action} at {conn.endpoint})",
                details="etcdserver: requested lease not found",
                endpoint=conn.endpoint,
            )
        return response

    async def lease_keep_alive(self, lease: LeaseLike) -> AsyncLeaseKeepAlive:
        """Keep a lease alive in the background until the handle's ``stop()``.

        Every lease of this client shares one LeaseKeepAlive stream, kept by background
        workers: the first renewal goes at once, then each one a third of the TTL the server
        last returned. A broken stream is re-opened (also after a member restart), so the
        lease survives outages shorter than its TTL. The handle reports a lost lease (see
        ``AsyncLeaseKeepAlive``). Several calls for one lease share its renewals.

        Example::

            async with await client.lease_keep_alive(lease) as keep:
                ...
                keep.check()  # raises LeaseExpiredError if the lease was lost
        """
        ident = required_lease(lease)
        ttl = getattr(lease, "ttl", None)
        await self._connect()  # raises ClientClosedError after aclose()
        if self._lease_keeper is None:
            self._lease_keeper = AsyncLeaseKeeper(self)
        return await self._lease_keeper.add(ident, ttl if isinstance(ttl, int) else None)

    async def _forget_lease(self, ident: int, reason: str) -> None:
        if self._lease_keeper is not None:
            await self._lease_keeper.forget(ident, reason)

    async def aclose(self) -> None:
        if self._lease_keeper is not None:
            await self._lease_keeper.aclose()
        await super().aclose()
