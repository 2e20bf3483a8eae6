"""``AsyncNamespace``: a view of a client (``AsyncClient``) whose keys all live under a prefix."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .._core import namespace as core
from .._core.checks import check_client
from .._core.errors import EtcdError
from .._core.keys import to_bytes
from .._core.kv import Compare, LeaseLike, Op, SortOrder, SortTarget
from .._core.lease import (
    LeaseKeepAliveResponse,
    LeaseRevokeResponse,
    LeaseStatus,
    LeaseTimeToLive,
)
from .._core.results import (
    CompactResponse,
    DeleteResponse,
    GetResponse,
    PutResponse,
    TxnResponse,
)
from .._core.watch import WatchFilter, WatchResponse
from .client import AsyncClient
from .lease import AsyncLease, AsyncLeaseKeepAlive
from .watch import DEFAULT_BUFFER, AsyncWatchCallback, AsyncWatcher

__all__ = ["AsyncNamespace", "AsyncNamespaceWatcher"]


class AsyncNamespaceWatcher:
    """What ``AsyncNamespace.watch`` returns: the client's watcher (``AsyncWatcher``), with
    the keys of its events (``kv`` and ``prev_kv``) relative to the namespace."""

    def __init__(self, watcher: AsyncWatcher | AsyncNamespaceWatcher, namespace: bytes) -> None:
        self._watcher = watcher
        self._namespace = namespace

    @property
    def next_revision(self) -> int:
        """The first revision this watcher has not delivered yet (0 before it started)."""
        return self._watcher.next_revision

    async def start(self, timeout: float | None = None) -> AsyncNamespaceWatcher:
        """Register the watch on the client's stream (done by ``with`` and iteration);
        see ``start`` of the client's watcher for ``timeout``."""
        await self._watcher.start(timeout)
        return self

    async def cancel(self) -> None:
        """Stop watching: the server watch is cancelled and iteration ends."""
        await self._watcher.cancel()

    async def __aenter__(self) -> AsyncNamespaceWatcher:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.cancel()

    def __aiter__(self) -> AsyncNamespaceWatcher:
        return self

    async def __anext__(self) -> WatchResponse:
        response = await self._watcher.__anext__()
        return core.strip_watch_response(self._namespace, response)


