"""Sans-IO parts of the mirror: the local store, batches of changes, the relist diff and
debounce merging (its indexes are in ``mirror_index``, its saved format in ``mirror_file``).

The store holds one decoded value per key (``dict[str, V]``, keys relative to the prefix) and
nothing else: no revisions, no raw bytes. That is the leanest layout a dict allows (see the
memory table in bench/mirror.py and docs/scale.md); the mirror's ``revision`` is one number
for the whole copy. A relist builds the new copy next to the old one from a shallow copy of
it (``Listing``), so its peak is the copy plus two dict tables, not twice the copy.
Applying a watch response and replacing the copy after a relist are plain functions of the
store; the shells only run them under their guard so that no reader sees half a revision.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal, Protocol

import msgspec

from .mapping import MISSING, decode_error
from .mirror_index import Indexes
from .results import KeyValue
from .watch import Event, EventType

__all__ = [
    "Batch",
    "BatchSource",
    "Change",
    "ChangeKind",
    "Consistency",
    "InvalidValue",
    "Listing",
    "MirrorSnapshot",
    "MirrorState",
    "MirrorStore",
    "Store",
    "StoreListing",
    "check_consistency",
    "merge_batches",
    "split_events",
]


#: How a read waits before it answers from the local copy: ``"local"`` answers now,
#: ``"session"`` first waits until the writes made through this mirror are applied (the
#: default), ``"linearizable"`` first learns the server's current revision (one count-only
#: Range) and waits until the copy has reached it.
Consistency = Literal["local", "session", "linearizable"]
CONSISTENCY_CHOICES = ("local", "session", "linearizable")

#: Where a batch comes from: the initial ``"load"``, the ``"watch"``, or a ``"relist"`` after
#: the watch's revision was compacted (its changes are the diff old copy → new copy).
BatchSource = Literal["load", "watch", "relist"]


class ChangeKind(enum.Enum):
    """What happened to one key of a mirror."""

    ADDED = "added"
    MODIFIED = "modified"
    DELETED = "deleted"
    #: The key's new value does not decode: it left the mapping for ``Mirror.invalid``.
    INVALID = "invalid"


class MirrorState(enum.Enum):
    """A mirror's life: ``SYNCING`` (first load), ``READY`` (watching, confirmed recently),
    ``DEGRADED`` (the stream has not confirmed anything for a while: reads may be stale),
    ``RELISTING`` (the watch's revision was compacted; reloading), ``CLOSED``."""

    SYNCING = "syncing"
    READY = "ready"
    DEGRADED = "degraded"
    RELISTING = "relisting"
    CLOSED = "closed"


class Change(msgspec.Struct, frozen=True, gc=False):
    """One key's change: ``old`` and ``new`` values (None where the key is absent),
    ``revision`` the revision it happened at (for a relist: the relist's revision), and for
    ``ChangeKind.INVALID`` the ``ValueDecodeError``."""

    key: str
    kind: ChangeKind
    old: Any = None
    new: Any = None
    revision: int = 0
    error: Any = None


class Batch(msgspec.Struct, frozen=True):
    """The changes of one revision (or of one debounce window, then ``revision`` is the last
    one), applied to the mirror together before any callback sees them."""

    revision: int
    changes: list[Change]
    source: BatchSource = "watch"

    @property
    def relist(self) -> bool:
        """Whether these changes were computed by a relist diff rather than watched."""
        return self.source == "relist"


class InvalidValue(msgspec.Struct, frozen=True, gc=False):
    """A key whose stored value did not decode (or ``transform`` failed on it): its bytes,
    the error and the key's ``mod_revision``. It is not in the mapping until a valid value
    is written."""

    key: str
    data: bytes
    error: Any
    revision: int


def check_consistency(consistency: str) -> Consistency:
    """``consistency`` if it is a known mode, else ``ValueError`` naming the choices."""
    if consistency not in CONSISTENCY_CHOICES:
        raise ValueError(
            f"consistency must be one of {', '.join(CONSISTENCY_CHOICES)}; got {consistency!r}"
        )
    return consistency  # type: ignore[return-value]


def split_events(events: Sequence[Event], revision: int) -> Iterator[tuple[int, list[Event]]]:
    """A watch response's events after ``revision`` as ``(revision, events)`` groups, in
    order: the copy was confirmed current at ``revision``, so the earlier ones are in it."""
    group: list[Event] = []
    current = 0
    for event in events:
        at = event.kv.mod_revision
        if at <= revision:
            continue
        if at != current and group:
            yield current, group
            group = []
        current = at
        group.append(event)
    if group:
        yield current, group


def _same(old: Any, new: Any) -> bool:
    if old is new:
        return True
    try:
        return bool(old == new)
    except Exception:  # noqa: BLE001 - values without a usable ==: count as changed
        return False


class StoreListing(Protocol):
    """A listing of the prefix converted page by page into the store's next copy."""

    def expect(self, count: int) -> None: ...

    def add(self, page: Sequence[KeyValue]) -> None: ...

    def install(self, revision: int, source: BatchSource, changes: bool) -> Batch:
        """Make the listed copy the store's (under the owner's guard) and return the diff."""
        ...


class Store(Protocol):
    """What the shells use of a mirror's store: ``MirrorStore`` (decoded values in a dict)
    or ``mirror_packed.PackedStore`` (raw values in a ``PackedTable``)."""

    revision: int
    keys_only: bool

    @property
    def data(self) -> Mapping[str, Any]: ...

    @property
    def invalid(self) -> dict[str, InvalidValue]: ...

    @property
    def transform(self) -> Callable[[str, Any], Any] | None: ...

    def apply(self, events: Sequence[Event], changes: bool = True) -> list[Batch]: ...

    def listing(self) -> StoreListing: ...

    def add_index(self, name: str, fn: Callable[[str, Any], Any]) -> None: ...

    def lookup(self, name: str, value: Hashable) -> list[str]: ...


class MirrorStore:
    """The local copy of a prefix: ``data`` (key → value), ``invalid`` (key → InvalidValue),
    ``revision`` (the server revision the copy equals) and the secondary indexes.

    ``decode_key(bytes) -> str`` turns the part of a key after the prefix into the mapping's
    key; ``decode_value(bytes)`` the stored bytes into a value (raising for bad data);
    ``transform(key, value)`` reshapes a value before it is stored. With ``keys_only`` every
    value is None and nothing is decoded. Not thread-safe: the owner serialises calls and
    guards readers (a lock in the threaded mirror, the event loop in the asyncio one).
    """

    def __init__(
        self,
        prefix: bytes,
        decode_key: Callable[[bytes], str],
        decode_value: Callable[[bytes], Any],
        *,
        codec: object = None,
        keys_only: bool = False,
        transform: Callable[[str, Any], Any] | None = None,
    ) -> None:
        self.prefix = prefix
        self._cut = len(prefix)
        self._decode_key = decode_key
        self._decode_value = decode_value
        self._codec = codec
        self.keys_only = keys_only
        self.transform = transform
        self.data: dict[str, Any] = {}
        self.invalid: dict[str, InvalidValue] = {}
        self.revision = 0
        self.indexes = Indexes()

    # --- conversion ---------------------------------------------------------------------------

    def key_of(self, full: bytes) -> str:
        """The mapping's key for the full etcd key ``full`` (undecodable: a readable repr)."""
        relative = full[self._cut:]
        try:
            return self._decode_key(relative)
        except Exception:  # noqa: BLE001 - a key the key codec refuses is still a key
            return relative.decode("utf-8", "backslashreplace")

    def convert(self, key: str, data: bytes, mod_revision: int) -> Any:
        """The value to store for ``data``, or an ``InvalidValue`` if it does not decode
        (or ``transform`` raises)."""
        if self.keys_only:
            return None
        try:
            value = self._decode_value(data)
            if self.transform is not None:
                value = self.transform(key, value)
        except Exception as error:  # noqa: BLE001 - any failure quarantines the key
            problem = decode_error(key, data, mod_revision, self._codec, error)
            return InvalidValue(key, data, problem, mod_revision)
        return value

    def relative_keys_of_page(self, page: Sequence[KeyValue]) -> list[bytes]:
        """A page's keys without the prefix, as stored (not decoded)."""
        cut = self._cut
        return [kv.key[cut:] for kv in page]

    def keys_of_page(self, page: Sequence[KeyValue]) -> list[str]:
        """The mapping's keys of a page's kvs: decoded all at once (``map``, no call per key
        in Python), each apart only when one does not decode."""
        try:
            return list(map(self._decode_key, self.relative_keys_of_page(page)))
        except Exception:  # noqa: BLE001 - key_of gives a refused key a readable repr
            return [self.key_of(kv.key) for kv in page]

    def values_of_page(self, page: Sequence[KeyValue]) -> list[Any] | None:
        """The decoded values of a page's kvs all at once, or None when one does not decode
        or a ``transform`` applies (then ``convert`` takes them one at a time)."""
        if self.transform is not None:
            return None
        try:
            return list(map(self._decode_value, [kv.value for kv in page]))
        except Exception:  # noqa: BLE001 - convert quarantines the values that fail
            return None

    def listing(self) -> Listing:
        """A ``Listing`` that builds this store's next copy next to the held one."""
        return Listing(self)

    def build(
        self, pages: Iterable[Sequence[KeyValue]]
    ) -> tuple[dict[str, Any], dict[str, InvalidValue]]:
        """A fresh ``(data, invalid)`` pair from listed pages (no change to this store)."""
        listing = Listing(self)
        for page in pages:
            listing.add(page)
        return listing.result()

    # --- applying -----------------------------------------------------------------------------

    def apply(self, events: Sequence[Event], changes: bool = True) -> list[Batch]:
        """Apply a watch response's events (one or more revisions, in order) and return one
        ``Batch`` per revision (with no changes listed when ``changes`` is False). Events at or
        below ``revision`` are skipped: the copy was confirmed current at that revision, so
        they are already reflected in it."""
        batches: list[Batch] = []
        data, invalid, indexes = self.data, self.invalid, self.indexes
        for revision, group in split_events(events, self.revision):
            listed: list[Change] = []
            for event in group:
                kv = event.kv
                key = self.key_of(kv.key)
                old = data.pop(key, MISSING)
                was_invalid = invalid.pop(key, None)
                if event.type is EventType.PUT:
                    value = self.convert(key, kv.value, revision)
                    if type(value) is InvalidValue:
                        invalid[key] = value
                        new, kind, error = MISSING, ChangeKind.INVALID, value.error
                    else:
                        data[key] = new = value
                        kind = ChangeKind.ADDED if old is MISSING else ChangeKind.MODIFIED
                        error = None
                else:
                    if old is MISSING and was_invalid is None:
                        continue  # a key this copy never had: nothing to change
                    new, kind, error = MISSING, ChangeKind.DELETED, None
                indexes.update(key, old, new)
                if changes:
                    listed.append(Change(
                        key, kind, None if old is MISSING else old,
                        None if new is MISSING else new, revision, error,
                    ))  # fmt: skip
            batches.append(Batch(revision, listed))
            self.revision = max(self.revision, revision)
        return batches

    def replace(
        self,
        data: dict[str, Any],
        invalid: dict[str, InvalidValue],
        revision: int,
        source: BatchSource = "relist",
        changes: bool = True,
    ) -> Batch:
        """Make the copy ``(data, invalid)`` as listed at ``revision`` and return the diff as
        one batch: applying its changes to the old copy gives the new one exactly."""
        old_data, old_invalid = self.data, self.invalid
        listed: list[Change] = []
        indexes = self.indexes
        if changes or indexes:
            get, present = data.get, 0
            for key, old in old_data.items():
                new = get(key, MISSING)
                if new is old:
                    present += 1
                    continue  # unchanged: add_page kept the held value
                if new is MISSING:
                    if key in invalid:
                        continue  # reported with the invalid keys below
                    listed.append(Change(key, ChangeKind.DELETED, old, None, revision))
                    continue
                present += 1
                if not _same(old, new):
                    listed.append(Change(key, ChangeKind.MODIFIED, old, new, revision))
            if present < len(data):  # some keys are new (no set of all keys to find them)
                for key, new in data.items():
                    if key not in old_data:
                        listed.append(Change(key, ChangeKind.ADDED, None, new, revision))
            for key, bad in invalid.items():
                before = old_invalid.get(key)
                if before is None or before.data != bad.data:
                    old = old_data.get(key)
                    listed.append(Change(key, ChangeKind.INVALID, old, None, revision, bad.error))
            for key in old_invalid.keys() - invalid.keys() - data.keys():
                listed.append(Change(key, ChangeKind.DELETED, None, None, revision))
            for change in listed:
                key = change.key
                indexes.update(key, old_data.get(key, MISSING), data.get(key, MISSING))
        self.data, self.invalid = data, invalid
        self.revision = revision
        return Batch(revision, listed if changes else [], source)

    # --- indexes ------------------------------------------------------------------------------

    def add_index(self, name: str, fn: Callable[[str, Any], Any]) -> None:
        """Index every key by ``fn(key, value)`` (see ``index_values``), now and on every
        later change; ``ValueError`` if the name is taken."""
        self.indexes.add(name, fn, self.data)

    def lookup(self, name: str, value: Hashable) -> list[str]:
        """The keys whose index ``name`` holds ``value``, sorted; ``KeyError`` for an unknown
        index name."""
        return self.indexes.lookup(name, value)


class Listing:
    """A listing of the prefix converted page by page (``add``) into the copy that replaces
    the store's (``store.replace(*listing.result(), revision)``); the store is not changed.

    A relist starts from a shallow copy of the held data (the same key and value objects)
    and changes only what the pages change: an unchanged key costs no new object, so while
    the old copy is still readable the peak is the copy plus two dict tables (the new copy's
    and that of the held keys not listed yet), not twice the copy.
    """

    def __init__(self, store: MirrorStore) -> None:
        self._store = store
        self.data: dict[str, Any] = dict(store.data)
        self.invalid: dict[str, InvalidValue] = {}
        #: The held keys no page has listed yet: deleted unless one does.
        self._unseen: dict[str, None] = dict.fromkeys(store.data)

    def expect(self, count: int) -> None:
        """Nothing to size ahead: a dict grows by doubling, which costs little."""

    def add(self, page: Sequence[KeyValue]) -> None:
        """Convert one listed page into the copy being built."""
        store, data, unseen = self._store, self.data, self._unseen
        keys = store.keys_of_page(page)
        if store.keys_only:
            for key in keys:
                unseen.pop(key, None)
            data.update(dict.fromkeys(keys))
            return
        if not unseen:  # nothing held is left to compare with (the first load)
            values = store.values_of_page(page)
            if values is not None:
                data.update(zip(keys, values, strict=True))
                return
        convert, invalid = store.convert, self.invalid
        for key, kv in zip(keys, page, strict=True):
            unseen.pop(key, None)
            value = convert(key, kv.value, kv.mod_revision)
            if type(value) is InvalidValue:
                invalid[key] = value
                data.pop(key, None)
                continue
            old = data.get(key, MISSING)
            if old is MISSING or not _same(old, value):
                data[key] = value

    def result(self) -> tuple[dict[str, Any], dict[str, InvalidValue]]:
        """The listed ``(data, invalid)``: the held keys no page listed are gone."""
        data, unseen = self.data, self._unseen
        for key in unseen:
            del data[key]
        self._unseen = {}
        return data, self.invalid

    def install(self, revision: int, source: BatchSource, changes: bool) -> Batch:
        """``store.replace`` with the listed copy at ``revision``: the diff as one batch."""
        return self._store.replace(*self.result(), revision, source, changes)


def merge_batches(batches: Sequence[Batch]) -> Batch:
    """One batch with the net effect of ``batches`` (a debounce window): per key the first
    ``old`` and the last ``new``; a key added then deleted inside the window disappears."""
    if len(batches) == 1:
        return batches[0]
    first: dict[str, Change] = {}
    last: dict[str, Change] = {}
    for batch in batches:
        for change in batch.changes:
            first.setdefault(change.key, change)
            last[change.key] = change
    merged: list[Change] = []
    for key, start in first.items():
        end = last[key]
        before = start.kind in (ChangeKind.MODIFIED, ChangeKind.DELETED) or (
            start.kind is ChangeKind.INVALID and start.old is not None
        )
        if end.kind is ChangeKind.INVALID:
            merged.append(Change(key, ChangeKind.INVALID, start.old, None, end.revision, end.error))
        elif end.kind is ChangeKind.DELETED:
            if before:
                merged.append(Change(key, ChangeKind.DELETED, start.old, None, end.revision))
        elif before:
            merged.append(Change(key, ChangeKind.MODIFIED, start.old, end.new, end.revision))
        else:
            merged.append(Change(key, ChangeKind.ADDED, None, end.new, end.revision))
    relist = any(b.source == "relist" for b in batches)
    return Batch(batches[-1].revision, merged, "relist" if relist else batches[-1].source)


class MirrorSnapshot(msgspec.Struct, frozen=True):
    """A copy of a mirror's content at one ``revision`` (``Mirror.snapshot()``): ``data``
    is a plain dict the mirror no longer touches."""

    revision: int
    data: dict[str, Any]
