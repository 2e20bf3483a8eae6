"""Sans-IO parts of the mapping layer: result types, key layout, decode errors, previews."""

from __future__ import annotations

import heapq
import html
from collections.abc import Mapping, Sequence
from typing import Any, Generic, Literal, TypeVar

import msgspec

from .errors import ValueDecodeError
from .views import VALUE, columns_of, flatten, render_table, summarize, text_table

__all__ = [
    "MISSING",
    "Entry",
    "OnError",
    "Preview",
    "UpdateResult",
    "decode_error",
]

V = TypeVar("V")

#: What iteration does with a value that does not decode: stop with ``ValueDecodeError``
#: (``"raise"``), leave the key out (``"skip"``), or leave it out and add the error to the
#: view's ``errors`` list (``"collect"``).
OnError = Literal["raise", "skip", "collect"]
ON_ERROR_CHOICES = ("raise", "skip", "collect")


class _Missing:
    """The "no argument given" marker (``None`` is a valid value and a valid default)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Entry(msgspec.Struct, Generic[V], frozen=True):
    """One key of a map with its metadata (from one Range, at ``revision``).

    ``mod_revision`` is the revision of the key's last write (what ``replace(...,
    revision=)`` compares), ``create_revision`` the one that created it, ``version`` the
    number of writes since it was created, ``lease`` its lease id (0 for none).
    """

    key: str
    value: V
    mod_revision: int
    create_revision: int
    version: int
    lease: int


class UpdateResult(msgspec.Struct, frozen=True):
    """What ``update()`` did: ``written`` keys in ``transactions`` transactions; ``atomic`` is
    True when they all went in one transaction (all or nothing), False when the write was
    split (a failure midway then raises ``PartialWriteError``, naming the keys written).
    ``revision`` is the store's revision after the last transaction (0 when there was nothing
    to write)."""

    written: int
    transactions: int
    atomic: bool
    revision: int


class PreviewRow(msgspec.Struct, frozen=True):
    """One line of a preview: key, a short summary of the value, its fields as columns
    (``views.flatten``; empty for a value that does not decode), stored size and
    mod_revision (None where unknown: a mirror keeps neither)."""

    key: str
    summary: str
    size: int | None = None
    mod_revision: int | None = None
    fields: dict[str, Any] = {}


class Preview(msgspec.Struct, frozen=True):
    """A bounded look at a map (its count from a count-only Range, its first keys from one
    page) or at a mirror's local copy. Values with fields (Structs, dataclasses, dicts...)
    show one column per field."""

    cls: str
    prefix: str
    codec: str
    count: int
    revision: int
    rows: Sequence[PreviewRow]

    def _table(self) -> tuple[list[dict[str, Any]], list[str]]:
        fields = columns_of(r.fields for r in self.rows)
        if fields in ([], [VALUE]):
            fields = [VALUE]
            lines = [{"key": r.key, VALUE: r.summary} for r in self.rows]
        else:  # a value that does not decode shows its summary in the first column
            lines = [{"key": r.key, **(r.fields or {fields[0]: r.summary})} for r in self.rows]
        extra = [
            c for c in ("size", "mod_revision") if any(getattr(r, c) is not None for r in self.rows)
        ]
        for line, r in zip(lines, self.rows, strict=True):
            line.update((c, getattr(r, c)) for c in extra)
        return lines, ["key", *fields, *extra]

    def _repr_html_(self) -> str:
        esc = html.escape
        head = (
            f"<b>{esc(self.cls)}</b> <code>{esc(self.prefix)}</code> &middot; "
            f"{self.count} keys &middot; revision {self.revision} &middot; {esc(self.codec)}"
        )
        rows, columns = self._table()
        return render_table(rows, columns, title=head, more=self.count - len(self.rows))

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text())

    def text(self) -> str:
        """The preview as plain text (what ``_repr_pretty_`` prints)."""
        title = (
            f"{self.cls}({self.prefix!r}, {self.codec}): {self.count} keys "
            f"at revision {self.revision}"
        )
        rows, columns = self._table()
        return text_table(rows, columns, title=title, more=self.count - len(self.rows))


def preview_row(
    key: str, value: object, size: int | None = None, mod_revision: int | None = None
) -> PreviewRow:
    """The preview line of ``key``'s decoded ``value``."""
    return PreviewRow(key, summarize(value), size, mod_revision, flatten(value))


def undecodable_row(key: str, data: bytes, mod_revision: int) -> PreviewRow:
    """The preview line of a key whose stored ``data`` does not decode."""
    return PreviewRow(key, f"<does not decode: {summarize(data, 40)}>", len(data), mod_revision)


def local_preview(
    cls: str, prefix: str, codec: object, data: Mapping[str, Any], revision: int, limit: int = 10
) -> Preview:
    """A preview of a local copy (a mirror's): its first ``limit`` keys in key order."""
    rows = [preview_row(key, data[key]) for key in heapq.nsmallest(limit, data)]
    return Preview(cls, prefix, repr(codec), len(data), revision, rows)


def check_on_error(on_error: str) -> OnError:
    """``on_error`` if it is one of ``raise``, ``skip``, ``collect``, else ``ValueError``."""
    if on_error not in ON_ERROR_CHOICES:
        raise ValueError(f"on_error must be one of {', '.join(ON_ERROR_CHOICES)}; got {on_error!r}")
    return on_error  # type: ignore[return-value]


def decode_error(
    key: object, data: bytes, mod_revision: int, codec: object, error: BaseException
) -> ValueDecodeError:
    """The ``ValueDecodeError`` for a stored value ``codec`` could not decode."""
    shown = data[:40] + (b"..." if len(data) > 40 else b"")
    return ValueDecodeError(
        f"value of key {key!r} (mod_revision {mod_revision}) does not decode with "
        f"{codec!r}: {error} (stored bytes {shown!r} left unchanged)",
        key=key,
        revision=mod_revision,
        data=data,
    )
