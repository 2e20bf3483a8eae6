# Generated from etcdmap/_async/namespace.py by scripts/unasync: do not edit.
"""``Namespace``: a view of a client (``Client``) whose keys all live under a prefix."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .._core import namespace as core
from .._core.checks import check_client
from .._core.errors import EtcdError
from .._core.hooks import HookSet
from .._core.keys import to_bytes
from .._core.kv import LeaseLike, Op
from .._core.lease import (
    LeaseKeepAliveResponse,
    LeaseRevokeResponse,
    LeaseStatus,
    LeaseTimeToLive,
)
from .._core.watch import WatchResponse
from .client import Client
from .kv import KV, WatchIterator, WatcherOptions, WatchOptions
from .lease import Lease, LeaseKeepAlive
from .watch import WatchCallback

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["Namespace", "NamespaceWatcher"]

_Response = TypeVar("_Response")


class NamespaceWatcher:
    """What ``Namespace.watch`` returns: the client's watcher (``Watcher``), with
    the keys of its events (``kv`` and ``prev_kv``) relative to the namespace."""

    def __init__(self, watcher: WatchIterator, namespace: bytes) -> None:
        self._watcher = watcher
        self._namespace = namespace

    @property
    def next_revision(self) -> int:
        """The first revision this watcher has not delivered yet (0 before it started)."""
        return self._watcher.next_revision

    @property
    def created_revision(self) -> int:
        """The server's revision when it created the watch (0 before it started)."""
        return self._watcher.created_revision

    def for_worker(self) -> NamespaceWatcher:
        """Mark the watcher as iterated by a background worker; see ``for_worker`` of the
        client's watcher. Returns this watcher."""
        self._watcher.for_worker()
        return self

    def start(self, timeout: float | None = None) -> NamespaceWatcher:
        """Register the watch on the client's stream (done by ``with`` and iteration);
        see ``start`` of the client's watcher for ``timeout``."""
        self._watcher.start(timeout)
        return self

    def cancel(self) -> None:
        """Stop watching: the server watch is cancelled and iteration ends."""
        self._watcher.cancel()

    def __enter__(self) -> NamespaceWatcher:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.cancel()

    def __iter__(self) -> NamespaceWatcher:
        return self

    def __next__(self) -> WatchResponse:
        response = self._watcher.__next__()
        return core.strip_watch_response(self._namespace, response)


