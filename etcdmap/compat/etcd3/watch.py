"""python-etcd3's watches: ``WatchResponse`` and the ``Watcher`` of a client, which runs
callbacks on etcdmap's watch workers (one per watch, never on the thread reading the stream,
so a callback may block, add or cancel watches)."""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Callable, Iterable
from typing import Any

from ... import Client, CompactedError, DeadlineExceededError, EtcdError
from ... import WatchResponse as _WatchResponse
from ...watch import WatchCallback
from . import _messages
from .events import Event, new_event
from .exceptions import RevisionCompactedError, WatchTimedOut, translate

__all__ = ["WatchResponse", "Watcher"]

#: etcdrpc.WatchCreateRequest.FilterType -> etcdmap's filter name.
_FILTERS = {0: "noput", 1: "nodelete", "noput": "noput", "nodelete": "nodelete"}

Callback = Callable[[Any], object]


class WatchResponse:
    """What a watch callback receives: the response ``header`` and its ``events``."""

    def __init__(self, header: Any, events: list[Event]) -> None:
        self.header = header
        self.events = events


class Watcher:
    """The watches of one client, by the ids ``add_callback`` hands out."""

    def __init__(self, client: Client, timeout: float | None = None) -> None:
        self._client = client
        self.timeout = timeout
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._callbacks: dict[int, WatchCallback] = {}

    def add_callback(
        self,
        key: bytes | str,
        callback: Callback,
        range_end: bytes | str | None = None,
        start_revision: int | None = None,
        progress_notify: bool = False,
        filters: Iterable[int | str] | None = None,
        prev_kv: bool = False,
    ) -> int:
        """Watch ``key`` (or ``[key, range_end)``) and pass every ``WatchResponse``, or the
        exception that ended the watch, to ``callback`` (Watch.Watch on the client's shared
        stream). Returns the watch id once the server created the watch; ``WatchTimedOut``
        if it did not within the client's timeout."""
        try:
            handle = self._client.add_watch_callback(
                key, functools.partial(_deliver, callback), range_end=range_end,
                start_revision=start_revision or 0, progress_notify=progress_notify,
                filters=[_filter(f) for f in filters or ()],
                prev_kv=prev_kv, timeout=self.timeout,
            )  # fmt: skip
        except DeadlineExceededError as error:
            raise WatchTimedOut(str(error)) from error
        with self._lock:
            watch_id = next(self._ids)
            self._callbacks[watch_id] = handle
        return watch_id

    def cancel(self, watch_id: int) -> None:
        """Stop the watch ``watch_id`` (safe from its own callback; a no-op when unknown)."""
        with self._lock:
            handle = self._callbacks.pop(watch_id, None)
        if handle is not None:
            handle.cancel()

    def close(self) -> None:
        """Stop every watch."""
        with self._lock:
            handles, self._callbacks = list(self._callbacks.values()), {}
        for handle in handles:
            handle.cancel()


def _filter(name: int | str) -> Any:
    """etcdmap's name of a watch filter given as python-etcd3's enum value or a name."""
    if name not in _FILTERS:
        raise ValueError(f"filters: unknown watch filter {name!r} (NOPUT = 0, NODELETE = 1)")
    return _FILTERS[name]


def _deliver(callback: Callback, item: _WatchResponse | EtcdError) -> None:
    """etcdmap's response or error, as python-etcd3 passed them, to ``callback``."""
    if isinstance(item, CompactedError):
        callback(RevisionCompactedError(item.compact_revision or 0))
    elif isinstance(item, EtcdError):
        callback(translate(item))
    else:
        events = [new_event(event) for event in item.events]
        callback(WatchResponse(_messages.header(item.header), events))
