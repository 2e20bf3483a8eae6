"""The content of a prefix at a revision, replayed from the committed events."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..history import WatchEvent

__all__ = ["content_at"]


def content_at(committed: Iterable[WatchEvent], revision: int, prefix: str = "") -> dict[str, Any]:
    """The keys under ``prefix`` and their values at ``revision``, replayed from
    ``committed`` (every committed event since the keys were absent, as in
    ``History.committed``)."""
    content: dict[str, Any] = {}
    for event in sorted(committed, key=lambda e: e.mod_revision):
        if event.mod_revision > revision:
            break
        if event.key.startswith(prefix):
            if event.kind == "put":
                content[event.key] = event.value
            else:
                content.pop(event.key, None)
    return content
