"""python-etcd3's watch events: ``PutEvent`` and ``DeleteEvent``."""

from __future__ import annotations

from typing import Any

from ... import Event as _Event
from ... import EventType, KeyValue

__all__ = ["DeleteEvent", "Event", "PutEvent", "new_event"]


class Event:
    """One change of a key: ``key``, and every field of the key as written (``value``,
    ``mod_revision``, ``version``, ``lease``...) as attributes; with ``prev_kv=True`` on the
    watch, the key as it was before as ``prev_value``, ``prev_version``..."""

    def __init__(self, event: _Event) -> None:
        self.key = event.kv.key
        self._kv = event.kv
        self._prev_kv = KeyValue() if event.prev_kv is None else event.prev_kv

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name.startswith("prev_"):
            return getattr(self._prev_kv, name[5:])
        return getattr(self._kv, name)

    def __str__(self) -> str:
        return f"{self.__class__} key={self.key!r} value={self._kv.value!r}"


class PutEvent(Event):
    """A key was written."""


class DeleteEvent(Event):
    """A key was deleted (only ``key`` and ``mod_revision`` are set)."""


def new_event(event: _Event) -> Event:
    """etcdmap's ``Event`` as a ``PutEvent`` or ``DeleteEvent``."""
    return PutEvent(event) if event.type is EventType.PUT else DeleteEvent(event)
