"""Flavour-specific pieces of the mirror.

``etcdmap/_async/mirror.py`` uses the ``Async*`` names; scripts/unasync strips the prefix, so
the generated ``etcdmap/_sync/mirror.py`` uses the blocking twins:

- ``AsyncGuard`` / ``Guard``: what the store is applied and copied under. The asyncio mirror
  needs nothing (a batch is applied with no ``await`` in between, so no coroutine can observe
  half of it); the threaded one needs a lock shared by the applying thread and the readers.
- ``AsyncInbox`` / ``Inbox``: an unbounded queue whose ``get`` takes a timeout (debounce).
- ``AsyncMirrorBase`` / ``MirrorBase``: the mapping dunders. The asyncio mirror's dunders read
  the local copy as it is now (they cannot await); the threaded mirror is a real
  ``collections.abc.MutableMapping`` whose dunders honour the mirror's ``consistency``.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from abc import abstractmethod
from collections.abc import Iterator, MutableMapping
from typing import Any, Generic, TypeVar

__all__ = ["AsyncGuard", "AsyncInbox", "AsyncMirrorBase", "Guard", "Inbox", "MirrorBase"]

V = TypeVar("V")
T = TypeVar("T")
_CLOSED: Any = object()


def AsyncGuard() -> contextlib.AbstractContextManager[Any]:  # noqa: N802 - a class-like factory
    """No lock: the event loop already serialises the applier and the readers."""
    return contextlib.nullcontext()


def Guard() -> contextlib.AbstractContextManager[Any]:  # noqa: N802 - a class-like factory
    """A lock shared by the applying thread and readers that copy several keys."""
    return threading.Lock()


class AsyncInbox(Generic[T]):
    """An unbounded queue of items for one consumer task; ``get`` returns None on timeout or
    once closed."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Any] = asyncio.Queue()

    def put(self, item: T) -> None:
        self._queue.put_nowait(item)

    def close(self) -> None:
        self._queue.put_nowait(_CLOSED)  # stays queued: every later get() sees it

    async def get(self, timeout: float | None = None) -> T | None:
        try:
            item = await asyncio.wait_for(self._queue.get(), timeout)
        except asyncio.TimeoutError:
            return None
        if item is _CLOSED:
            self._queue.put_nowait(_CLOSED)  # wake any other waiter too
            return None
        result: T = item
        return result


class Inbox(Generic[T]):
    """An unbounded queue of items for one consumer thread; ``get`` returns None on timeout or
    once closed."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def put(self, item: T) -> None:
        self._queue.put(item)

    def close(self) -> None:
        self._queue.put(_CLOSED)  # stays queued: every later get() sees it

    def get(self, timeout: float | None = None) -> T | None:
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is _CLOSED:
            self._queue.put(_CLOSED)
            return None
        result: T = item
        return result


class AsyncMirrorBase(Generic[V]):
    """Base of ``AsyncMirror``: dunders that read the local copy now (no waiting, no RPC).

    ``await m.read(key, consistency=...)``, ``await m.barrier(...)`` wait first."""

    @abstractmethod
    def local(self) -> dict[str, V]: ...

    @abstractmethod
    def local_get(self, key: str, default: Any) -> Any: ...

    def __getitem__(self, key: str) -> V:
        value = self.local_get(key, _CLOSED)
        if value is _CLOSED:
            raise KeyError(key)
        found: V = value
        return found

    def __contains__(self, key: object) -> bool:
        return key in self.local()

    def __len__(self) -> int:
        return len(self.local())

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.local()))


class MirrorBase(MutableMapping[str, V]):
    """Base of ``Mirror``: a real ``MutableMapping``; reads wait as the mirror's
    ``consistency`` says, then answer from the local copy; writes go to the server."""

    @abstractmethod
    def read(self, key: str, default: Any = ..., *, consistency: Any = None) -> Any: ...

    @abstractmethod
    def contains(self, key: object, *, consistency: Any = None) -> bool: ...

    @abstractmethod
    def count(self, *, consistency: Any = None) -> int: ...

    @abstractmethod
    def snapshot(self, *, consistency: Any = None) -> Any: ...

    @abstractmethod
    def set(self, key: str, value: V) -> int: ...

    @abstractmethod
    def delete(self, key: str) -> int: ...

    def __getitem__(self, key: str) -> V:
        value = self.read(key, _CLOSED)
        if value is _CLOSED:
            raise KeyError(key)
        found: V = value
        return found

    def __contains__(self, key: object) -> bool:
        return self.contains(key)

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[str]:
        return iter(self.snapshot().data)

    def __setitem__(self, key: str, value: V) -> None:
        self.set(key, value)

    def __delitem__(self, key: str) -> None:
        self.delete(key)
