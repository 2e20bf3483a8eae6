# Generated from etcdmap/_async/kv.py by scripts/unasync: do not edit.
"""The KV service: Range, Put, DeleteRange, Txn and Compact."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence

from .._core import kv
from .._core.errors import CompactedError, EtcdError, FutureRevisionError
from .._core.keys import to_bytes
from .._core.kv import Compare, LeaseLike, Op, SortOrder, SortTarget
from .._core.results import (
    CompactResponse,
    DeleteResponse,
    GetResponse,
    PutResponse,
    TxnResponse,
)
from .base import ClientBase

__all__ = ["KV"]


class KV(ClientBase):
    """KV methods of ``Client``. Keys and values are ``bytes`` or ``str`` (UTF-8)."""

    def put(
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
        """Store ``value`` under ``key`` (KV.Put, one new revision, linearizable).

        Parameters
        ----------
        lease:
            Attach the key to a lease (an id or a ``Lease``); the key is deleted with it.
        prev_kv:
            Return the key as it was before this write in ``prev_kv``.
        ignore_value, ignore_lease:
            Keep the current value / lease (the key must exist, else ``KeyNotFoundError``).
        timeout:
            Seconds before ``DeadlineExceededError``; the client's default when None.

        Example: ``client.put("/config/mode", "fast")``.
        """
        request = kv.put_request(key, value, lease, prev_kv, ignore_value, ignore_lease)
        response = self._unary("put", request, timeout)
        return kv.parse_put(response)

    def get(
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
        """Read one key, or a range of keys (KV.Range).

        Linearizable by default: the answer reflects every write acknowledged before the call.
        ``serializable=True`` lets the member answer from its local state (faster, may be stale).

        Parameters
        ----------
        range_end, prefix, from_key:
            Read ``[key, range_end)``, every key starting with ``key``, or every key ``>= key``.
        limit:
            Return at most this many keys (``more`` tells whether there were more).
        revision:
            Read the keyspace as it was at this revision (``CompactedError`` if compacted,
            ``FutureRevisionError`` if not reached yet); 0 reads the latest.
        sort_order, sort_target:
            Server-side sort: ``"none" | "ascend" | "descend"`` by
            ``"key" | "version" | "create" | "mod" | "value"``.
        keys_only, count_only:
            Leave out values / return only ``count``.
        min_mod_revision, max_mod_revision, min_create_revision, max_create_revision:
            Keep only keys whose revisions are within these bounds (0 = no bound).
        timeout:
            Seconds before ``DeadlineExceededError``; the client's default when None.

        Example: ``(client.get("/config/mode")).kvs[0].value``.
        """
        request = kv.range_request(
            key, range_end, prefix, from_key, limit, revision, sort_order, sort_target,
            serializable, keys_only, count_only, min_mod_revision, max_mod_revision,
            min_create_revision, max_create_revision,
        )
        try:
            response = self._unary("range", request, timeout)
        except CompactedError as error:
            error.compact_revision = self._compact_revision(request.revision, timeout)
            raise
        return kv.parse_get(response)

    def get_prefix(
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
        """Read every key starting with ``prefix`` (KV.Range over the prefix's range)."""
        return self.get(
            prefix, prefix=True, limit=limit, revision=revision, sort_order=sort_order,
            sort_target=sort_target, serializable=serializable, keys_only=keys_only,
            count_only=count_only, timeout=timeout,
        )

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
    ) -> Iterator[GetResponse]:
        """Read a range in pages of at most ``page_size`` keys (KV.Range with ``limit``),
        every page at one revision: ``revision``, or the one the first page was read at.
        Together the pages are one consistent snapshot, and memory is bounded by a page. The
        next page is read only when asked for; ``CompactedError`` if compaction overtakes the
        revision.

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
        """
        start, end = kv.resolve_range(to_bytes(key), range_end, prefix, False)
        plan = kv.PagePlan(start, end, kv.check_page_size(page_size))
        opening = True
        while not plan.done:
            start, end = plan.window()
            page = self._page(
                start, end, page_size, revision, keys_only, serializable, timeout
            )
            if page.kvs or opening:  # the first page always: it carries the count
                yield page
            opening = False
            revision = revision or page.header.revision
            plan.advance(page.kvs, page.more, page.count)

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
        range_end: bytes | str | None = None,
        prefix: bool = False,
        from_key: bool = False,
        prev_kv: bool = False,
        timeout: float | None = None,
    ) -> DeleteResponse:
        """Delete one key or a range (KV.DeleteRange, one new revision if anything was deleted).

        ``deleted`` counts the keys removed; with ``prev_kv=True`` ``prev_kvs`` holds them.
        """
        request = kv.delete_request(key, range_end, prefix, from_key, prev_kv)
        response = self._unary("delete_range", request, timeout)
        return kv.parse_delete(response)

    def delete_prefix(
        self, prefix: bytes | str, *, prev_kv: bool = False, timeout: float | None = None
    ) -> DeleteResponse:
        """Delete every key starting with ``prefix`` (KV.DeleteRange over the prefix's range)."""
        return self.delete(prefix, prefix=True, prev_kv=prev_kv, timeout=timeout)

    def txn(
        self,
        compare: Sequence[Compare] = (),
        success: Sequence[Op] = (),
        failure: Sequence[Op] = (),
        *,
        timeout: float | None = None,
    ) -> TxnResponse:
        """Run a transaction (KV.Txn): if every ``compare`` holds, run ``success``, else
        ``failure``, atomically at one revision.

        The server allows at most ``--max-txn-ops`` (128) ops and no key written twice.

        Example::

            client.txn(
                compare=[Compare.version("/lock", "==", 0)],
                success=[Op.put("/lock", "me")],
                failure=[Op.get("/lock")],
            )
        """
        request = kv.txn_request(compare, success, failure)
        response = self._unary("txn", request, timeout)
        return kv.parse_txn(response)

    def compact(
        self, revision: int, *, physical: bool = False, timeout: float | None = None
    ) -> CompactResponse:
        """Discard the history before ``revision`` (KV.Compact).

        Reads and watches at older revisions then fail with ``CompactedError``. With
        ``physical=True`` the call returns only once the backend has removed the old data.
        """
        request = kv.compact_request(revision, physical)
        try:
            response = self._unary("compact", request, timeout)
        except CompactedError as error:
            error.compact_revision = self._compact_revision(request.revision, timeout)
            raise
        return kv.parse_compact(response)

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
