# Generated from etcdmap/_async/kv.py by scripts/unasync: do not edit.
"""The KV interface (``KV``: every KV method written once over ``do(op)``), the small
watch and lease protocols the layers above a KV need, and the client's KV service (Range,
Put, DeleteRange, Txn and Compact over gRPC)."""

from __future__ import annotations

import functools
from abc import abstractmethod
from collections.abc import Iterator, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, TypeVar, cast, runtime_checkable

from .._backends.threads import Ahead
from .._core import kv
from .._core.errors import CompactedError, EtcdError, FutureRevisionError
from .._core.keys import to_bytes
from .._core.kv import Compare, Op
from .._core.results import (
    CompactResponse,
    DeleteResponse,
    GetResponse,
    PutResponse,
    TxnResponse,
)
from .base import ClientBase

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._core.hooks import HookSet
    from .._core.kv import (
        DeleteOptions,
        DeleteRangeOptions,
        LeaseLike,
        PutOptions,
        RangeOptions,
        ReadOptions,
    )
    from .._core.lease import LeaseRevokeResponse
    from .._core.watch import WatchFilter, WatchResponse
    from .lease import Lease, LeaseKeepAlive
    from .watch import WatchCallback

__all__ = [
    "KV",
    "KVService",
    "Leases",
    "WatchKV",
    "WatchIterator",
    "Watches",
    "WatchOptions",
    "WatcherOptions",
    "leases_of",
    "watch_kv_of",
]

_Response = TypeVar("_Response")


