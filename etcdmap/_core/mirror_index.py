"""A mirror's secondary indexes: index value -> keys, kept up to date change by change.

Sans-IO; ``MirrorStore`` updates them inside every batch it applies, before any subscriber
sees the batch, so a lookup never disagrees with the copy it is made under.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from .mapping import MISSING

__all__ = ["Index", "Indexes", "index_values"]

log = logging.getLogger("etcdmap.mirror")


def index_values(result: Any) -> tuple[Hashable, ...]:
    """What an index function's result indexes: nothing for None, one value for a str,
    bytes or number, else every item of the iterable."""
    if result is None:
        return ()
    if isinstance(result, (str, bytes, int, float)):
        return (result,)
    return tuple(result)


class Index:
    """One secondary index: index value → set of keys, kept by recomputing ``fn`` on the old
    and the new value of every change (so ``fn`` must be deterministic)."""

    __slots__ = ("buckets", "fn", "name")

    def __init__(self, name: str, fn: Callable[[str, Any], Any]) -> None:
        self.name = name
        self.fn = fn
        self.buckets: dict[Hashable, set[str]] = {}

    def values_of(self, key: str, value: Any) -> tuple[Hashable, ...]:
        try:
            return index_values(self.fn(key, value))
        except Exception:
            log.exception("index %r function failed on key %r; key not indexed", self.name, key)
            return ()

    def update(self, key: str, old: Any, new: Any) -> None:
        """``key`` went from ``old`` to ``new`` (``MISSING`` for absent)."""
        before = self.values_of(key, old) if old is not MISSING else ()
        after = self.values_of(key, new) if new is not MISSING else ()
        if before == after:
            return
        for value in before:
            bucket = self.buckets.get(value)
            if bucket is not None:
                bucket.discard(key)
                if not bucket:
                    del self.buckets[value]
        for value in after:
            self.buckets.setdefault(value, set()).add(key)


class Indexes:
    """A mirror's indexes by name (empty: false, and ``update`` costs nothing)."""

    __slots__ = ("_by_name",)

    def __init__(self) -> None:
        self._by_name: dict[str, Index] = {}

    def __bool__(self) -> bool:
        return bool(self._by_name)

    def add(self, name: str, fn: Callable[[str, Any], Any], data: Mapping[str, Any]) -> None:
        """Index every key of ``data`` by ``fn(key, value)`` (see ``index_values``), now and on
        every later ``update``; ``ValueError`` if the name is taken."""
        if name in self._by_name:
            raise ValueError(f"index {name!r} already exists")
        index = Index(name, fn)
        for key, value in data.items():
            index.update(key, MISSING, value)
        self._by_name[name] = index

    def update(self, key: str, old: Any, new: Any) -> None:
        """``key`` went from ``old`` to ``new`` (``MISSING`` for absent) in every index."""
        for index in self._by_name.values():
            index.update(key, old, new)

    def lookup(self, name: str, value: Hashable) -> list[str]:
        """The keys whose index ``name`` holds ``value``, sorted; ``KeyError`` for an unknown
        index name."""
        try:
            index = self._by_name[name]
        except KeyError:
            raise KeyError(f"no index named {name!r} (add_index() it first)") from None
        return sorted(index.buckets.get(value, ()))
