"""A mirror's feeds: every batch it applies goes to each consumer's queue, and consumers
(``subscribe`` callbacks, ``changes()`` iterators) read their queue on their own worker or
task, never on the watch reader. A slow consumer delays nobody; its queue grows."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from .._backends._mirror import AsyncInbox
from .._backends.asyncio import Event, Worker, settle
from .._core.mirror import Batch, merge_batches

__all__ = ["AsyncChanges", "AsyncFeed", "AsyncFeeds", "AsyncMirrorSubscription"]

log = logging.getLogger("etcdmap.mirror")

T = TypeVar("T")


class AsyncFeed(Generic[T]):
    """Items for one consumer, optionally merged over a debounce window."""

    def __init__(self, debounce: float = 0.0, max_wait: float | None = None) -> None:
        if debounce < 0:
            raise ValueError(f"debounce must not be negative, got {debounce!r}")
        self.debounce = debounce
        self.max_wait = max_wait if max_wait is not None else max(10 * debounce, debounce)
        self.inbox: AsyncInbox[T] = AsyncInbox()

    async def next(self) -> T | None:
        """The next item (a batch merged over the debounce window); None once closed."""
        item = await self.inbox.get()
        if item is None or not self.debounce or not isinstance(item, Batch):
            first: T | None = item
            return first
        batches: list[Any] = [item]
        deadline = time.monotonic() + self.max_wait
        while (left := deadline - time.monotonic()) > 0:
            more = await self.inbox.get(min(self.debounce, left))
            if more is None:
                break
            batches.append(more)
        merged: T = merge_batches(batches)  # type: ignore[assignment]  # T is Batch here
        return merged


class AsyncFeeds:
    """The feeds of one mirror: ``attach`` a consumer, ``emit`` batches to all of them."""

    def __init__(self) -> None:
        self._feeds: list[AsyncFeed[Any]] = []

    def __bool__(self) -> bool:
        """Whether anyone listens (else the mirror need not list the changes it applies)."""
        return bool(self._feeds)

    def attach(self, debounce: float, max_wait: float | None) -> AsyncFeed[Batch]:
        """A new feed of the batches emitted from now on."""
        feed: AsyncFeed[Batch] = AsyncFeed(debounce, max_wait)
        self._feeds = [*self._feeds, feed]
        return feed

    def detach(self, feed: AsyncFeed[Any]) -> None:
        """Stop feeding ``feed``; its reader ends after the batches already queued."""
        self._feeds = [f for f in self._feeds if f is not feed]
        feed.inbox.close()

    def emit(self, batches: list[Batch]) -> None:
        """Queue ``batches`` for every feed (no waiting)."""
        for feed in list(self._feeds):
            for batch in batches:
                feed.inbox.put(batch)

    def close(self) -> None:
        """Detach every feed: each reader ends after the batches already queued."""
        feeds, self._feeds = self._feeds, []
        for feed in feeds:
            feed.inbox.close()


class AsyncMirrorSubscription:
    """A callback fed by a worker of its own (``AsyncMirror.subscribe``): ``cancel()`` stops
    it after the items already queued; a context manager."""

    def __init__(
        self, feeds: AsyncFeeds, callback: Callable[[Any], Any], feed: AsyncFeed[Any]
    ) -> None:
        self._feeds = feeds
        self.callback = callback
        self.feed = feed
        self._drained = Event()
        self._worker = Worker(self._run, name="etcdmap-mirror-callback")

    async def _run(self) -> None:
        try:
            while (item := await self.feed.next()) is not None:
                try:
                    await settle(self.callback(item))
                except Exception:
                    log.exception("mirror callback %r failed; the mirror goes on", self.callback)
        finally:
            self._drained.set()

    async def cancel(self, drain: float = 5.0) -> None:
        """Stop the callback once it has been given the items already queued (waiting at
        most ``drain`` seconds for that); safe from inside the callback."""
        self._feeds.detach(self.feed)
        if not self._worker.is_current():
            await self._drained.wait(drain)
        await self._worker.join()

    async def __aenter__(self) -> AsyncMirrorSubscription:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.cancel()


class AsyncChanges:
    """``async for batch in mirror.changes():`` — every batch applied after the iterator was
    made (merged over ``debounce``); ends when the mirror closes or on ``close()``."""

    def __init__(self, feeds: AsyncFeeds, feed: AsyncFeed[Batch]) -> None:
        self._feeds = feeds
        self.feed = feed

    def __aiter__(self) -> AsyncChanges:
        return self

    async def __anext__(self) -> Batch:
        batch = await self.feed.next()
        if batch is None:
            raise StopAsyncIteration
        return batch

    def close(self) -> None:
        """Stop receiving batches; iteration ends after those already queued."""
        self._feeds.detach(self.feed)

    async def __aenter__(self) -> AsyncChanges:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
