"""Sans-IO parts of the mapping layer: result types, key layout, decode errors, previews."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any, Generic, Literal, TypeVar

import msgspec

from .errors import ValueDecodeError

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
    """One line of a preview: key, a short summary of the value, size and mod_revision."""

    key: str
    summary: str
    size: int
    mod_revision: int


class Preview(msgspec.Struct, frozen=True):
    """A bounded look at a map: its count (count-only Range) and its first keys (one page)."""

    cls: str
    prefix: str
    codec: str
    count: int
    revision: int
    rows: Sequence[PreviewRow]

    def _repr_html_(self) -> str:
        esc = html.escape
        head = (
            f"<b>{esc(self.cls)}</b> <code>{esc(self.prefix)}</code> &middot; "
            f"{self.count} keys &middot; revision {self.revision} &middot; {esc(self.codec)}"
        )
        if not self.rows:
            return f"<div>{head}</div>"
        lines = "".join(
            f"<tr><td><code>{esc(r.key)}</code></td><td>{esc(r.summary)}</td>"
            f"<td>{r.size}</td><td>{r.mod_revision}</td></tr>"
            for r in self.rows
        )
        more = self.count - len(self.rows)
        tail = f"<div>&hellip; and {more} more</div>" if more > 0 else ""
        return (
            f"<div>{head}<table><thead><tr><th>key</th><th>value</th><th>bytes</th>"
            f"<th>mod_revision</th></tr></thead><tbody>{lines}</tbody></table>{tail}</div>"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text())

    def text(self) -> str:
        """The preview as plain text (what ``_repr_pretty_`` prints)."""
        lines = [
            f"{self.cls}({self.prefix!r}, {self.codec}): {self.count} keys "
            f"at revision {self.revision}"
        ]
        lines += [
            f"  {r.key!r}: {r.summary}  ({r.size} B, rev {r.mod_revision})" for r in self.rows
        ]
        if self.count > len(self.rows):
            lines.append(f"  ... and {self.count - len(self.rows)} more")
        return "\n".join(lines)


def summarize(value: object, width: int = 60) -> str:
    """A one-line ``repr`` of ``value`` cut to ``width`` characters."""
    text = repr(value).replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


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
