"""Flavour-specific pieces of the mirror.

``etcdmap/_async/mirror.py`` uses the ``Async*`` names; scripts/unasync strips the prefix, so
the generated ``etcdmap/_sync/mirror.py`` uses the blocking twins:

- ``AsyncGuard`` / ``Guard``: what the store is applied and copied under. The asyncio mirror
  needs nothing (a batch is applied with no ``await`` in between, so no coroutine can observe
  half of it); the threaded one needs a lock shared by the applying thread and the readers.
- ``AsyncInbox`` / ``Inbox``: an unbounded queue whose ``get`` takes a timeout (debounce).
- ``AsyncMirrorBase`` / ``MirrorBase``: the mapping reads, the same for both (the local copy
  now, no RPC; ``MirrorDegradedError`` while ``DEGRADED`` unless the consistency is
  ``"local"``); the threaded mirror is also a real ``collections.abc.MutableMapping``.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from abc import abstractmethod
from collections.abc import ItemsView, Iterator, KeysView, MutableMapping, ValuesView
from typing import Any, Generic, TypeVar

from .._core.errors import MirrorDegradedError
from .._core.mirror import Consistency, MirrorSnapshot, MirrorState
from .._core.outage import describe

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


class _MirrorReads(Generic[V]):
    """The mapping reads of both mirrors (the rule in docs/mirrors.md, "Same name, same meaning"):
    ``m[key]``, ``key in m``, ``len(m)``, iteration and the views read the local copy now, with
    no RPC and no waiting. While the mirror is ``DEGRADED`` and its consistency is not
    ``"local"`` they raise ``MirrorDegradedError`` instead of answering from a copy that may
    be stale (a check, no I/O). ``read``/``contains``/``count``/``snapshot``/``barrier`` wait
    as their ``consistency`` says; writes return once the copy shows them."""

    prefix: str
    consistency: Consistency

    @property
    @abstractmethod
    def revision(self) -> int: ...

    @property
    @abstractmethod
    def state(self) -> MirrorState: ...

    @property
    @abstractmethod
    def error(self) -> BaseException | None: ...

    @property
    @abstractmethod
    def last_confirmed(self) -> float | None: ...

    @abstractmethod
    def local(self) -> dict[str, V]: ...

    @abstractmethod
    def local_snapshot(self) -> MirrorSnapshot: ...

    def _copy(self) -> dict[str, V]:
        """The live local dict, once the mirror may answer from it (else the error)."""
        if self.state is MirrorState.DEGRADED and self.consistency != "local":
            since = self.last_confirmed
            silent = f" for {time.time() - since:.1f} s" if since is not None else ""
            cause = f" (last error: {describe(self.error)})" if self.error is not None else ""
            raise MirrorDegradedError(
                f"mirror of {self.prefix!r} is DEGRADED: its watch confirmed nothing{silent}"
                f"{cause}, so its copy at revision {self.revision} may be stale; read(key) "
                f"asks the server first, local_get(key) answers from the copy"
            )
        return self.local()

    def __getitem__(self, key: str) -> V:
        value = self._copy().get(key, _CLOSED)
        if value is _CLOSED:
            raise KeyError(key)
        found: V = value
        return found

    def __contains__(self, key: object) -> bool:
        return key in self._copy()

    def __len__(self) -> int:
        return len(self._copy())

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def keys(self) -> KeysView[str]:
        """The keys of an atomic copy of the local content, in key order."""
        self._copy()
        return self.local_snapshot().data.keys()

    def values(self) -> ValuesView[V]:
        """The values of an atomic copy of the local content."""
        self._copy()
        return self.local_snapshot().data.values()

    def items(self) -> ItemsView[str, V]:
        """The ``(key, value)`` pairs of an atomic copy of the local content."""
        self._copy()
        return self.local_snapshot().data.items()


class AsyncMirrorBase(_MirrorReads[V]):
    """Base of ``AsyncMirror``: the mapping reads (no ``__setitem__``: a write is awaited,
    ``await m.set(key, value)``)."""


class MirrorBase(_MirrorReads[V], MutableMapping[str, V]):
    """Base of ``Mirror``: a real ``MutableMapping`` whose reads are the mirror's mapping
    reads; ``m[key] = value`` and ``del m[key]`` are ``set`` and ``delete``."""

    @abstractmethod
    def set(self, key: str, value: V) -> int: ...

    @abstractmethod
    def delete(self, key: str) -> int: ...

    def __setitem__(self, key: str, value: V) -> None:
        self.set(key, value)

    def __delitem__(self, key: str) -> None:
        self.delete(key)
