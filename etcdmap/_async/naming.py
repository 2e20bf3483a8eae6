"""A service registry (Go's naming endpoints manager): endpoints registered under a service
prefix with a kept-alive lease, listed, and watched as add/delete updates."""

from __future__ import annotations

from typing import Any

from .._core.checks import check_client
from .._core.errors import LeaseNotFoundError
from .._core.naming import (
    Endpoint,
    EndpointUpdate,
    encode_endpoint,
    endpoint_key,
    endpoints_from_kvs,
    updates_from_events,
)
from .._core.naming import service_prefix as prefix_of_service
from .._core.results import DeleteResponse
from .kv import AsyncWatchIterator, AsyncWatchKV
from .lease import AsyncLease, AsyncLeaseKeepAlive

__all__ = ["AsyncRegistration", "AsyncRegistry", "AsyncRegistryWatcher"]


class AsyncRegistration:
    """One registered endpoint: ``key``, ``endpoint``, the ``lease`` it is attached to and
    the ``keep_alive`` handle renewing it (whose ``lost`` event is set if the lease is lost,
    after which the entry is gone). ``unregister()`` (or leaving its ``async with`` block)
    deletes the entry at once by revoking the lease."""

    def __init__(
        self,
        key: str,
        endpoint: Endpoint,
        lease: AsyncLease,
        keep_alive: AsyncLeaseKeepAlive,
    ) -> None:
        self.key = key
        self.endpoint = endpoint
        self.lease = lease
        self.keep_alive = keep_alive

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key!r}, {self.endpoint!r})"

    async def unregister(self) -> None:
        """Stop renewing and revoke the lease (Lease.LeaseRevoke): the entry is deleted."""
        await self.keep_alive.stop()
        await _revoke(self.lease)

    async def __aenter__(self) -> AsyncRegistration:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.unregister()


class AsyncRegistryWatcher:
    """Iterate for batches (lists) of ``EndpointUpdate``: first every endpoint registered
    when it started as ``"add"`` (if there are any), then one batch per change from the
    revision after that list. ``cancel()`` (or leaving its ``async with`` block) ends it."""

    def __init__(self, client: AsyncWatchKV, prefix: bytes) -> None:
        self._client = client
        self._prefix = prefix
        self._watcher: AsyncWatchIterator | None = None
        self._initial: list[EndpointUpdate] = []
        self._cancelled = False

    async def start(self) -> AsyncRegistryWatcher:
        """List the current endpoints and start watching (done by ``async with`` and by
        the first iteration)."""
        if self._watcher is None and not self._cancelled:
            listed = await self._client.get_prefix(self._prefix, serializable=True)
            self._initial = [
                EndpointUpdate(op="add", key=key, endpoint=endpoint)
                for key, endpoint in endpoints_from_kvs(listed.kvs).items()
            ]
            self._watcher = self._client.watch(
                self._prefix, prefix=True, start_revision=listed.header.revision + 1
            )
            await self._watcher.start()
        return self

    def __aiter__(self) -> AsyncRegistryWatcher:
        return self

    async def __anext__(self) -> list[EndpointUpdate]:
        await self.start()
        if self._initial:
            initial, self._initial = self._initial, []
            return initial
        if self._watcher is not None:
            async for response in self._watcher:
                updates = updates_from_events(response.events)
                if updates:
                    return updates
        raise StopAsyncIteration

    async def cancel(self) -> None:
        """Stop watching; iteration ends."""
        self._cancelled = True
        if self._watcher is not None:
            await self._watcher.cancel()

    async def __aenter__(self) -> AsyncRegistryWatcher:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.cancel()


class AsyncRegistry:
    """Service endpoints under ``<service_prefix>/<name>`` with Go's JSON values
    ``{"Op":0,"Addr":...,"Metadata":...}``, so Go's ``endpoints.Manager`` and gRPC ``etcd://``
    resolver read what this writes and the other way round.

    Example::

        registry = AsyncRegistry(client, "services/billing")
        async with await registry.register("10.0.0.7:8080", {"zone": "a"}, ttl=10):
            ...  # listed while this process lives and keeps the lease alive
    """

    def __init__(self, client: AsyncWatchKV, service_prefix: bytes | str) -> None:
        check_client(client, AsyncRegistry)
        self.client = client
        self.prefix = prefix_of_service(service_prefix)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.prefix!r})"

    async def register(
        self,
        addr: str,
        metadata: Any = None,
        *,
        name: str | None = None,
        ttl: int = 10,
    ) -> AsyncRegistration:
        """Register ``addr`` (under ``name``, by default the address) with ``metadata``
        (Lease.LeaseGrant of ``ttl`` seconds, KV.Put with that lease, then the lease kept
        alive in the background). The entry disappears ``ttl`` seconds after this process
        stops renewing it (it dies, or loses its connection), or at once on ``unregister()``.
        """
        endpoint = Endpoint(addr=addr, metadata=metadata)
        key = endpoint_key(self.prefix, name or addr)
        lease = await self.client.lease_grant(ttl)
        try:
            await self.client.put(key, encode_endpoint(endpoint), lease=lease)
            keep_alive = await self.client.lease_keep_alive(lease)
        except BaseException:
            await _revoke(lease)
            raise
        return AsyncRegistration(key.decode(errors="replace"), endpoint, lease, keep_alive)

    async def unregister(self, name: str) -> DeleteResponse:
        """Delete the entry ``name`` (an address, or the name it was registered under) now
        (KV.DeleteRange), whoever registered it."""
        return await self.client.delete(endpoint_key(self.prefix, name))

    async def list(self) -> dict[str, Endpoint]:
        """Every registered endpoint by full key (KV.Range of the prefix, serializable like
        Go's ``List``: the answering member's view). Unreadable entries are skipped."""
        response = await self.client.get_prefix(self.prefix, serializable=True)
        return endpoints_from_kvs(response.kvs)

    def watch(self) -> AsyncRegistryWatcher:
        """Follow the registry: the current endpoints, then every add and delete (a
        serializable KV.Range, then Watch.Watch from the next revision); see
        ``AsyncRegistryWatcher``."""
        return AsyncRegistryWatcher(self.client, self.prefix)



async def _revoke(lease: AsyncLease) -> None:
    try:
        await lease.revoke()
    except LeaseNotFoundError:
        pass  # expired already: the entry is gone either way
