"""``AsyncMapWatcher``: a map's watch as typed ``Change``s (``AsyncEtcdMap.watch``).

It is the client's watch (Watch.Watch with ``prev_kv``, on the client's shared stream) of
the map's range or of one key, so it resumes as the client's watch does: after a broken
stream it is re-created from the revision after the last one delivered, no event lost or
repeated. Each event becomes a ``Change`` (``_core.changes``); a value that does not decode
arrives as a change carrying the error and the feed goes on.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Generic, TypeVar

from .._core.changes import change_of
from .._core.mirror import Change
from .kv import watch_kv_of

if TYPE_CHECKING:
    from .._core.keyspace import KeySpace
    from .kv import AsyncKV

__all__ = ["AsyncMapWatcher"]

V = TypeVar("V")


class AsyncMapWatcher(Generic[V]):
    """``async for change in m.watch():`` — the map's changes as ``Change``s, in revision
    order; ``cancel()`` (or leaving ``async with``) ends it. ``CompactedError`` from the
    iteration when ``start_revision`` was compacted."""

    def __init__(
        self, client: AsyncKV, keyspace: KeySpace[V], key: str | None, start_revision: int
    ) -> None:
        watches = watch_kv_of(client, "watch()")
        self.keyspace = keyspace
        self.key = key
        if key is None:
            self.watcher = watches.watch(
                keyspace.start, range_end=keyspace.end, start_revision=start_revision,
                prev_kv=True,
            )  # fmt: skip
        else:
            self.watcher = watches.watch(
                keyspace.full(key), start_revision=start_revision, prev_kv=True
            )
        self._pending: deque[Change] = deque()

    def __repr__(self) -> str:
        what = self.keyspace.name + ("" if self.key is None else self.key)
        return f"{type(self).__name__}({what!r}, next_revision={self.next_revision})"

    @property
    def next_revision(self) -> int:
        """The first revision this watch has not delivered yet (0 before it started)."""
        return self.watcher.next_revision

    async def start(self, timeout: float | None = None) -> AsyncMapWatcher[V]:
        """Create the watch on the server, so every change made after this returns is
        delivered (done by ``async with`` and iteration); ``DeadlineExceededError`` after
        ``timeout`` seconds."""
        await self.watcher.start(timeout)
        return self

    async def cancel(self) -> None:
        """Stop watching: iteration ends after the changes already received."""
        await self.watcher.cancel()

    async def __aenter__(self) -> AsyncMapWatcher[V]:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.cancel()

    def __aiter__(self) -> AsyncMapWatcher[V]:
        return self

    async def __anext__(self) -> Change:
        while not self._pending:
            response = await self.watcher.__anext__()
            self._pending.extend(change_of(self.keyspace, event) for event in response.events)
        return self._pending.popleft()
