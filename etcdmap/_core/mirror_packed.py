"""The packed store of a mirror (``Mirror(..., packed=True)``): raw values in a ``PackedTable``.

``PackedStore`` has the interface of ``MirrorStore`` that the shells use (``mirror.Store``)
but keeps each value's stored bytes, not a decoded object, in a ``PackedTable`` (20-30 B
per key over the raw bytes instead of a dict's ~100). ``data`` is a read-only ``Mapping`` view
that decodes a value on every read; a value that does not decode raises the codec's
``ValueDecodeError`` when read (nothing is validated when applied, so ``invalid`` stays
empty). Batches carry decoded values: a new value that does not decode arrives as an
``INVALID`` change. A relist compares the listing with the held table through its
seen-bitmap and keeps only the changed values aside (``PackedListing``), so its peak is the
table plus the diff, not a second table.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from .mapping import decode_error
from .mirror import Batch, BatchSource, Change, ChangeKind, InvalidValue, MirrorStore, split_events
from .packed import PackedTable, decode_key, encode_keys
from .results import KeyValue
from .watch import Event, EventType

__all__ = ["PackedListing", "PackedStore", "PackedView"]


class PackedView(Mapping[str, Any]):
    """The read-only mapping of a ``PackedStore``'s table: values decoded on each read.
    Each read of the table (not the decoding) is made under the store's guard: unlike a
    dict's, a table's change is many steps a reading thread must not see half of."""

    def __init__(self, store: PackedStore) -> None:
        self._store = store

    def __getitem__(self, key: str) -> Any:
        store = self._store
        with store.guard:
            raw = store.table[key]
        return store.value(key, raw)

    def __contains__(self, key: object) -> bool:
        with self._store.guard:
            return key in self._store.table

    def __iter__(self) -> Iterator[str]:
        with self._store.guard:  # the keys now: the table may change between two steps
            return iter(list(self._store.table))

    def __len__(self) -> int:
        return len(self._store.table)

    def __repr__(self) -> str:
        return f"<packed view of {len(self)} keys>"


class PackedStore:
    """A mirror's copy with raw values in a ``PackedTable`` (see the module docstring).
    ``decode_key``, ``decode_value`` and ``codec`` as for ``MirrorStore``; ``guard`` is what
    the owner applies changes under (a reentrant lock for threads), taken by each read of
    ``data``. No ``keys_only``, ``transform`` or indexes."""

    keys_only = False
    transform = None

    def __init__(
        self,
        prefix: bytes,
        decode_key: Callable[[bytes], str],
        decode_value: Callable[[bytes], Any],
        *,
        codec: object = None,
        guard: AbstractContextManager[Any] | None = None,
        utf8_keys: bool = False,
    ) -> None:
        self.guard = nullcontext() if guard is None else guard
        self._utf8_keys = utf8_keys
        # The dict store's key conversion (its own dict stays empty).
        self.keys = MirrorStore(prefix, decode_key, decode_value, codec=codec)
        self._decode_value = decode_value
        self._codec = codec
        self.table = PackedTable()
        self.revision = 0
        self.data = PackedView(self)
        self.invalid: dict[str, InvalidValue] = {}

    def value(self, key: str, raw: bytes) -> Any:
        """``raw`` decoded (``ValueDecodeError`` naming ``key`` if it does not decode)."""
        try:
            return self._decode_value(raw)
        except Exception as error:  # noqa: BLE001 - any codec failure is a decode error
            raise decode_error(key, raw, 0, self._codec, error) from error

    def change(self, key: str, old: bytes | None, new: bytes | None, revision: int) -> Change:
        """The ``Change`` of ``key`` from ``old`` to ``new`` raw bytes (None: absent)."""
        try:
            before = None if old is None else self._decode_value(old)
        except Exception:  # noqa: BLE001 - an old value that never decoded: none
            before = None
        if new is None:
            return Change(key, ChangeKind.DELETED, before, None, revision)
        try:
            after = self._decode_value(new)
        except Exception as error:  # noqa: BLE001 - reported as the INVALID change
            problem = decode_error(key, new, revision, self._codec, error)
            return Change(key, ChangeKind.INVALID, before, None, revision, problem)
        kind = ChangeKind.ADDED if old is None else ChangeKind.MODIFIED
        return Change(key, kind, before, after, revision)

    def apply(self, events: Sequence[Event], changes: bool = True) -> list[Batch]:
        """As ``MirrorStore.apply``: one ``Batch`` per revision, events at or below
        ``revision`` skipped; values are decoded only for the changes listed."""
        batches: list[Batch] = []
        table, key_of = self.table, self.keys.key_of
        for revision, group in split_events(events, self.revision):
            listed: list[Change] = []
            for event in group:
                kv = event.kv
                key = key_of(kv.key)
                if event.type is EventType.PUT:
                    old = table.get(key)
                    table[key] = new = kv.value
                else:
                    old, new = table.pop(key, None), None
                    if old is None:
                        continue  # a key this copy never had
                if changes:
                    listed.append(self.change(key, old, new, revision))
            batches.append(Batch(revision, listed))
            self.revision = max(self.revision, revision)
        return batches

    def raw_keys_of_page(self, page: Sequence[KeyValue]) -> list[bytes]:
        """A page's keys as the table keeps them (``encode_keys`` of the mapping's keys).
        With ``utf8_keys`` (a ``Str`` key codec) a key's stored bytes after the prefix are
        that already when the page is valid UTF-8, which one C-level decode of the keys
        joined by a newline (never part of a valid sequence) checks: nothing is decoded
        key by key."""
        raws = self.keys.relative_keys_of_page(page)
        if self._utf8_keys:
            try:
                b"\n".join(raws).decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                return raws
        return encode_keys(self.keys.keys_of_page(page))

    def listing(self) -> PackedListing:
        """A ``PackedListing`` comparing a fresh listing with the table."""
        return PackedListing(self)

    def add_index(self, name: str, fn: Callable[[str, Any], Any]) -> None:
        """Not with ``packed=True``: ``ValueError``."""
        raise ValueError(f"add_index({name!r}): a packed mirror (packed=True) keeps no indexes")

    def lookup(self, name: str, value: Hashable) -> list[str]:
        """Not with ``packed=True`` (no index exists): ``KeyError``."""
        raise KeyError(name)


class PackedListing:
    """A listing into a ``PackedStore``: the first load fills a new table (swapped in by
    ``install``); a relist marks the held keys it meets and keeps aside only the values that
    differ, and ``install`` applies that diff to the table in place."""

    def __init__(self, store: PackedStore) -> None:
        self._store = store
        self._fresh = not store.table
        self._table = PackedTable() if self._fresh else store.table
        self._pending: dict[str, bytes] = {}
        if not self._fresh:
            self._table.begin_relist()

    def expect(self, count: int) -> None:
        """Size the new table of a first load for the ``count`` keys listed (relists add
        few keys to a table already sized)."""
        if self._fresh:
            self._table.reserve(count)

    def add(self, page: Sequence[KeyValue]) -> None:
        """Compare (or, for the first load, store) one listed page."""
        raws = self._store.raw_keys_of_page(page)
        values = [kv.value for kv in page]
        table = self._table
        if self._fresh:
            table.extend(raws, values)
            return
        for i in table.changed(raws, values):
            self._pending[decode_key(raws[i])] = values[i]

    def install(self, revision: int, source: BatchSource, changes: bool) -> Batch:
        """Make the listing the store's copy at ``revision``; the diff as one batch."""
        store, table = self._store, self._table
        listed: list[Change] = []
        if self._fresh:
            store.table = table
            if changes:
                listed = [store.change(key, None, raw, revision) for key, raw in table.pairs()]
        else:
            for key in table.unseen():
                gone = table.pop(key)
                if changes:
                    listed.append(store.change(key, gone, None, revision))
            for key, raw in self._pending.items():
                old = table.get(key)
                table[key] = raw
                if changes:
                    listed.append(store.change(key, old, raw, revision))
            self._pending = {}
        store.revision = revision
        return Batch(revision, listed, source)