class Namespace(KV):
    """A view of ``client`` (``Client``, or another namespace view) whose keys are
    relative to ``prefix``, as Go's clientv3 ``namespace`` package. It is a KV
    (``KV``): every KV method runs through ``do``.

    Every key and range given to it is moved under ``prefix``; every key it returns (``kvs``,
    ``prev_kv``, ``prev_kvs``, transaction results, watch events) has ``prefix`` stripped.
    A range stays inside the namespace: ``prefix=True`` on ``""`` or ``from_key=True`` reach
    the namespace's end, not the keyspace's. An empty key raises ``EmptyKeyError`` before any
    RPC. Leases are not namespaced (``lease=`` takes any lease of the cluster); ``compact``
    acts on the whole store. Each method runs the RPC of the client method of the same name,
    at the same consistency. The view owns nothing: close the client, not the view.

    Example::

        app = Namespace(client, "/app/")
        app.put("mode", "fast")          # writes /app/mode
        (app.get("mode")).kvs[0].key     # b"mode"
    """

    def __init__(self, client: Client | Namespace, prefix: bytes | str) -> None:
        check_client(client, Namespace)
        self.client = client
        #: The namespace's key prefix, as bytes.
        self.prefix = to_bytes(prefix, "prefix")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.client!r}, {self.prefix!r})"

    # --- KV -----------------------------------------------------------------------------------

    def do(self, op: Op[_Response], *, timeout: float | None = None) -> _Response:
        """Run ``op`` on the client with its keys and ranges (nested transactions too) moved
        under the prefix, and return the response with the prefix stripped from every key:
        the same RPC at the same consistency as on the client. ``Op.compact`` acts on the
        whole store (revisions are not namespaced). ``op`` itself is left untouched."""
        moved = core.prefix_op(self.prefix, op, op.kind)
        return core.strip_response(self.prefix, self.client.do(moved, timeout=timeout))

    # --- Watch --------------------------------------------------------------------------------

    def watch(self, key: bytes | str, **options: Unpack[WatcherOptions]) -> NamespaceWatcher:
        """Watch a key or a range of the namespace (Watch.Watch on the client's shared
        stream), with the options of ``watch`` of the client. Event keys are relative to the
        namespace."""
        watcher = self.client.watch(self._watch_range(key, options), **options)
        return NamespaceWatcher(watcher, self.prefix)

    def add_watch_callback(
        self,
        key: bytes | str,
        callback: Callable[[WatchResponse | EtcdError], Any],
        *,
        timeout: float | None = None,
        **options: Unpack[WatchOptions],
    ) -> WatchCallback:
        """Watch like ``watch()`` and pass each response, keys relative to the namespace, to
        ``callback`` (from a worker of the watch); see ``add_watch_callback`` of the client."""
        full_key = self._watch_range(key, options)
        namespace = self.prefix

        def stripped(item: WatchResponse | EtcdError) -> Any:
            return callback(core.strip_watch_item(namespace, item))

        return self.client.add_watch_callback(full_key, stripped, timeout=timeout, **options)

    def _watch_range(self, key: bytes | str, options: WatchOptions) -> bytes:
        """The key of a watch inside the namespace; its range end (from ``prefix`` and
        ``range_end``) replaces them in ``options``."""
        prefix = options.pop("prefix", False)
        full_key, options["range_end"] = core.prefix_range(
            self.prefix, key, options.get("range_end"), prefix, False, "watch"
        )
        return full_key

    def request_progress(self) -> None:
        """Ask for a progress notification on every watcher of the client (Watch.Progress)."""
        self.client.request_progress()

    def reopen_watches(self) -> None:
        """Re-open the client's shared watch stream; see ``reopen_watches`` of the client."""
        self.client.reopen_watches()

    @property
    def hooks(self) -> HookSet | None:
        """The client's observation hooks (layers above report through them)."""
        return self.client.hooks

    # --- Lease (not namespaced) ---------------------------------------------------------------

    def lease_grant(
        self, ttl: float, id: int = 0, *, timeout: float | None = None
    ) -> Lease:
        """Create a lease (Lease.LeaseGrant); see ``lease_grant`` of the client."""
        return self.client.lease_grant(ttl, id, timeout=timeout)

    def lease_revoke(
        self, lease: LeaseLike, *, timeout: float | None = None
    ) -> LeaseRevokeResponse:
        """Revoke a lease, deleting all its keys, in any namespace (Lease.LeaseRevoke)."""
        return self.client.lease_revoke(lease, timeout=timeout)

    def lease_time_to_live(
        self, lease: LeaseLike, *, keys: bool = False, timeout: float | None = None
    ) -> LeaseTimeToLive:
        """The TTL of a lease (Lease.LeaseTimeToLive, served by the leader); with
        ``keys=True`` only its keys inside the namespace, relative to it, as in Go."""
        response = self.client.lease_time_to_live(lease, keys=keys, timeout=timeout)
        return core.strip_time_to_live(self.prefix, response)

    def leases(self, *, timeout: float | None = None) -> list[LeaseStatus]:
        """Every lease of the cluster (Lease.LeaseLeases)."""
        return self.client.leases(timeout=timeout)

    def lease_keep_alive_once(
        self, lease: LeaseLike, *, timeout: float | None = None
    ) -> LeaseKeepAliveResponse:
        """Renew a lease once (LeaseKeepAlive); see ``lease_keep_alive_once`` of the client."""
        return self.client.lease_keep_alive_once(lease, timeout=timeout)

    def lease_keep_alive(self, lease: LeaseLike) -> LeaseKeepAlive:
        """Keep a lease alive in the background on the client's shared LeaseKeepAlive stream;
        see ``lease_keep_alive`` of the client."""
        return self.client.lease_keep_alive(lease)

