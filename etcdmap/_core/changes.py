"""Sans-IO typed change feeds: watch events of a map as ``Change``s (``EtcdMap.watch``), and
the filter of a mirror's subscriptions (``Mirror.subscribe(keys=, prefix=, only_changes=)``).

Both feeds speak the mirror's ``Change``: ``key`` relative to the prefix, ``kind``
(``ADDED``, ``MODIFIED``, ``DELETED``, or ``INVALID`` for a new value that does not
decode), ``old`` and ``new`` decoded values (None where absent), ``revision`` and ``error``.
A value that does not decode never ends a feed: it arrives as a change with the
``ValueDecodeError`` in ``error`` (and None in its place).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from .errors import ValueDecodeError
from .keyspace import KeySpace
from .mirror import Batch, Change, ChangeKind, _same
from .watch import Event, EventType

__all__ = ["ChangeFilter", "change_of"]


def change_of(keyspace: KeySpace[Any], event: Event) -> Change:
    """The ``Change`` of one watch event (with ``prev_kv`` for the old value): ``ADDED``
    when the put created the key (its version is 1)."""
    kv, error = event.kv, None
    try:
        key = keyspace.relative(kv.key)
    except ValueDecodeError as problem:  # a key the key codec refuses is still a change
        key, error = kv.key[len(keyspace.prefix):].decode("utf-8", "backslashreplace"), problem
    old = new = None
    if event.prev_kv is not None:
        try:
            old = keyspace.decode(key, event.prev_kv)
        except ValueDecodeError as problem:
            error = problem
    if event.type is EventType.DELETE:
        kind = ChangeKind.DELETED
    else:
        kind = ChangeKind.ADDED if kv.version == 1 else ChangeKind.MODIFIED
        try:
            new = keyspace.decode(key, kv)
        except ValueDecodeError as problem:
            kind, error = ChangeKind.INVALID, problem
    return Change(key, kind, old, new, kv.mod_revision, error)


class ChangeFilter:
    """Which changes a subscriber gets: only those of ``keys`` and/or under ``prefix``
    (relative to the mirror's; all when neither is given), and with ``only_changes`` no
    ``MODIFIED`` whose new value equals the old (a put storing the same value)."""

    def __init__(
        self, keys: Iterable[str] | None = None, prefix: str | None = None,
        only_changes: bool = True,
    ) -> None:  # fmt: skip
        if isinstance(keys, str):
            raise TypeError("keys must be an iterable of keys, not one str: keys=[key]")
        if prefix is not None and not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, not {type(prefix).__name__}")
        self.keys = None if keys is None else frozenset(keys)
        self.prefix = prefix
        self.only_changes = only_changes

    def wants(self, change: Change) -> bool:
        """Whether ``change`` goes to the subscriber."""
        key = change.key
        if self.keys is not None or self.prefix is not None:
            chosen = self.keys is not None and key in self.keys
            if not (chosen or (self.prefix is not None and key.startswith(self.prefix))):
                return False
        return not (
            self.only_changes and change.kind is ChangeKind.MODIFIED
            and _same(change.old, change.new)
        )  # fmt: skip

    def batch(self, batch: Batch) -> Batch | None:
        """``batch`` with the changes the subscriber wants; None when it had changes and
        none is left (a batch without changes, such as an empty relist, is kept)."""
        kept = [change for change in batch.changes if self.wants(change)]
        if len(kept) == len(batch.changes):
            return batch
        return Batch(batch.revision, kept, batch.source) if kept else None

    def wrap(self, callback: Callable[[Batch], Any]) -> Callable[[Batch], Any]:
        """``callback`` called with the filtered batches only (what it returns, a coroutine
        for an async callback, is passed on)."""

        @functools.wraps(callback)  # logs name the user's callback
        def filtered(batch: Batch) -> Any:
            kept = self.batch(batch)
            return None if kept is None else callback(kept)

        return filtered