class AsyncNamespace:
    """A view of ``client`` (``AsyncClient``, or another namespace view) whose keys are
    relative to ``prefix``, as Go's clientv3 ``namespace`` package.

    Every key and range given to it is moved under ``prefix``; every key it returns (``kvs``,
    ``prev_kv``, ``prev_kvs``, transaction results, watch events) has ``prefix`` stripped.
    A range stays inside the namespace: ``prefix=True`` on ``""`` or ``from_key=True`` reach
    the namespace's end, not the keyspace's. An empty key raises ``EmptyKeyError`` before any
    RPC. Leases are not namespaced (``lease=`` takes any lease of the cluster); ``compact``
    acts on the whole store. Each method runs the RPC of the client method of the same name,
    at the same consistency. The view owns nothing: close the client, not the view.

    Example::

        app = AsyncNamespace(client, "/app/")
        await app.put("mode", "fast")          # writes /app/mode
        (await app.get("mode")).kvs[0].key     # b"mode"
    """

    def __init__(self, client: AsyncClient | AsyncNamespace, prefix: bytes | str) -> None:
        check_client(client, AsyncNamespace)
        self.client = client
        #: The namespace's key prefix, as bytes.
        self.prefix = to_bytes(prefix, "prefix")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.client!r}, {self.prefix!r})"

    # --- KV -----------------------------------------------------------------------------------

    async def put(
        self,
        key: bytes | str,
        value: bytes | str,
        *,
        lease: LeaseLike = None,
        prev_kv: bool = False,
        ignore_value: bool = False,
        ignore_lease: bool = False,
        timeout: float | None = None,
    ) -> PutResponse:
        """Store ``value`` under ``prefix + key`` (KV.Put, linearizable); see ``put`` of the
        client."""
        response = await self.client.put(
            core.prefix_key(self.prefix, to_bytes(key), "put"), value, lease=lease,
            prev_kv=prev_kv, ignore_value=ignore_value, ignore_lease=ignore_lease,
            timeout=timeout,
        )
        return core.strip_put(self.prefix, response)

    async def get(
        self,
        key: bytes | str,
        *,
        range_end: bytes | str | None = None,
        prefix: bool = False,
        from_key: bool = False,
        limit: int = 0,
        revision: int = 0,
        sort_order: SortOrder = "none",
        sort_target: SortTarget = "key",
        serializable: bool = False,
        keys_only: bool = False,
        count_only: bool = False,
        min_mod_revision: int = 0,
        max_mod_revision: int = 0,
        min_create_revision: int = 0,
        max_create_revision: int = 0,
        timeout: float | None = None,
    ) -> GetResponse:
        """Read a key or a range of the namespace (KV.Range, linearizable unless
        ``serializable=True``); see ``get`` of the client. ``get("", prefix=True)`` reads the
        whole namespace."""
        full_key, end = core.prefix_range(self.prefix, key, range_end, prefix, from_key, "get")
        response = await self.client.get(
            full_key, range_end=end, limit=limit, revision=revision, sort_order=sort_order,
            sort_target=sort_target, serializable=serializable, keys_only=keys_only,
            count_only=count_only, min_mod_revision=min_mod_revision,
            max_mod_revision=max_mod_revision, min_create_revision=min_create_revision,
            max_create_revision=max_create_revision, timeout=timeout,
        )
        return core.strip_get(self.prefix, response)

    async def get_prefix(
        self,
        prefix: bytes | str,
        *,
        limit: int = 0,
        revision: int = 0,
        sort_order: SortOrder = "none",
        sort_target: SortTarget = "key",
        serializable: bool = False,
        keys_only: bool = False,
        count_only: bool = False,
        timeout: float | None = None,
    ) -> GetResponse:
        """Read every key of the namespace starting with ``prefix`` (KV.Range)."""
        return await self.get(
            prefix, prefix=True, limit=limit, revision=revision, sort_order=sort_order,
            sort_target=sort_target, serializable=serializable, keys_only=keys_only,
            count_only=count_only, timeout=timeout,
        )

    async def delete(
        self,
        key: bytes | str,
        *,
        range_end: bytes | str | None = None,
        prefix: bool = False,
        from_key: bool = False,
        prev_kv: bool = False,
        timeout: float | None = None,
    ) -> DeleteResponse:
        """Delete a key or a range of the namespace (KV.DeleteRange); see ``delete`` of the
        client. ``delete("", prefix=True)`` empties the namespace and nothing else."""
        full_key, end = core.prefix_range(
            self.prefix, key, range_end, prefix, from_key, "delete"
        )
        response = await self.client.delete(
            full_key, range_end=end, prev_kv=prev_kv, timeout=timeout
        )
        return core.strip_delete(self.prefix, response)

    async def delete_prefix(
        self, prefix: bytes | str, *, prev_kv: bool = False, timeout: float | None = None
    ) -> DeleteResponse:
        """Delete every key of the namespace starting with ``prefix`` (KV.DeleteRange)."""
        return await self.delete(prefix, prefix=True, prev_kv=prev_kv, timeout=timeout)

    async def txn(
        self,
        compare: Sequence[Compare] = (),
        success: Sequence[Op] = (),
        failure: Sequence[Op] = (),
        *,
        timeout: float | None = None,
    ) -> TxnResponse:
        """Run a transaction inside the namespace (KV.Txn); see ``txn`` of the client.

        The keys and ranges of every ``Compare`` and ``Op`` (nested transactions too) are
        moved under the prefix; the ops themselves are left untouched for reuse.
        """
        moved = core.prefix_txn(self.prefix, compare, success, failure)
        response = await self.client.txn(*moved, timeout=timeout)
        return core.strip_txn(self.prefix, response)

    async def compact(
        self, revision: int, *, physical: bool = False, timeout: float | None = None
    ) -> CompactResponse:
        """Compact the whole store's history (KV.Compact): revisions are not namespaced."""
        return await self.client.compact(revision, physical=physical, timeout=timeout)

    # --- Watch --------------------------------------------------------------------------------

    def watch(
        self,
        key: bytes | str,
        *,
        prefix: bool = False,
        range_end: bytes | str | None = None,
        start_revision: int = 0,
        prev_kv: bool = False,
        filters: Iterable[WatchFilter] = (),
        progress_notify: bool = False,
        fragment: bool = False,
        buffer: int = DEFAULT_BUFFER,
    ) -> AsyncNamespaceWatcher:
        """Watch a key or a range of the namespace (Watch.Watch on the client's shared
        stream); see ``watch`` of the client. Event keys are relative to the namespace."""
        full_key, end = core.prefix_range(self.prefix, key, range_end, prefix, False, "watch")
        watcher = self.client.watch(
            full_key, range_end=end, start_revision=start_revision, prev_kv=prev_kv,
            filters=filters, progress_notify=progress_notify, fragment=fragment, buffer=buffer,
        )
        return AsyncNamespaceWatcher(watcher, self.prefix)

    async def add_watch_callback(
        self,
        key: bytes | str,
        callback: Callable[[WatchResponse | EtcdError], Any],
        *,
        prefix: bool = False,
        range_end: bytes | str | None = None,
        start_revision: int = 0,
        prev_kv: bool = False,
        filters: Iterable[WatchFilter] = (),
        progress_notify: bool = False,
        fragment: bool = False,
        timeout: float | None = None,
    ) -> AsyncWatchCallback:
        """Watch like ``watch()`` and pass each response, keys relative to the namespace, to
        ``callback`` (from a worker of the watch); see ``add_watch_callback`` of the client."""
        full_key, end = core.prefix_range(self.prefix, key, range_end, prefix, False, "watch")
        namespace = self.prefix

        def stripped(item: WatchResponse | EtcdError) -> Any:
            return callback(core.strip_watch_item(namespace, item))

        return await self.client.add_watch_callback(
            full_key, stripped, range_end=end, start_revision=start_revision, prev_kv=prev_kv,
            filters=filters, progress_notify=progress_notify, fragment=fragment,
            timeout=timeout,
        )

    async def request_progress(self) -> None:
        """Ask for a progress notification on every watcher of the client (Watch.Progress)."""
        await self.client.request_progress()

    # --- Lease (not namespaced) ---------------------------------------------------------------

    async def lease_grant(
        self, ttl: float, id: int = 0, *, timeout: float | None = None
    ) -> AsyncLease:
        """Create a lease (Lease.LeaseGrant); see ``lease_grant`` of the client."""
        return await self.client.lease_grant(ttl, id, timeout=timeout)

    async def lease_revoke(
        self, lease: LeaseLike, *, timeout: float | None = None
    ) -> LeaseRevokeResponse:
        """Revoke a lease, deleting all its keys, in any namespace (Lease.LeaseRevoke)."""
        return await self.client.lease_revoke(lease, timeout=timeout)

    async def lease_time_to_live(
        self, lease: LeaseLike, *, keys: bool = False, timeout: float | None = None
    ) -> LeaseTimeToLive:
        """The TTL of a lease (Lease.LeaseTimeToLive, served by the leader); with
        ``keys=True`` only its keys inside the namespace, relative to it, as in Go."""
        response = await self.client.lease_time_to_live(lease, keys=keys, timeout=timeout)
        return core.strip_time_to_live(self.prefix, response)

    async def leases(self, *, timeout: float | None = None) -> list[LeaseStatus]:
        """Every lease of the cluster (Lease.LeaseLeases)."""
        return await self.client.leases(timeout=timeout)

    async def lease_keep_alive_once(
        self, lease: LeaseLike, *, timeout: float | None = None
    ) -> LeaseKeepAliveResponse:
        """Renew a lease once (LeaseKeepAlive); see ``lease_keep_alive_once`` of the client."""
        return await self.client.lease_keep_alive_once(lease, timeout=timeout)

    async def lease_keep_alive(self, lease: LeaseLike) -> AsyncLeaseKeepAlive:
        """Keep a lease alive in the background on the client's shared LeaseKeepAlive stream;
        see ``lease_keep_alive`` of the client."""
        return await self.client.lease_keep_alive(lease)

