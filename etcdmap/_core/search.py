"""Sans-IO search of a map's keys and values: ``Search`` says whether a key or a value
matches a pattern; the shells feed it listed pages (``EtcdMap.search``) or a local copy
(``Mirror.search``).

A value is searched as text: a ``str`` as it is, ``bytes`` decoded as UTF-8 (bad bytes
replaced), anything else as its JSON (msgspec: Structs, dataclasses, dicts, lists...) or,
when it has none, its ``repr``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import msgspec

from .keyspace import KeySpace
from .results import KeyValue

__all__ = ["Search", "search_local", "value_text"]


def value_text(value: object) -> str:
    """The text a value is searched as (see the module docstring)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    dump = getattr(value, "model_dump_json", None)  # a pydantic model
    if callable(dump) and not isinstance(value, type):
        return str(dump())
    try:
        return msgspec.json.encode(value).decode()
    except (TypeError, ValueError):
        return repr(value)


class Search:
    """A pattern and where to look for it: ``keys`` and/or ``values``; a plain substring
    (case-sensitive) or, with ``regex=True``, a regular expression found anywhere
    (``re.search``). ``TypeError``/``ValueError`` naming the argument for a bad one."""

    __slots__ = ("keys", "pattern", "test", "values")

    def __init__(self, pattern: str, *, keys: bool = True, values: bool = False,
                 regex: bool = False) -> None:  # fmt: skip
        if not isinstance(pattern, str):
            raise TypeError(f"pattern must be a str, not {type(pattern).__name__}")
        if not (keys or values):
            raise ValueError("search needs keys=True or values=True (or both)")
        self.pattern = pattern
        self.keys = keys
        self.values = values
        self.test: Callable[[str], object]
        if regex:
            try:
                self.test = re.compile(pattern).search
            except re.error as error:
                raise ValueError(
                    f"pattern {pattern!r} is not a regular expression: {error}"
                ) from None
        else:
            self.test = lambda text: pattern in text

    def __repr__(self) -> str:
        return f"Search({self.pattern!r}, keys={self.keys}, values={self.values})"

    def key(self, key: str) -> bool:
        """Whether ``key`` matches (always False when keys are not searched)."""
        return self.keys and bool(self.test(key))

    def value(self, value: object) -> bool:
        """Whether ``value`` matches (always False when values are not searched)."""
        return self.values and bool(self.test(value_text(value)))

    def page(self, keyspace: KeySpace[Any], page: Sequence[KeyValue]) -> list[tuple[str, Any]]:
        """The matching ``(key, value)`` pairs of one listed page, in key order; a value is
        decoded only when it is searched or its key matched (``ValueDecodeError`` if it does
        not decode)."""
        found = []
        for kv in page:
            key = keyspace.relative(kv.key)
            if self.key(key):
                found.append((key, keyspace.decode(key, kv)))
            elif self.values:
                value = keyspace.decode(key, kv)
                if self.value(value):
                    found.append((key, value))
        return found


def search_local(data: Mapping[str, Any], search: Search) -> Iterator[tuple[str, Any]]:
    """The matching ``(key, value)`` pairs of a local copy (one the caller no longer
    changes), in key order."""
    matched = [key for key, value in data.items() if search.key(key) or search.value(value)]
    for key in sorted(matched):
        yield key, data[key]
