# Generated from etcdmap/_async/mapping.py by scripts/unasync: do not edit.
"""``EtcdMap``: a typed mapping over an etcd key prefix, built on the public client API.

Every operation is one or a few KV RPCs; nothing is cached. Reads are linearizable unless the
map was made with ``serializable=True``. Iteration pages through the prefix at one pinned
revision, so a pass is one consistent snapshot whose memory is bounded by ``page_size``.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypedDict, TypeVar, overload

from .._backends.threads import flatten
from .._backends.mapping import (
    Body,
    ItemsViewBase,
    KeysViewBase,
    MappingBase,
    MutableMappingBase,
    ValuesViewBase,
)
from .._core import map_writes as writes
from .._core.bulk import MAX_REQUEST_BYTES, MAX_TXN_OPS, TxnLimits
from .._core.checks import check_client, check_count, check_timeout, check_ttl
from .._core.errors import CompactedError, ValueDecodeError
from .._core.frames import import_pandas, to_frame
from .._core.history import History
from .._core.keyspace import KeySpace
from .._core.kv import LeaseLike, check_page_size
from .._core.map_writes import TxnPlan, first_kv
from .._core.mapping import (
    MISSING,
    Entry,
    OnError,
    Preview,
    UpdateResult,
    check_on_error,
    decode_error,
    preview_row,
    undecodable_row,
)
from .._core.plan import Plan
from .._core.results import GetResponse, KeyValue, TxnResponse
from .._core.search import Search
from .._core.stats import Stats, StatsTally
from .._core.validate import InvalidEntry
from ..codecs import Codec, Str, codec_for
from . import map_apply, map_history
from .concurrency import STM, run_stm
from .kv import KV, leases_of
from .map_watch import MapWatcher

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "Editing",
    "EtcdItemsView",
    "EtcdKeysView",
    "EtcdMap",
    "EtcdMapSnapshot",
    "EtcdValuesView",
    "MapReader",
    "MapTransaction",
]

V = TypeVar("V")
T = TypeVar("T")

#: How often ``modify`` and ``transaction`` re-run after losing a race, by default.
RETRIES = 16
#: Keys fetched for ``_ipython_key_completions_`` (one keys-only page at most this long).
COMPLETION_KEYS = 1000


class MapReader(MappingBase[V]):
    """The read operations shared by ``EtcdMap`` and its pinned ``EtcdMapSnapshot``."""

    def __init__(
        self,
        client: KV,
        prefix: bytes | str,
        *,
        value_type: Any = None,
        codec: Any = None,
        key_codec: Any = None,
        page_size: int = 1000,
        serializable: bool = False,
        read_revision: int = 0,
        timeout: float | None = None,
    ) -> None:
        check_client(client, EtcdMap)
        self.client = client
        codec = codec_for(codec, value_type)
        key_codec = Str("surrogateescape") if key_codec is None else codec_for(key_codec)
        self.page_size = check_page_size(page_size)
        #: The prefix and codecs: how keys and values become etcd's bytes and back.
        self.keyspace: KeySpace[V] = KeySpace(prefix, codec, key_codec)
        self.codec = codec
        self.key_codec = key_codec
        self.serializable = serializable
        self.prefix = self.keyspace.name
        self._read_revision = read_revision
        #: Seconds each RPC of the map may take (None: the client's default).
        self.timeout = check_timeout(timeout)
        #: The store's revision in the latest response this map received (0 before any).
        self.revision = read_revision
        #: The latest ``preview()`` (what the notebook display shows without I/O).
        self.last_preview: Preview | None = None
        self._known_keys: list[str] = []

    def __repr__(self) -> str:
        pinned = f", at={self._read_revision}" if self._read_revision else ""
        return f"{type(self).__name__}({self.prefix!r}, codec={self.codec!r}{pinned})"

    def _note(self, response: GetResponse | TxnResponse | Any) -> None:
        self.revision = response.header.revision

    def _get(self, full: bytes, **options: Any) -> GetResponse:
        response = self.client.get(
            full, revision=self._read_revision, serializable=self.serializable,
            timeout=self.timeout, **options,
        )
        if not self._read_revision:
            self._note(response)
        return response

    # --- reads --------------------------------------------------------------------------------

    def __getitem__(self, key: str) -> V:
        """The value of ``key`` (one Range); builtin ``KeyError`` if it is missing,
        ``ValueDecodeError`` if its stored bytes do not decode."""
        kvs = (self._get(self.keyspace.full(key))).kvs
        if not kvs:
            raise KeyError(key)
        return self.keyspace.decode(key, kvs[0])

    def get(self, key: str, default: Any = None) -> V | Any:
        """The value of ``key``, or ``default`` if it is missing (one Range)."""
        kvs = (self._get(self.keyspace.full(key))).kvs
        return self.keyspace.decode(key, kvs[0]) if kvs else default

    def entry(self, key: str) -> Entry[V]:
        """``key``'s value with its ``mod_revision``, ``create_revision``, ``version`` and
        ``lease`` (one Range); ``KeyError`` if it is missing."""
        kvs = (self._get(self.keyspace.full(key))).kvs
        if not kvs:
            raise KeyError(key)
        kv = kvs[0]
        value = self.keyspace.decode(key, kv)
        return Entry(key, value, kv.mod_revision, kv.create_revision, kv.version, kv.lease)

    def contains(self, key: object) -> bool:
        """Whether ``key`` is in the map: a count-only Range, no value is read."""
        try:
            full = self.keyspace.full(key)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
        return (self._get(full, count_only=True)).count > 0

    def count(self) -> int:
        """The number of keys under the prefix: one count-only Range (no key is sent back)."""
        ks = self.keyspace
        return (self._get(ks.start, range_end=ks.end, count_only=True)).count

    def _pages(self, keys_only: bool) -> Iterator[tuple[Sequence[KeyValue], int]]:
        """The prefix page by page, with the revision every page is read at.

        The first page fixes the revision (or the map's pinned one is used); the next page is
        fetched only when the consumer asks for it.
        """
        revision, done, ks = self._read_revision, 0, self.keyspace
        pages = self.client.get_pages(
            ks.start, range_end=ks.end, page_size=self.page_size, revision=revision,
            keys_only=keys_only, serializable=self.serializable, timeout=self.timeout,
        )  # fmt: skip
        try:
            for response in pages:
                if not revision:
                    revision = response.header.revision
                    self._note(response)
                yield response.kvs, revision
                done += len(response.kvs)
        except CompactedError as error:
            if not done:
                raise
            raise CompactedError(
                f"iterating {self.prefix!r} at revision {revision}: the store was compacted "
                f"past it (to {error.compact_revision}) after {done} keys; iterate again "
                "(a new pass reads at the current revision) or use a larger page_size",
                compact_revision=error.compact_revision,
                code=error.code,
                details=error.details,
                endpoint=error.endpoint,
            ) from error

    def __iter__(self) -> Iterator[str]:
        """The keys, in key order, paged keys-only at one revision (see ``keys()``)."""
        for key in self.keys():
            yield key

    def keys(self) -> EtcdKeysView:
        """A lazy view of the keys: each pass pages keys-only Ranges at one revision."""
        return EtcdKeysView(self)

    def values(self, *, on_error: OnError = "raise") -> EtcdValuesView[V]:
        """A lazy view of the values: each pass pages Ranges at one revision.

        ``on_error`` says what a value that does not decode does to a pass: ``"raise"``
        ``ValueDecodeError`` (default), ``"skip"`` the key, or ``"collect"`` the error into
        the view's ``errors`` list and go on.
        """
        return EtcdValuesView(self, check_on_error(on_error))

    def items(self, *, on_error: OnError = "raise") -> EtcdItemsView[V]:
        """A lazy view of ``(key, value)`` pairs; ``on_error`` as for ``values()``."""
        return EtcdItemsView(self, check_on_error(on_error))

    def preview(self, limit: int = 10) -> Preview:
        """Count and the first ``limit`` keys with a value summary: one Range with a limit
        (the server counts the whole prefix; no more than ``limit`` keys are sent)."""
        ks = self.keyspace
        response = self._get(ks.start, range_end=ks.end, limit=limit)
        rows = []
        for kv in response.kvs:
            key = ks.relative(kv.key)
            try:
                value = ks.decode(key, kv)
            except ValueDecodeError:
                rows.append(undecodable_row(key, kv.value, kv.mod_revision))
            else:
                rows.append(preview_row(key, value, len(kv.value), kv.mod_revision))
        self.last_preview = Preview(
            type(self).__name__, self.prefix, repr(self.codec), response.count,
            self._read_revision or response.header.revision, rows,
        )  # fmt: skip
        self._known_keys = sorted({*self._known_keys, *(row.key for row in rows)})
        return self.last_preview

    def completion_keys(self) -> list[str]:
        """Keys for tab completion: one keys-only page of at most 1000 keys."""
        limit = min(self.page_size, COMPLETION_KEYS)
        ks = self.keyspace
        kvs = (self._get(ks.start, range_end=ks.end, limit=limit, keys_only=True)).kvs
        self._known_keys = [ks.relative(kv.key) for kv in kvs]
        return list(self._known_keys)

    # --- search, stats, change feeds and views --------------------------------------------

    def search(
        self, pattern: str, *, keys: bool = True, values: bool = False, regex: bool = False
    ) -> Iterator[tuple[str, V]]:
        """The ``(key, value)`` pairs whose key (``keys``) or value (``values``, as text:
        see ``_core.search``) contains ``pattern`` (a regular expression found anywhere with
        ``regex=True``), in key order: one paged pass of Ranges at one revision, as
        ``items()`` (values are read even for a key search: they are yielded), so memory is
        bounded by ``page_size``. ``ValueDecodeError`` for a value that does not decode and
        is searched or yielded."""
        return flatten(self._search_pages(Search(pattern, keys=keys, values=values, regex=regex)))

    def _search_pages(self, search: Search) -> Iterator[list[tuple[str, V]]]:
        for page, _ in self._pages(keys_only=False):
            yield search.page(self.keyspace, page)

    def stats(self, depth: int = 1, *, values: bool = True) -> Stats:
        """Keys and bytes (full keys and values, as etcd stores them) per child prefix at
        ``depth`` (``"a/"`` for ``"a/b/c"`` at depth 1) and in total, at one revision.

        One paged pass of Ranges, memory bounded by ``page_size``. etcd reports no value
        size without sending the value, so ``values=True`` reads every value (the cost of
        ``items()``); ``values=False`` pages keys-only Ranges and leaves ``value_bytes``
        None."""
        tally = StatsTally(self.keyspace, depth, values)
        for page, _ in self._pages(keys_only=not values):
            tally.add_page(page)
        return tally.result(self._read_revision or self.revision)

    def to_pandas(self, depth: int = 2) -> Any:
        """The map as a pandas DataFrame indexed by key: one column per field of the values
        (nested fields joined with ``.`` down to ``depth`` levels; a value without fields is
        one column ``value``) and ``mod_revision``; ``attrs["revision"]`` is the revision
        of the read. One paged pass of Ranges at one revision. Needs the ``[pandas]``
        extra (``ImportError`` naming it otherwise); ``ValueDecodeError`` for a value that
        does not decode."""
        import_pandas()
        ks, rows = self.keyspace, []
        for page, _ in self._pages(keys_only=False):
            for kv in page:
                key = ks.relative(kv.key)
                rows.append((key, ks.decode(key, kv), kv.mod_revision))
        return to_frame(rows, self._read_revision or self.revision, depth)

    def _repr_html_(self) -> str:
        preview = self._shown_preview()
        if preview is not None:
            html_text: str = preview._repr_html_()
            return html_text
        return (  # an blocking map before its first preview(): a display can do no I/O
            f"<b>{html.escape(type(self).__name__)}</b> <code>{html.escape(self.prefix)}</code>"
            f" (last revision {self.revision}); <code>m.preview()</code> shows the "
            "count and the first keys."
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Here and not in a base class: IPython's pretty() takes the first of __repr__ and
        # _repr_pretty_ along the MRO, and this class defines __repr__.
        preview = None if cycle else self._shown_preview()
        printer.text(repr(self) if preview is None else preview.text())

    def _ipython_key_completions_(self) -> list[str]:
        return self._completions()

    def at(self, revision: int) -> EtcdMapSnapshot[V]:
        """A read-only view of this map as it was at ``revision`` (every read is a Range at
        that revision; ``CompactedError`` once the store is compacted past it)."""
        check_count(revision, "revision", minimum=1)
        return EtcdMapSnapshot(
            self.client, self.keyspace.argument, codec=self.codec, key_codec=self.key_codec,
            page_size=self.page_size, serializable=self.serializable, read_revision=revision,
            timeout=self.timeout,
        )  # fmt: skip

    def snapshot(self) -> EtcdMapSnapshot[V]:
        """``at()`` the current revision, learned with one count-only Range of a single key
        (counting the whole prefix would make etcd walk every key of it)."""
        self._get(self.keyspace.start, count_only=True)
        return self.at(self._read_revision or self.revision)


class _MapOptions(TypedDict, total=False):
    """The options of ``EtcdMap`` that do not choose its value type (for its overloads)."""

    key_codec: Any
    page_size: int
    serializable: bool
    lease: LeaseLike
    max_txn_ops: int
    max_request_bytes: int
    timeout: float | None


class EtcdMapSnapshot(MapReader[V]):
    """A read-only view of a map pinned to one revision (``EtcdMap.at(revision)``)."""


class EtcdMap(MapReader[V], MutableMappingBase[V]):
    """A typed mapping over the keys under ``prefix`` (keys are ``str`` relative to it).

    ``EtcdMap(client, prefix, *, value_type=None, codec=None, key_codec=None,
    page_size=1000, serializable=False, lease=None, max_txn_ops=128,
    max_request_bytes=1.5 MiB, timeout=None)``. ``value_type`` picks ``Json(value_type)``;
    ``codec`` takes ``Raw()`` (the default), ``Str()``, ``Json(type)``, ``MsgPack(type)`` or any
    object with ``encode``/``decode``. Values are validated when written and when read. The
    prefix is used exactly as given: end it with a separator (``"/app/"``) so that it does not
    also cover sibling keys (``"/application"``). ``lease`` attaches every write to a lease
    (an id or a ``Lease``); without one, a write detaches the key from any lease it had
    (etcd's Put semantics) unless ``ttl=``/``lease=`` is given for that write.
    ``max_txn_ops`` and ``max_request_bytes`` are the server's ``--max-txn-ops`` and
    ``--max-request-bytes`` (etcd's defaults here): ``update()`` plans its Txns under them.
    ``timeout`` bounds each RPC of the map (None: the client's default timeout).

    The blocking map is a real ``MutableMapping``: ``m[key]``, ``m[key] = value``,
    ``del m[key]``, ``key in m``, ``len(m)`` and ``for key in m`` each send the RPCs their
    named methods (``set``, ``delete``, ``contains``, ``count``, ``keys``) document.

    Errors of writes: an ``OutcomeUnknownError`` (a deadline, a connection lost after sending,
    etcd's request timeouts) means the write may or may not have been applied; read the key
    back before writing again. ``ConnectionFailedError`` means it never left (safe to retry);
    any other ``EtcdError`` means etcd refused it (nothing applied).
    """

    # The value type a checker infers: ``bytes`` by default (``Raw``), ``T`` from
    # ``value_type=T`` or a ``Codec[T]``, ``Any`` for a type that is no class (``int | None``).
    @overload
    def __init__(
        self: EtcdMap[bytes], client: KV, prefix: bytes | str, *,
        value_type: None = None, codec: None = None, **options: Unpack[_MapOptions],
    ) -> None: ...
    @overload
    def __init__(
        self: EtcdMap[T], client: KV, prefix: bytes | str, *,
        value_type: type[T], codec: None = None, **options: Unpack[_MapOptions],
    ) -> None: ...
    @overload
    def __init__(
        self: EtcdMap[T], client: KV, prefix: bytes | str, *,
        value_type: None = None, codec: Codec[T], **options: Unpack[_MapOptions],
    ) -> None: ...
    @overload
    def __init__(
        self: EtcdMap[Any], client: KV, prefix: bytes | str, *,
        value_type: Any = None, codec: Any = None, **options: Unpack[_MapOptions],
    ) -> None: ...
    def __init__(
        self,
        client: KV,
        prefix: bytes | str,
        *,
        value_type: Any = None,
        codec: Any = None,
        key_codec: Any = None,
        page_size: int = 1000,
        serializable: bool = False,
        lease: LeaseLike = None,
        max_txn_ops: int = MAX_TXN_OPS,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        timeout: float | None = None,
    ) -> None:
        super().__init__(
            client, prefix, value_type=value_type, codec=codec, key_codec=key_codec,
            page_size=page_size, serializable=serializable, timeout=timeout,
        )  # fmt: skip
        self.lease = lease
        #: The server limits ``update()`` plans its Txns under.
        self.limits = TxnLimits(max_txn_ops, max_request_bytes)

    def child(
        self, subprefix: str, *, value_type: Any = None, codec: Any = None
    ) -> EtcdMap[Any]:
        """The map of the keys under ``prefix + subprefix``, on the same client, with this
        map's codec unless ``value_type``/``codec`` is given, and the same options."""
        if value_type is None and codec is None:
            codec = self.codec
        return EtcdMap(
            self.client, self.keyspace.full(subprefix), value_type=value_type,
            codec=codec, key_codec=self.key_codec, page_size=self.page_size,
            serializable=self.serializable, lease=self.lease,
            max_txn_ops=self.limits.max_txn_ops, max_request_bytes=self.limits.max_request_bytes,
            timeout=self.timeout,
        )  # fmt: skip

    # --- search, stats, change feeds and views --------------------------------------------

    def watch(self, key: str | None = None, *, start_revision: int = 0) -> MapWatcher[V]:
        """The changes of the map (or of its one ``key``) as typed ``Change``s: key
        relative to the prefix, kind, old and new decoded values, revision. It is the
        client's watch (Watch.Watch with ``prev_kv``) of the map's range, resumed as that
        one is; ``start_revision`` replays history from there (``CompactedError`` if it was
        compacted). A value that does not decode arrives as a change with the error in
        ``error``: the feed goes on. ``with m.watch() as changes: for change in
        changes:``."""
        return MapWatcher(self.client, self.keyspace, key, start_revision)

    def _lease(self, ttl: float | None, lease: LeaseLike) -> LeaseLike:
        """The lease of one write: a new one for ``ttl`` seconds, ``lease``, or the map's."""
        if ttl is not None:
            ttl = _check_lease_args(ttl, lease)
            return leases_of(self.client, "ttl=").lease_grant(ttl, timeout=self.timeout)
        return self.lease if lease is None else lease

    def _run(self, plan: TxnPlan[T]) -> T:
        """Send ``plan``'s Txn (KV.Txn) and return what its response answers."""
        response = self.client.txn(
            plan.compare, plan.success, plan.failure, timeout=self.timeout
        )
        self._note(response)
        return plan.result(response)

    # --- writes -------------------------------------------------------------------------------

    def set(
        self, key: str, value: V, *, ttl: float | None = None, lease: LeaseLike = None
    ) -> int:
        """Store ``value`` under ``key`` (one Put) and return the write's revision.

        ``ttl`` puts the key on a new lease of that many seconds (Lease.LeaseGrant first; it
        then disappears unless rewritten): a finite number > 0, a fraction rounded up to
        whole seconds as etcd leases are. ``lease`` puts it on an existing lease.
        ``TypeError`` if the value does not match the codec's type, ``ValueEncodeError`` if it
        cannot be encoded (e.g. it refers to itself), ``TypeError``/``ValueError`` naming
        ``ttl`` for a bad TTL: nothing is sent then.
        """
        ks = self.keyspace
        data = ks.encode(key, value)
        response = self.client.put(
            ks.full(key), data, lease=self._lease(ttl, lease), timeout=self.timeout
        )
        self._note(response)
        return response.header.revision

    def delete(self, key: str) -> int:
        """Delete ``key`` (one DeleteRange) and return the revision; ``KeyError`` if missing."""
        response = self.client.delete(self.keyspace.full(key), timeout=self.timeout)
        self._note(response)
        if not response.deleted:
            raise KeyError(key)
        return response.header.revision

    def setdefault(self, key: str, default: Any = None, *, ttl: float | None = None) -> V:
        """``key``'s value if present, else store ``default`` and return it: one Txn
        (create if the key does not exist, else read it). After an ``OutcomeUnknownError``
        calling again is safe: it returns what is stored."""
        ks = self.keyspace
        full, data = ks.full(key), ks.encode(key, default)
        attempt = self._run(writes.create(full, data, self._lease(ttl, None)))
        if attempt.written:
            stored: V = default
            return stored
        assert attempt.current is not None  # the key existed at the txn's revision
        return ks.decode(key, attempt.current)

    def put_if_absent(
        self, key: str, value: V, *, ttl: float | None = None, lease: LeaseLike = None
    ) -> bool:
        """Store ``value`` only if ``key`` does not exist (one Txn on its create_revision);
        True if it was stored. After an ``OutcomeUnknownError`` it may be stored: calling
        again is safe but then returns False."""
        full, data = self.keyspace.full(key), self.keyspace.encode(key, value)
        return self._run(writes.put_if_absent(full, data, self._lease(ttl, lease)))

    def compare_and_swap(
        self, key: str, expected: V, new: V, *, ttl: float | None = None,
        lease: LeaseLike = None,
    ) -> bool:  # fmt: skip
        """Store ``new`` only if the stored bytes equal ``expected`` encoded (one Txn on the
        value); True if it was stored. The comparison is on bytes: with JSON, a dict must
        encode the same way (msgspec keeps insertion order). After an ``OutcomeUnknownError``
        ``new`` may be stored: a second call then returns False, so compare the value."""
        ks = self.keyspace
        full, old, data = ks.full(key), ks.encode(key, expected), ks.encode(key, new)
        lease_used = self._lease(ttl, lease)
        return self._run(writes.compare_and_swap(full, old, data, lease_used))

    def replace(
        self, key: str, value: V, *, revision: int, ttl: float | None = None,
        lease: LeaseLike = None,
    ) -> bool:  # fmt: skip
        """Store ``value`` only if ``key``'s mod_revision is still ``revision`` (one Txn;
        ``revision=0`` means "only if absent"); True if it was stored. Use the
        ``mod_revision`` of ``entry(key)``. After an ``OutcomeUnknownError`` it may be stored:
        calling again is safe (it stores nothing once the key changed) but returns False."""
        full, data = self.keyspace.full(key), self.keyspace.encode(key, value)
        lease_used = self._lease(ttl, lease)
        return self._run(writes.replace(full, data, revision, lease_used))

    def pop(self, key: str, default: Any = MISSING) -> V | Any:
        """Remove ``key`` and return its value, or ``default`` if it is missing (``KeyError``
        without a default).

        The value is read and decoded first, then deleted by a Txn on its mod_revision
        (re-read if it changed meanwhile), so a value that does not decode raises
        ``ValueDecodeError`` and stays stored. Exactly one of several racing callers gets it.
        An ``OutcomeUnknownError`` leaves it unknown whether the key was deleted.
        """
        ks = self.keyspace
        full = ks.full(key)
        current = first_kv(self.client.get(full, timeout=self.timeout))
        while current is not None:
            value = ks.decode(key, current)
            attempt = self._run(writes.delete_if_unchanged(full, current.mod_revision))
            if attempt.written:
                return value
            current = attempt.current
        if default is MISSING:
            raise KeyError(key)
        return default

    def popitem(self) -> tuple[str, V]:
        """Remove and return the first ``(key, value)`` in key order (``KeyError`` when the
        map is empty): a one-key Range, then a Txn deleting it if unchanged (else the next
        first key is tried)."""
        ks = self.keyspace
        while True:
            response = self.client.get(
                ks.start, range_end=ks.end, limit=1, timeout=self.timeout
            )
            if not response.kvs:
                raise KeyError(f"popitem(): map {self.prefix!r} is empty")
            kv = response.kvs[0]
            key = ks.relative(kv.key)
            value = ks.decode(key, kv)
            if self._run(writes.remove(kv)):
                return key, value

    def modify(
        self,
        key: str,
        fn: Callable[[V], V],
        *,
        default: Any = MISSING,
        retries: int = RETRIES,
        ttl: float | None = None,
        lease: LeaseLike = None,
    ) -> V:
        """Replace ``key``'s value with ``fn(value)`` atomically and return the new value.

        Reads the key, applies ``fn``, and writes with a Txn comparing the mod_revision it
        read; when another writer got there first the Txn returns the new value and ``fn``
        runs again, at most ``retries`` more times, then ``ConflictError``. A missing key
        starts from ``default`` (a fresh decoded copy per attempt), or is a ``KeyError``.
        ``fn`` must not have side effects: it can run more than once.

        Raises ``ConflictError`` (nothing written by this call), ``KeyError``, the codec's
        ``TypeError`` (before any write), or the client's errors: after an
        ``OutcomeUnknownError`` the last Txn may have been applied (read the key back; calling
        ``modify`` again would apply ``fn`` a second time), after ``ConnectionFailedError`` or
        any other ``EtcdError`` it was not.
        """
        check_count(retries, "retries")
        if ttl is not None:
            _check_lease_args(ttl, lease)
        ks = self.keyspace
        full = ks.full(key)
        current = first_kv(self.client.get(full, timeout=self.timeout))
        lease_used = self._lease(ttl, lease)
        for _ in range(retries + 1):
            if current is None:
                if default is MISSING:
                    raise KeyError(key)
                value, revision = ks.fresh(key, default), 0
            else:
                value, revision = ks.decode(key, current), current.mod_revision
            new = fn(value)
            data = ks.encode(key, new)
            attempt = self._run(writes.put_if_unchanged(full, data, revision, lease_used))
            if attempt.written:
                return new
            current = attempt.current
        raise writes.modify_conflict(self.prefix, key, retries + 1, current)

    def editing(self, key: str, *, default: Any = MISSING) -> Editing[V]:
        """A context manager giving a decoded copy of ``key``'s value to mutate in place;
        on a clean exit it is written back with a Txn on the mod_revision read at entry.

        ``ConflictError`` (with the current value and revision) if the key changed
        meanwhile: a ``with`` body cannot be re-run, use ``modify`` to retry. To store a new
        object rather than mutate, assign the handle's ``value``. A missing key starts from
        ``default`` (``KeyError`` without one). Nothing is written if the body raises.
        An ``OutcomeUnknownError`` on exit leaves it unknown whether the value was written.
        """
        return Editing(self, key, default)

    def clear(self) -> int:  # type: ignore[override, unused-ignore]
        """Delete every key under the prefix: one DeleteRange over exactly the prefix's
        range (a sibling such as ``/ab`` of ``/a/`` is never touched). Returns the count."""
        ks = self.keyspace
        response = self.client.delete(ks.start, range_end=ks.end, timeout=self.timeout)
        self._note(response)
        return response.deleted

    def update(  # type: ignore[override, unused-ignore]
        self,
        other: Mapping[str, V] | Iterable[tuple[str, V]] = (),
        /,
        *,
        atomic: bool = False,
        **kwargs: V,
    ) -> UpdateResult:
        """Store many keys in as few Txns (KV.Txn of puts) as the server's limits allow.

        Every value is encoded (and validated) and every Txn planned before the first is
        sent: at most ``max_txn_ops`` puts and ``max_request_bytes`` per Txn (the map's, etcd's
        defaults unless given). A value that cannot fit any Txn raises
        ``RequestTooLargeError`` naming its key, a value the codec refuses ``TypeError``, and
        nothing is written. A key given twice is written once, last value wins (a key named
        ``atomic`` goes in ``other``).

        With ``atomic=True`` it is one Txn (all or nothing) or, before sending,
        ``RequestTooLargeError`` / ``TooManyOpsError``. Otherwise, a server allowing fewer ops
        per Txn (``TooManyOpsError``, nothing applied) gets smaller Txns, and a failure after
        the write was split raises ``PartialWriteError``: ``written``, ``not_written`` and
        ``unknown`` (the Txn in flight, after an ``OutcomeUnknownError``) name the keys, and it
        is also an instance of the error that stopped it. A write of one Txn raises that error
        itself. The result says how many Txns it took.
        """
        pairs = other.items() if isinstance(other, Mapping) else other
        ks = self.keyspace
        data = {
            ks.full(key): (key, ks.encode(key, value)) for key, value in [*pairs, *kwargs.items()]
        }
        write = writes.bulk_put(
            data, self.lease, self.limits, what=f"update of map {self.prefix!r}", atomic=atomic
        )
        self.revision = (
            map_apply.send_bulk(self.client, write, timeout=self.timeout) or self.revision
        )
        return UpdateResult(len(data), write.transactions, write.transactions <= 1, write.revision)

    def transaction(
        self, fn: Body[MapTransaction[V], T], *, retries: int = RETRIES
    ) -> T:
        """Run ``fn(tx)`` as one serializable multi-key read-modify-write, and return its result.

        This is the client's ``stm()`` at ``"serializable"`` isolation, with the map's keys and
        codec: ``tx`` reads (``tx[key]``, ``tx.get``, ``tx.contains``) at one revision,
        the one of its first read (a linearizable Range, then serializable ones at that
        revision, each key once per attempt; a key the attempt wrote reads as written), and
        buffers writes (``tx.set``, ``tx.delete``). When ``fn`` returns, one Txn writes the
        buffer if no key ``fn`` read has changed since; if one has, the same Txn reads the
        keys again and ``fn`` runs anew from those values, at most ``retries`` more times,
        then ``ConflictError``. An ``fn`` that writes nothing commits nothing: its reads were
        one snapshot. Compaction past the read revision starts over at the latest one.
        ``fn`` must have no other side effects.

        Raises ``ConflictError`` (nothing committed), what ``fn`` raises (nothing committed),
        or the client's errors: after an ``OutcomeUnknownError`` the commit Txn may have been
        applied (running the transaction again would apply ``fn`` twice), after any other
        ``EtcdError`` it was not.
        """
        check_count(retries, "retries")
        results: list[T] = []

        def attempt(stm: STM) -> None:
            tx = MapTransaction(self, stm)
            results[:] = [fn(tx)]
            if not tx.written:
                raise _NothingToCommit

        compactions = 0
        while True:
            try:
                response = run_stm(
                    self.client, attempt, isolation="serializable", retries=retries
                )
            except _NothingToCommit:
                return results[0]
            except CompactedError:
                compactions += 1  # the read revision was compacted away under the attempt
                if compactions > retries:
                    raise
                continue
            self._note(response)
            return results[0]

    # --- history, plans and validation ------------------------------------------------------

    def history(
        self, key: str, *, since: int | None = None, timeout: float | None = None
    ) -> History[V]:
        """Every change of ``key`` still in etcd's history, oldest first, as ``Version``s
        (PUT with the decoded value, DELETE), across deletions and re-creations.

        One Range (linearizable) reads the key now, at revision ``revision`` of the result;
        then one watch from ``since`` (default: the earliest revision still stored) replays
        the key's changes up to it, a response per page of up to 1,000 changes (etcd sends a
        page per 100 ms), not a request per version. A key missing now whose history ends
        the replay without a sign of its own waits 0.5 s for more. On the server, a replay
        reads every change of the store since ``since`` (all keys, as any watch from a past
        revision does): on a store that keeps a long history, pass ``since=``.

        Without ``since``, a store compacted past the key's first changes gives what is
        left: ``complete`` is False, ``earliest`` the compaction revision, and the first
        version the one that survived it. With ``since`` before the compaction it raises
        ``CompactedError`` whose ``compact_revision`` is where the history starts.
        ``DeadlineExceededError`` after ``timeout`` seconds (default 60). The map's client
        must have watches (a client or a namespace, not a leasing or ordering KV).
        """
        return map_history.history(
            self.client, self.keyspace, key, since, timeout, rpc_timeout=self.timeout
        )

    def value_at(self, key: str, revision: int, default: Any = MISSING) -> V | Any:
        """``key``'s value at ``revision`` (one Range at that revision); ``default``, or
        ``KeyError`` without one, if it did not exist then. ``CompactedError`` once the store
        is compacted past ``revision``."""
        past = self.at(revision)
        return (past[key] if default is MISSING else past.get(key, default))

    def restore(self, key: str, revision: int) -> int:
        """Write back the value ``key`` had at ``revision`` (its stored bytes), or delete the
        key if it did not exist then, and return the write's revision: a Range at
        ``revision``, a Range now, then one Txn comparing the key's mod_revision with the one
        just read. ``ConflictError`` (nothing written) if the key changed in between. A key
        already as it was is not written (the current revision is returned). The value goes
        on the map's lease, not the one it had."""
        written = map_history.restore(
            self.client, self.keyspace, key, revision, self.lease, timeout=self.timeout
        )
        self.revision = written
        return written

    def restore_prefix(
        self, revision: int, *, dry_run: bool = False, atomic: bool = False
    ) -> Plan:
        """Make the whole map as it was at ``revision``: ``apply(document, prune=True)`` of
        its content at that revision (read in pages at that revision), so only keys that
        differ are written, in batches (``atomic=False``) guarded as ``apply`` says. Returns
        the ``Plan`` (with ``dry_run=True`` nothing is written). ``CompactedError`` once the
        store is compacted past ``revision``; ``ValueDecodeError`` for a value of then that
        does not decode."""
        document = {key: value for key, value in self.at(revision).items()}
        return self.apply(document, prune=True, atomic=atomic, dry_run=dry_run)

    def plan(
        self, document: Mapping[str, Any], *, prune: bool = False, flatten: str | None = None
    ) -> Plan:
        """What ``apply(document)`` would write, as a ``Plan`` (added, removed, changed,
        unchanged count) computed at one revision: a paged pass over the prefix (Ranges at
        one revision, like ``items()``); the document's values are encoded (validated) first.

        ``document`` maps keys (relative to the map) to values; with ``flatten="/"`` nested
        dicts become keys joined by it. ``prune=True`` removes the keys the document does not
        have. A stored value that decodes equal to the document's is unchanged.
        """
        return map_apply.plan(
            self.client, self.keyspace, document, prune=prune, flatten=flatten,
            page_size=self.page_size, serializable=self.serializable, timeout=self.timeout,
        )  # fmt: skip

    def apply(
        self,
        document: Mapping[str, Any] | Plan,
        *,
        prune: bool = False,
        atomic: bool = True,
        dry_run: bool = False,
        flatten: str | None = None,
    ) -> Plan:
        """Make the map equal to ``document`` (see ``plan``) writing only the keys that differ,
        and return the ``Plan`` written (``dry_run=True``: computed, not written).

        Given a ``Plan`` (one a person reviewed), exactly that plan is written, and only if
        no key it writes was written since the plan's revision and every key it changes or
        removes still exists: else ``ConflictError``, and nothing is written.

        Parameters
        ----------
        document:
            A mapping of keys to values, or a ``Plan`` from ``plan()`` of this map.
        prune:
            Also delete the keys the document does not have.
        atomic:
            One Txn (KV.Txn) whose compares also cover every key under the prefix: any
            write under it since the plan's revision is a ``ConflictError`` (a key deleted
            that the plan leaves unchanged is the one change a compare cannot see).
            ``TooManyOpsError`` / ``RequestTooLargeError`` before sending if it cannot be
            one Txn. With ``atomic=False``, Txns planned under the map's limits, each op
            guarded alone; a failure after the first raises ``PartialWriteError`` (also
            a ``ConflictError`` on a conflict) naming the keys written, as ``update`` does.
        dry_run:
            Compute the plan, write nothing.
        flatten:
            The separator nested dicts are joined with (None: the document is flat).
        """
        chosen = (
            document if isinstance(document, Plan)
            else self.plan(document, prune=prune, flatten=flatten)
        )  # fmt: skip
        if not dry_run:
            written = map_apply.apply(
                self.client, self.keyspace, chosen, atomic=atomic, lease=self.lease,
                limits=self.limits, timeout=self.timeout,
            )  # fmt: skip
            self.revision = written or self.revision
        return chosen

    def validate(self) -> list[InvalidEntry]:
        """An ``InvalidEntry`` (key, the decoder's message, mod_revision) for every key whose
        stored value does not decode with the map's codec: one paged pass (Ranges at one
        revision, like ``values()``), so memory is bounded by a page and the bad keys."""
        return map_apply.validate(self.values(on_error="collect"), self.codec)


def _check_lease_args(ttl: float, lease: LeaseLike) -> int:
    """The whole seconds of a write's ``ttl`` (``check_ttl``); ``ttl`` and ``lease`` together
    are a ``TypeError``."""
    if lease is not None:
        raise TypeError("give ttl= or lease=, not both")
    return check_ttl(ttl)


class _NothingToCommit(Exception):  # noqa: N818 - a signal, not an error
    """Ends the STM of a map transaction whose function wrote nothing."""


class Editing(Generic[V]):
    """The handle of ``EtcdMap.editing(key)``: ``value`` (what the block edits),
    ``revision`` (the mod_revision read on entry, 0 for a missing key)."""

    def __init__(self, target: EtcdMap[V], key: str, default: Any) -> None:
        self._map = target
        self.key = key
        self._default = default
        self.value: V
        self.revision = 0

    def __enter__(self) -> V:
        m, key = self._map, self.key
        ks = m.keyspace
        kvs = (m.client.get(ks.full(key), timeout=m.timeout)).kvs
        if kvs:
            self.value, self.revision = ks.decode(key, kvs[0]), kvs[0].mod_revision
        elif self._default is MISSING:
            raise KeyError(key)
        else:
            self.value = ks.fresh(key, self._default)
        return self.value

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if exc_type is not None:
            return
        m, key = self._map, self.key
        ks = m.keyspace
        full, data = ks.full(key), ks.encode(key, self.value)
        attempt = m._run(writes.put_if_unchanged(full, data, self.revision, m.lease))
        if attempt.written:
            self.revision = attempt.revision
            return
        kv = attempt.current
        current = ks.decode(key, kv) if kv else None
        raise writes.editing_conflict(m.prefix, key, self.revision, kv, current)


class MapTransaction(Generic[V]):
    """The ``tx`` of ``EtcdMap.transaction(fn)``: the map's keys and values over one
    attempt of the client's STM (snapshot reads, buffered writes)."""

    def __init__(self, target: EtcdMap[V], stm: STM) -> None:
        self._map = target
        self._stm = stm
        #: Whether ``set`` or ``delete`` buffered a write.
        self.written = False

    def get(self, key: str, default: Any = None) -> V | Any:
        """``key``'s value as this transaction sees it (its own writes included)."""
        m, full = self._map, self._map.keyspace.full(key)
        data = self._stm.get(full)
        if data is None:
            return default
        try:
            value: V = m.codec.decode(data)
        except Exception as error:
            revision = self._stm.rev(full)
            raise decode_error(key, data, revision, m.codec, error) from error
        return value

    def __getitem__(self, key: str) -> V:
        value = self.get(key, MISSING)
        if value is MISSING:
            raise KeyError(key)
        stored: V = value
        return stored

    def contains(self, key: str) -> bool:
        """Whether ``key`` exists as this transaction sees it."""
        return self._stm.get(self._map.keyspace.full(key)) is not None

    def set(self, key: str, value: V) -> None:
        """Buffer a write of ``key`` (validated now, sent at commit)."""
        m = self._map
        ks = m.keyspace
        self._stm.put(ks.full(key), ks.encode(key, value), lease=m.lease)
        self.written = True

    def delete(self, key: str) -> None:
        """Buffer the deletion of ``key``; ``KeyError`` if it does not exist."""
        if not self.contains(key):
            raise KeyError(key)
        self._stm.delete(self._map.keyspace.full(key))
        self.written = True


class EtcdKeysView(KeysViewBase):
    """The keys of a map; every pass (``for``) pages keys-only Ranges at one revision,
    kept in ``revision`` after the pass starts."""

    def __init__(self, source: MapReader[Any]) -> None:
        self._source = source
        self.revision = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._source!r})"

    def __iter__(self) -> Iterator[str]:
        return flatten(self._key_pages())

    def _key_pages(self) -> Iterator[list[str]]:
        source = self._source
        cut, key_of = len(source.keyspace.prefix), source.key_codec.decode
        for page, revision in source._pages(keys_only=True):
            self.revision = revision
            try:
                keys = [key_of(kv.key[cut:]) for kv in page]
            except Exception:
                relative = source.keyspace.relative
                keys = [relative(kv.key) for kv in page]  # raises the ValueDecodeError
            yield keys

    def count(self) -> int:
        """The number of keys (one count-only Range)."""
        return self._source.count()

    def contains(self, item: object) -> bool:
        """Whether ``item`` is a key (one count-only Range)."""
        return self._source.contains(item)


class DecodingView(Generic[V]):
    """Shared by the values and items views: decoding with the ``on_error`` policy."""

    def __init__(self, source: MapReader[V], on_error: OnError) -> None:
        self._source = source
        self.on_error = on_error
        self.revision = 0
        #: With ``on_error="collect"``: the ``ValueDecodeError`` of each key the latest
        #: pass left out.
        self.errors: list[ValueDecodeError] = []

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._source!r}, on_error={self.on_error!r})"

    def _decoded_pages(self, with_keys: bool) -> Iterator[list[Any]]:
        """The pass, a page at a time (the views yield its items one by one): ``(key,
        value)`` pairs, or values alone, whose keys are then decoded only to name a value
        that does not decode."""
        self.errors = []
        source = self._source
        # The hot loop of a pass: a page decoded at once by the codecs' bound methods; a page
        # with a key or value that does not decode is decoded again key by key.
        cut, key_of = len(source.keyspace.prefix), source.key_codec.decode
        value_of = source.codec.decode
        for page, revision in source._pages(keys_only=False):
            self.revision = revision
            try:
                if with_keys:
                    items: list[Any] = [(key_of(kv.key[cut:]), value_of(kv.value)) for kv in page]
                else:
                    items = [value_of(kv.value) for kv in page]
            except Exception:
                pairs = self._pairs_one_by_one(page)
                items = pairs if with_keys else [value for _, value in pairs]
            yield items

    def _pairs_one_by_one(self, page: Sequence[KeyValue]) -> list[tuple[str, V]]:
        """The pairs of ``page`` that decode; the others raise, or are skipped or collected,
        by ``on_error``."""
        source, pairs = self._source, []
        for kv in page:
            key = source.keyspace.relative(kv.key)  # raises the ValueDecodeError
            try:
                value = source.codec.decode(kv.value)
            except Exception as error:
                problem = decode_error(key, kv.value, kv.mod_revision, source.codec, error)
                if self.on_error == "raise":
                    raise problem from error
                if self.on_error == "collect":
                    self.errors.append(problem)
                continue
            pairs.append((key, value))
        return pairs

    def count(self) -> int:
        """The number of keys (one count-only Range)."""
        return self._source.count()


class EtcdValuesView(DecodingView[V], ValuesViewBase[V]):
    """The values of a map; every pass pages Ranges at one revision (see ``values()``)."""

    def __iter__(self) -> Iterator[V]:
        return flatten(self._decoded_pages(with_keys=False))

    def contains(self, item: object) -> bool:
        """Whether some key has the value ``item`` (a full pass, stopping at the first)."""
        for value in self:
            if value is item or value == item:
                return True
        return False


class EtcdItemsView(DecodingView[V], ItemsViewBase[V]):
    """The ``(key, value)`` pairs of a map; every pass pages Ranges at one revision."""

    def __iter__(self) -> Iterator[tuple[str, V]]:
        return flatten(self._decoded_pages(with_keys=True))

    def contains(self, item: object) -> bool:
        """Whether ``item`` is a ``(key, value)`` pair of the map (one Range)."""
        if not isinstance(item, tuple) or len(item) != 2:
            return False
        key, value = item
        found = self._source.get(key, MISSING) if isinstance(key, str) else MISSING
        return found is not MISSING and (found is value or found == value)
