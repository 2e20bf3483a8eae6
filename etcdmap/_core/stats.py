"""Sans-IO sizes of a map: keys and bytes per child prefix (``EtcdMap.stats``,
``Mirror.stats``).

A key's child prefix at ``depth`` is its first ``depth`` path segments with their ``/``
(``"a/b/c"`` is under ``"a/"`` at depth 1, ``"a/b/"`` at depth 2); a key with fewer
segments is its own row (``"x"``). Sizes are what etcd stores: the full key (prefix
included) and the value's bytes. etcd reports no value sizes without the values themselves
(a keys-only Range sends every value empty, and ``KeyValue`` has no size field), so value
bytes cost a read of every value; without them (``values=False``) only keys are counted.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

from .keyspace import KeySpace
from .results import KeyValue
from .views import render_table, text_table

__all__ = ["PrefixStats", "Stats", "StatsTally", "check_depth"]

class PrefixStats(msgspec.Struct, frozen=True):
    """The keys under one child ``prefix`` (relative to the map; ``""`` for all of them):
    how many, the bytes of their full keys and of their values (None when values were not
    read), and ``size``, the two together."""

    prefix: str
    keys: int
    key_bytes: int
    value_bytes: int | None

    @property
    def size(self) -> int:
        """Key bytes plus value bytes (key bytes alone when values were not read)."""
        return self.key_bytes + (self.value_bytes or 0)


class Stats(msgspec.Struct, frozen=True):
    """Keys and bytes of the map of ``prefix`` at ``revision``: ``total`` and one row per
    child prefix at ``depth`` (``children``, in key order)."""

    prefix: str
    depth: int
    revision: int
    total: PrefixStats
    children: list[PrefixStats]

    def _rows(self) -> tuple[list[dict[str, Any]], list[str]]:
        columns = ["prefix", "keys", "key_bytes", "value_bytes", "size"]
        rows = [{c: getattr(s, c) for c in columns} for s in [*self.children, self.total]]
        rows[-1]["prefix"] = "(total)"
        return rows, columns

    def _title(self) -> str:
        return f"stats of {self.prefix!r} at depth {self.depth}, revision {self.revision}"

    def _repr_html_(self) -> str:
        return render_table(*self._rows(), title=f"<b>{html.escape(self._title())}</b>")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text())

    def text(self) -> str:
        """The table as plain text."""
        return text_table(*self._rows(), title=self._title())


def check_depth(depth: int) -> int:
    """``depth`` if it is an int ≥ 1, else ``TypeError``/``ValueError`` naming it."""
    if not isinstance(depth, int) or isinstance(depth, bool):
        raise TypeError(f"depth must be an int, not {type(depth).__name__}")
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    return depth


class StatsTally:
    """Counts the keys of ``keyspace`` into child prefixes at ``depth``: ``add_page`` for
    listed pages, ``add_local`` for a local copy, then ``result(revision)``. With
    ``values`` False no value is sized (``value_bytes`` None)."""

    def __init__(self, keyspace: KeySpace[Any], depth: int, values: bool) -> None:
        self.keyspace = keyspace
        self.depth = check_depth(depth)
        self.values = values
        self._cut = len(keyspace.prefix)
        self._rows: dict[bytes, list[int]] = {}

    def add_page(self, page: Sequence[KeyValue]) -> None:
        """Count the keys of one listed page (their values' sizes as sent)."""
        cut = self._cut
        self._add((kv.key[cut:], len(kv.key), len(kv.value)) for kv in page)

    def add_local(self, data: Mapping[str, Any]) -> None:
        """Count the keys of a local copy of decoded values: each key is encoded with the
        key codec and, with ``values``, each value with the codec to size it (what it
        would store: the stored bytes may differ when another writer formatted them)."""
        encode_key, encode = self.keyspace.key_codec.encode, self.keyspace.codec.encode
        cut, values = self._cut, self.values
        self._add(
            (relative, cut + len(relative), len(encode(value)) if values else 0)
            for relative, value in ((encode_key(key), value) for key, value in data.items())
        )

    def child(self, relative: bytes) -> bytes:
        """The child prefix of the key ``relative`` (bytes after the map's prefix)."""
        parts = relative.split(b"/", self.depth)
        return relative if len(parts) <= self.depth else relative[: -len(parts[-1]) or None]

    def _add(self, keys: Iterable[tuple[bytes, int, int]]) -> None:
        """Count ``(relative key, full key bytes, value bytes)`` triples (the hot loop of a
        pass: the child prefix computed inline)."""
        rows, depth = self._rows, self.depth
        for relative, key_bytes, value_bytes in keys:
            parts = relative.split(b"/", depth)
            child = relative if len(parts) <= depth else relative[: -len(parts[-1]) or None]
            row = rows.get(child)
            if row is None:
                rows[child] = [1, key_bytes, value_bytes]
            else:
                row[0] += 1
                row[1] += key_bytes
                row[2] += value_bytes

    def _name(self, child: bytes) -> str:
        try:
            return str(self.keyspace.key_codec.decode(child))
        except Exception:  # noqa: BLE001 - a prefix cut mid-character: show its bytes
            return child.decode("utf-8", "backslashreplace")

    def result(self, revision: int) -> Stats:
        """The counts as ``Stats`` at ``revision``."""
        children = [
            PrefixStats(self._name(child), keys, key_bytes, value_bytes if self.values else None)
            for child, (keys, key_bytes, value_bytes) in sorted(self._rows.items())
        ]
        total = PrefixStats(
            "", sum(c.keys for c in children), sum(c.key_bytes for c in children),
            sum(c.value_bytes or 0 for c in children) if self.values else None,
        )  # fmt: skip
        return Stats(self.keyspace.name, self.depth, revision, total, children)
