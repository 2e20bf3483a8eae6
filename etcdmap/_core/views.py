"""Sans-IO views of values for people: structured values flattened into columns, and tables
rendered as HTML (notebooks) or text (terminals).

``flatten(value)`` turns a msgspec Struct, dataclass, attrs class, pydantic model, TypedDict
or dict into ``{"field": value, "nested.field": value}`` down to ``depth`` levels (what is
deeper stays one cell); anything else is one column, ``value``. ``render_table(rows,
columns)`` and ``text_table(rows, columns)`` draw any rows (mappings of column → value), so
every result with rows (map and mirror previews, stats, plans, histories) looks alike.
"""

from __future__ import annotations

import datetime
import decimal
import html
import sys
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

__all__ = [
    "VALUE", "columns_of", "flatten", "in_notebook_kernel", "render_table", "summarize",
    "text_table",
]  # fmt: skip

#: The column of a value that has no fields (a number, a string, a list...).
VALUE = "value"
#: Types kept as they are when a value is flattened (not turned into strings).
_KEEP = (
    bytes, bytearray, memoryview, datetime.datetime, datetime.date, datetime.time,
    datetime.timedelta, decimal.Decimal, uuid.UUID,
)  # fmt: skip


def in_notebook_kernel() -> bool:
    """Whether this code runs in a Jupyter kernel (an IPython shell with a kernel), whose
    cells run on the kernel's event loop: there every cell's code blocks that loop."""
    get_ipython = getattr(sys.modules.get("IPython"), "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    return getattr(shell, "kernel", None) is not None


def summarize(value: object, width: int = 60) -> str:
    """A one-line ``repr`` of ``value`` cut to ``width`` characters."""
    return _cut(repr(value), width)


def _cut(text: str, width: int) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def _fields(value: object) -> Any:
    """``value`` as builtins (a dict for anything with fields), or ``value`` itself if it
    has no such form."""
    dump = getattr(value, "model_dump", None)  # a pydantic model
    if callable(dump) and not isinstance(value, type):
        return dump()
    try:
        return msgspec.to_builtins(value, builtin_types=_KEEP, str_keys=True)
    except (TypeError, ValueError):
        return value


def flatten(value: object, depth: int = 2) -> dict[str, Any]:
    """``value``'s fields as columns: nested fields joined with ``.`` down to ``depth``
    levels (a deeper mapping is one cell); a value without fields is the one column
    ``value``."""
    data = _fields(value)
    if not isinstance(data, Mapping) or not data:
        return {VALUE: data}
    columns: dict[str, Any] = {}

    def walk(prefix: str, mapping: Mapping[Any, Any], level: int) -> None:
        for name, item in mapping.items():
            column = f"{prefix}{name}"
            if isinstance(item, Mapping) and level < depth:
                walk(column + ".", item, level + 1)  # an empty one gives no column
            else:
                columns[column] = item

    walk("", data, 1)
    return columns


def columns_of(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every column of ``rows``, in the order they first appear."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def _cell(value: object, width: int) -> str:
    if value is None:
        return ""
    return _cut(value if isinstance(value, str) else repr(value), width)


def render_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    title: str = "",
    more: int = 0,
    width: int = 60,
) -> str:
    """An HTML table of ``rows`` (mappings of column → value; a missing column is an empty
    cell) under ``title`` (HTML, given escaped), with "… and ``more`` more" below it. Every
    cell is escaped and cut to ``width`` characters."""
    esc = html.escape
    head = "".join(f"<th>{esc(column)}</th>" for column in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(_cell(row.get(c), width))}</td>" for c in columns) + "</tr>"
        for row in rows
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>" if rows else ""
    tail = f"<div>&hellip; and {more} more</div>" if more > 0 else ""
    return f"<div>{title}{table}{tail}</div>"


def text_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    title: str = "",
    more: int = 0,
    width: int = 30,
) -> str:
    """``rows`` as aligned plain text under ``title`` (what a terminal's ``pretty()``
    prints), cells cut to ``width`` characters."""
    cells = [[_cell(row.get(c), width) for c in columns] for row in rows]
    sizes = [max([len(c), *(len(line[i]) for line in cells)]) for i, c in enumerate(columns)]
    lines = [title] if title else []
    if rows:
        lines.append("  ".join(c.ljust(n) for c, n in zip(columns, sizes, strict=True)).rstrip())
        lines += [
            "  ".join(c.ljust(n) for c, n in zip(line, sizes, strict=True)).rstrip()
            for line in cells
        ]
    if more > 0:
        lines.append(f"... and {more} more")
    return "\n".join(lines)