class KV(Protocol):
    """A KV: anything that runs an ``Op`` with ``do``. Every other method is written here
    once on top of it, so ``Client``, ``Namespace``, ``OrderingKV`` and
    ``LeasingKV`` (which subclass it and implement ``do``) all have them, and every
    layer above (maps, mirrors, sessions, locks, recipes) takes any of them. Keys and values
    are ``bytes`` or ``str`` (UTF-8). A KV with its own consistency (a namespace, a cache)
    says so on its ``do``; what is said below is the client's.
    """

    @abstractmethod
    def do(self, op: Op[_Response], *, timeout: float | None = None) -> _Response:
        """Run ``op`` (``Op.get``, ``Op.put``, ``Op.delete``, ``Op.txn`` or ``Op.compact``)
        and return its typed response: ``GetResponse`` for ``Op.get`` and so on. ``timeout``:
        seconds before ``DeadlineExceededError``; the client's default when None."""

    def put(
        self,
        key: bytes | str,
        value: bytes | str,
        *,
        timeout: float | None = None,
        **options: Unpack[PutOptions],
    ) -> PutResponse:
        """Store ``value`` under ``key`` (KV.Put, one new revision, linearizable).

        Example: ``client.put("/config/mode", "fast")``.

        Parameters
        ----------
        key, value:
            The key and its new value.
        timeout:
            Seconds before ``DeadlineExceededError``; the client's default when None.

        Other Parameters
        ----------------
        lease : int | Lease
            Attach the key to a lease (an id or a ``Lease``); the key is deleted with it.
        prev_kv : bool
            Return the key as it was before this write in ``prev_kv``.
        ignore_value, ignore_lease : bool
            Keep the current value / lease (the key must exist, else ``KeyNotFoundError``).
        """
        op: Op[PutResponse] = Op("put", kv.put_request(key, value, options))
        return self.do(op, timeout=timeout)

    def get(
        self, key: bytes | str, *, timeout: float | None = None, **options: Unpack[RangeOptions]
    ) -> GetResponse:
        """Read one key, or a range of keys (KV.Range).

        Linearizable by default: the answer reflects every write acknowledged before the call.
        ``serializable=True`` lets the member answer from its local state (faster, may be stale).
        At the latest revision unless ``revision`` is given.

        Example: ``(client.get("/config/mode")).kvs[0].value``.

        Parameters
        ----------
        key:
            The key, or the start of the range.
        timeout:
            Seconds before ``DeadlineExceededError``; the client's default when None.

        Other Parameters
        ----------------
        range_end : bytes | str | None
            Read ``[key, range_end)``.
        prefix, from_key : bool
            Read every key starting with ``key`` / every key ``>= key``.
        limit : int
            Return at most this many keys (``more`` tells whether there were more).
        revision : int
            Read the keyspace as it was at this revision (``CompactedError`` if compacted,
            ``FutureRevisionError`` if not reached yet); 0 reads the latest.
        sort_order : str
            Server-side sort: ``"none" | "ascend" | "descend"``.
        sort_target : str
            What it sorts by: ``"key" | "version" | "create" | "mod" | "value"``.
        serializable : bool
            Answer from the member's local state, without a round trip to the leader.
        keys_only, count_only : bool
            Leave out values / return only ``count``.
        min_mod_revision, max_mod_revision, min_create_revision, max_create_revision : int
            Keep only keys whose revisions are within these bounds (0 = no bound).
        """
        op: Op[GetResponse] = Op("get", kv.range_request(key, options))
        return self.do(op, timeout=timeout)

    def get_prefix(
        self, prefix: bytes | str, *, timeout: float | None = None, **options: Unpack[ReadOptions]
    ) -> GetResponse:
        """Read every key starting with ``prefix`` (KV.Range over the prefix's range,
        linearizable unless ``serializable=True``, at the latest revision unless
        ``revision``). The options are ``get``'s, but for the range ones."""
        return self.do(Op.get(prefix, prefix=True, **options), timeout=timeout)

    def get_pages(
        self,
        key: bytes | str,
        *,
        range_end: bytes | str | None = None,
        prefix: bool = False,
        page_size: int = 1000,
        revision: int = 0,
        keys_only: bool = False,
        serializable: bool = False,
        timeout: float | None = None,
        read_ahead: bool = False,
    ) -> Iterator[GetResponse]:
        """Read a range in pages of at most ``page_size`` keys (KV.Range with ``limit``),
        every page at one revision: ``revision``, or the one the first page was read at.
        Together the pages are one consistent snapshot, and memory is bounded by a page (two
        with ``read_ahead``). The next page is read only when asked for, or with
        ``read_ahead`` as soon as a page arrives, so that the server reads it while the
        caller handles this one; ``CompactedError`` if compaction overtakes the revision.

        The first page's ``count`` is the whole range's. Later pages are read over windows of
        the range sized to hold about 1.5 pages, cut to a page by the limit (etcd counts
        every key up to a limited read's range end, so pages that all ran to the end would
        cost the server O(N²/page_size)); their ``count`` and ``more`` describe their window,
        and a page may hold fewer keys than ``page_size``.

        A page at a pinned revision (every page but a first one read at the latest revision,
        which honours ``serializable``) is the same on every member that has reached that
        revision, so it is read serializable, with no ReadIndex round trip to the leader; a
        member that has not reached it yet answers ``FutureRevisionError``, and the page is
        read again linearizable, which waits for the member to catch up.

        Parameters
        ----------
        key, range_end, prefix:
            The range, as for ``get``.
        page_size:
            The most keys in one page (a positive int).
        revision, keys_only, serializable, timeout:
            As for ``get`` (``timeout`` bounds each page's read).
        read_ahead:
            Read the next page while the caller handles this one (a page the caller does
            not ask for is read all the same, then dropped).
        """
        start, end = kv.resolve_range(to_bytes(key), range_end, prefix, False)
        plan = kv.PagePlan(start, end, kv.check_page_size(page_size))
        read = functools.partial(
            self._page, limit=page_size, keys_only=keys_only, serializable=serializable,
            timeout=timeout,
        )  # fmt: skip
        opening = True
        ahead: Ahead[GetResponse] | None = None
        try:
            while not plan.done:
                if ahead is None:
                    page = read(*plan.window(), revision=revision)
                else:
                    page, ahead = ahead.result(), None
                revision = revision or page.header.revision
                plan.advance(page.kvs, page.more, page.count)
                if read_ahead and not plan.done:
                    ahead = Ahead.start(
                        functools.partial(read, *plan.window(), revision=revision)
                    )
                if page.kvs or opening:  # the first page always: it carries the count
                    yield page
                opening = False
        finally:
            if ahead is not None:
                ahead.cancel()

    def _page(
        self,
        start: bytes,
        end: bytes,
        limit: int,
        revision: int,
        keys_only: bool,
        serializable: bool,
        timeout: float | None,
    ) -> GetResponse:
        """One page of ``get_pages``: serializable when its revision is pinned (see there)."""
        read = functools.partial(
            self.get, start, range_end=end, limit=limit, revision=revision,
            keys_only=keys_only, timeout=timeout,
        )  # fmt: skip
        if revision:
            try:
                return read(serializable=True)
            except FutureRevisionError:
                serializable = False  # this member is behind: a linearizable read waits
        return read(serializable=serializable)

    def delete(
        self,
        key: bytes | str,
        *,
        timeout: float | None = None,
        **options: Unpack[DeleteRangeOptions],
    ) -> DeleteResponse:
        """Delete one key or a range (KV.DeleteRange, linearizable; one new revision if
        anything was deleted). ``deleted`` counts the keys removed.

        Parameters
        ----------
        key, timeout:
            The key (or the start of the range) and the timeout, as for ``get``.

        Other Parameters
        ----------------
        range_end : bytes | str | None
            Delete ``[key, range_end)``, as for ``get``.
        prefix, from_key : bool
            Delete every key starting with ``key`` / every key ``>= key``.
        prev_kv : bool
            Return the deleted keys in ``prev_kvs``.
        """
        return self.do(Op.delete(key, **options), timeout=timeout)

    def delete_prefix(
        self, prefix: bytes | str, *, timeout: float | None = None, **options: Unpack[DeleteOptions]
    ) -> DeleteResponse:
        """Delete every key starting with ``prefix`` (KV.DeleteRange over the prefix's range,
        linearizable); ``prev_kv=True`` returns them."""
        return self.do(Op.delete(prefix, prefix=True, **options), timeout=timeout)

    def txn(
        self,
        compare: Sequence[Compare] = (),
        success: Sequence[Op] = (),
        failure: Sequence[Op] = (),
        *,
        timeout: float | None = None,
    ) -> TxnResponse:
        """Run a transaction (KV.Txn, linearizable): if every ``compare`` holds, run
        ``success``, else ``failure``, atomically at one new revision (reads inside see the
        store at it).

        The server allows at most ``--max-txn-ops`` (128) ops and no key written twice.

        Parameters
        ----------
        compare:
            The conditions (``Compare``), checked at the transaction's revision.
        success, failure:
            The ops (``Op.get/put/delete/txn``) run when the conditions all hold / not.
        timeout:
            Seconds before ``DeadlineExceededError``; the client's default when None.

        Examples
        --------
        ::

            client.txn(
                compare=[Compare.version("/lock", "==", 0)],
                success=[Op.put("/lock", "me")],
                failure=[Op.get("/lock")],
            )
        """
        return self.do(Op.txn(compare, success, failure), timeout=timeout)

    def compact(
        self, revision: int, *, physical: bool = False, timeout: float | None = None
    ) -> CompactResponse:
        """Discard the history of the whole store before ``revision`` (KV.Compact; revisions
        are never namespaced).

        Reads and watches at older revisions then fail with ``CompactedError``. With
        ``physical=True`` the call returns only once the backend has removed the old data.
        """
        return self.do(Op.compact(revision, physical=physical), timeout=timeout)


