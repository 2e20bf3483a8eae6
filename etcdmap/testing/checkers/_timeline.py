"""A small self-contained HTML timeline of operations: one row per client, each operation a
bar from its call to its return (to the right edge when it never returned or its outcome is
unknown), coloured by its part in an anomaly; its full description on hover."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path

from ..history import Operation, Outcome
from ._register import ends

__all__ = ["write_timeline"]

_STYLE = """
body { font: 13px sans-serif; margin: 1em; }
.row { position: relative; height: 22px; border-bottom: 1px solid #eee; margin-left: 6em; }
.label { position: absolute; left: -6em; width: 5.5em; text-align: right; top: 3px; }
.op { position: absolute; top: 2px; height: 16px; overflow: hidden; white-space: nowrap;
      font-size: 11px; border-radius: 3px; box-sizing: border-box; padding: 0 2px; }
.other { background: #ddd; } .part { background: #f5b041; } .bad { background: #e74c3c;
color: white; } .open { border-right: 3px dashed #555; }
pre { white-space: pre-wrap; }
"""

#: One section: title, explanation, the operations to draw, those of the sub-history that
#: shows the anomaly, and the offending ones among them.
Section = tuple[str, str, Sequence[Operation], Sequence[Operation], Sequence[Operation]]


def write_timeline(path: Path, title: str, sections: Sequence[Section]) -> Path:
    """Write the sections' timelines to ``path`` as one HTML page; return ``path``."""
    body = [f"<h1>{html.escape(title)}</h1>"]
    if not sections:
        body.append("<p>No anomaly.</p>")
    for heading, text, ops, part, offending in sections:
        body.append(f"<h2>{html.escape(heading)}</h2><pre>{html.escape(text)}</pre>")
        drawn = set(map(id, ops))
        body.append(_rows([*ops, *(op for op in part if id(op) not in drawn)], part, offending))
    path.write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title><style>{_STYLE}</style></head><body>{''.join(body)}</body></html>"
    )
    return path


def _rows(
    ops: Sequence[Operation], part: Sequence[Operation], offending: Sequence[Operation]
) -> str:
    if not ops:
        return ""
    finish = [ends(op) for op in ops]
    bad, shown = set(map(id, offending)), set(map(id, part))
    first = min(op.invoke for op in ops)
    last = max([e for e in finish if e < math.inf] + [op.invoke for op in ops])
    span = (last - first) * 1.05 or 1.0
    rows = []
    for client in sorted({op.client for op in ops}):
        bars = []
        for op, end in zip(ops, finish, strict=True):
            if op.client != client:
                continue
            cls = "bad" if id(op) in bad else "part" if id(op) in shown else "other"
            left = (op.invoke - first) / span * 100
            width = max((min(end, first + span) - op.invoke) / span * 100, 0.3)
            if end == math.inf:
                cls += " open"
            label = op.kind if op.outcome is not Outcome.OK else f"{op.kind} {op.output!r}"
            bars.append(
                f"<div class='op {cls}' style='left:{left:.3f}%;width:{width:.3f}%' "
                f"title='{html.escape(op.describe(), quote=True)}'>{html.escape(label)}</div>"
            )
        rows.append(f"<div class='row'><span class='label'>client {client}</span>"
                    f"{''.join(bars)}</div>")
    return "".join(rows)