@runtime_checkable
class Leases(Protocol):
    """The lease calls a layer above a KV needs (sessions, maps with ``ttl=``):
    ``Client`` and ``Namespace`` have them."""

    def lease_grant(
        self, ttl: float, id: int = 0, *, timeout: float | None = None
    ) -> Lease: ...

    def lease_revoke(
        self, lease: LeaseLike, *, timeout: float | None = None
    ) -> LeaseRevokeResponse: ...

    def lease_keep_alive(self, lease: LeaseLike) -> LeaseKeepAlive: ...


class WatchIterator(Protocol):
    """What ``watch`` returns: started by ``start()`` or ``with``, iterated for
    ``WatchResponse``s, stopped by ``cancel()``."""

    @property
    def next_revision(self) -> int: ...

    @property
    def created_revision(self) -> int: ...

    def start(self, timeout: float | None = None) -> WatchIterator: ...

    def for_worker(self) -> WatchIterator: ...

    def cancel(self) -> None: ...

    def __enter__(self) -> WatchIterator: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def __iter__(self) -> WatchIterator: ...

    def __next__(self) -> WatchResponse: ...


class WatchOptions(TypedDict, total=False):
    """The options of ``add_watch_callback`` (see ``watch`` of the client)."""

    prefix: bool
    range_end: bytes | str | None
    start_revision: int
    prev_kv: bool
    filters: Iterable[WatchFilter]
    progress_notify: bool
    fragment: bool


class WatcherOptions(WatchOptions, total=False):
    """The options of ``watch`` (see ``watch`` of the client)."""

    buffer: int


class Watches(Protocol):
    """The watch calls a layer above a KV needs (locks, elections, mirrors):
    ``Client`` and ``Namespace`` have them."""

    @property
    def hooks(self) -> HookSet | None: ...

    def reopen_watches(self) -> None: ...

    # The options spelled out, not **Unpack[WatchOptions]: pyright matches the client's
    # explicit keywords to a protocol's only that way.
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
    ) -> WatchIterator: ...

    def add_watch_callback(
        self,
        key: bytes | str,
        callback: Callable[[WatchResponse | EtcdError], Any],
        *,
        prefix: bool = False,
        start_revision: int = 0,
        filters: Iterable[WatchFilter] = (),
        timeout: float | None = None,
    ) -> WatchCallback: ...

    def request_progress(self) -> None: ...


@runtime_checkable
class WatchKV(KV, Leases, Watches, Protocol):
    """A KV with the lease and watch calls: what sessions, locks, elections, the recipes
    and mirrors run on (``Client``, ``Namespace``)."""


def leases_of(kv: KV, what: str) -> Leases:
    """``kv`` as ``Leases``; ``TypeError`` saying ``what`` needs them if it has none
    (an ordering or leasing KV)."""
    _check_kv(kv, Leases, what)
    return cast(Leases, kv)


def watch_kv_of(kv: KV, what: str) -> WatchKV:
    """``kv`` as ``WatchKV``; ``TypeError`` saying ``what`` needs watches and leases
    if it has none (an ordering or leasing KV)."""
    _check_kv(kv, WatchKV, what)
    return cast(WatchKV, kv)


def _check_kv(kv: KV, protocol: type, what: str) -> None:
    if not isinstance(kv, protocol):
        raise TypeError(
            f"{what} needs a KV with the calls of {protocol.__name__} (Client, "
            f"Namespace), not {type(kv).__name__}"
        )


class KVService(ClientBase, KV):
    """The KV of ``Client``: ``do`` runs the op's unary RPC on the client's connection
    (with the client's retries and error mapping); linearizable, but for serializable reads."""

    def do(self, op: Op[_Response], *, timeout: float | None = None) -> _Response:
        """Run ``op`` as one KV RPC: Range, Put, DeleteRange, Txn or Compact. A
        ``CompactedError`` of a read or compaction carries ``compact_revision``, where the
        store was compacted (found by a few count-only reads)."""
        rpc, parse = _RPCS[op.kind]
        try:
            response = self._unary(rpc, op.request, timeout)
        except CompactedError as error:
            if op.kind == "get" or op.kind == "compact":
                error.compact_revision = self._compact_revision(op.request.revision, timeout)
            raise
        result: _Response = parse(response)
        return result

    def _compact_revision(self, compacted: int, timeout: float | None) -> int | None:
        """Where the store was compacted, found by bisection (see CompactRevisionSearch)."""
        try:
            current = self._unary("range", kv.probe_request(0), timeout)
            search = kv.CompactRevisionSearch(compacted, current.header.revision)
            while not search.done:
                revision = search.probe()
                try:
                    self._unary("range", kv.probe_request(revision), timeout)
                except CompactedError:
                    search.record(revision, False)
                else:
                    search.record(revision, True)
        except EtcdError:
            return None  # the original error matters more than this detail
        return search.result


#: Op kind -> the RPC that runs it and the parser of its response.
_RPCS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "get": ("range", kv.parse_get),
    "put": ("put", kv.parse_put),
    "delete": ("delete_range", kv.parse_delete),
    "txn": ("txn", kv.parse_txn),
    "compact": ("compact", kv.parse_compact),
}
