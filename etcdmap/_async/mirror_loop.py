"""A mirror's sync loop: list the prefix at one revision, watch from the next, resume.

``AsyncMirrorLoop`` runs on a worker of its own: it restores the saved copy if there is one,
else lists the prefix in pages all read at one revision R, then watches from R + 1 (from R
when the server is still at R and is not a gRPC proxy) and applies every watch response under
the guard, all events of a revision at once. A broken stream is resumed by the client's watch
from ``revision + 1``; a compacted revision makes it list again and apply the diff as one
``"relist"`` batch. Failures are retried with a growing pause. A second worker runs the
status's heartbeat.
"""

from __future__ import annotations

import logging
import os
import random
import time
from pathlib import Path
from typing import Any

from .._backends.asyncio import Event, Worker
from .._core.errors import CompactedError, EtcdError
from .._core.keyspace import KeySpace
from .._core.mirror import BatchSource, MirrorState, Store
from .._core.mirror_file import MirrorFile, SavedCopy, saved_pages
from .._core.mirror_share import SharedSnapshot
from .._core.outage import FailureLog, describe
from .._core.watch import WatchResponse
from .kv import AsyncWatchIterator, AsyncWatchKV
from .mirror_feeds import AsyncFeeds
from .mirror_status import AsyncMirrorStatus

__all__ = ["AsyncMirrorLoop"]

log = logging.getLogger("etcdmap.mirror")

#: Seconds closing waits for the reader before cancelling a watch stream that does not
#: answer (a stopped server keeps the connection open), and again after that.
_CLOSE_GRACE = 1.0
#: Seconds between two tries to take the lock of a shared snapshot another mirror holds.
_LOCK_POLL = 0.02


def _starts_ahead(watcher: AsyncWatchIterator, start: int) -> bool:
    """Whether the server created ``watcher`` at a revision below its ``start``."""
    return 0 < watcher.created_revision < start


class AsyncMirrorLoop:
    """Keeps ``store`` (the copy of ``keyspace``) equal to the server's prefix.

    Reports to ``status``, emits what it applies to ``feeds``, restores from ``file``;
    lists ``page_size`` keys per Range (keys only with ``keys_only``); each call is bounded by
    the status's ``timeout``. It starts after a random pause of up to ``start_jitter``
    seconds. With a ``file``, it lists only under the file's ``SnapshotLock`` and saves what
    it listed there, so the mirrors of one host sharing the file list once between them.
    """

    def __init__(
        self,
        client: AsyncWatchKV,
        keyspace: KeySpace[Any],
        store: Store,
        status: AsyncMirrorStatus,
        feeds: AsyncFeeds,
        file: MirrorFile,
        *,
        page_size: int,
        keys_only: bool,
        start_jitter: float = 0.0,
    ) -> None:
        self.client = client
        self.keyspace = keyspace
        self.store = store
        self.status = status
        self.feeds = feeds
        self.file = file
        self.page_size = page_size
        self.keys_only = keys_only
        self.start_jitter = start_jitter
        #: Whether the copy is one restored from the file (not listed since).
        self._restored = False
        self._share = None if file.path is None else SharedSnapshot(file)
        #: How many relists the loop did after a compaction (the first load not counted).
        self.relists = 0
        self._faults = FailureLog(log, f"mirror of {keyspace.name!r}")
        self._stop = Event()
        self._watcher: Any = None
        self._reader: Worker | None = None
        self._beat: Worker | None = None

    def start(self) -> None:
        """Start the reader and the heartbeat (once)."""
        if self._reader is None:
            self._reader = Worker(self._run, name="etcdmap-mirror")
            self._beat = Worker(self._heartbeat, name="etcdmap-mirror-progress")

    async def _heartbeat(self) -> None:
        await self.status.heartbeat(self._stop)

    async def stop(self) -> None:
        """Stop watching and join both workers, bounded: a reader stuck on a stream nothing
        answers on is freed by re-opening the client's watch stream (other watchers resume)."""
        self._stop.set()
        watcher = self._watcher
        if watcher is not None:
            await watcher.cancel()
        if self._beat is not None:
            await self._beat.join()  # soon: its calls time out after a beat
        if self._reader is not None and not await self._reader.join(_CLOSE_GRACE):
            await self.client.reopen_watches()
            if not await self._reader.join(2 * _CLOSE_GRACE):
                log.debug(
                    "mirror of %r: the reader is still in a call; not waiting", self.keyspace.name
                )

    async def _run(self) -> None:
        status, failures = self.status, 0
        if self.start_jitter:  # a fleet started at once spreads its loads over the jitter
            await self._stop.wait(random.uniform(0, self.start_jitter))
        saved = None if self._share is None else self._share.newer(0)
        if saved is not None:
            self._install(saved, "load")
        listed = saved is not None
        while not self._stop.is_set():
            try:
                if not listed:
                    await self._list_or_reuse("relist" if self.store.revision else "load")
                    listed = True
                await self._watch()
            except CompactedError as error:
                log.warning(
                    "mirror of %r: %s; relisting%s", self.keyspace.name, error,
                    f" (the copy saved in {self.file.path} is older)" if self._restored else "",
                )  # fmt: skip
                listed = False
                self.relists += 1
                status.set_state(MirrorState.RELISTING)
                continue
            except Exception as error:  # noqa: BLE001 - the reader must outlive any failure
                status.error = error if isinstance(error, EtcdError) else None
                failures += 1
                if not isinstance(error, EtcdError):
                    log.debug("mirror of %r: unexpected failure", self.keyspace.name, exc_info=True)
                wait = min(0.05 * 2**failures, 2.0)
                self._faults.failed(None, error, wait)
                if status.synced.is_set():
                    status.set_state(MirrorState.DEGRADED, describe(error))
                await self._stop.wait(wait)
                continue
            await self._stop.wait(min(0.05 * 2**failures, 2.0))

    def _install(self, saved: SavedCopy, source: BatchSource) -> None:
        """Make the saved copy the mirror's (a diff, emitted, when it replaces one)."""
        listing = self.store.listing()
        for page in saved_pages(saved):
            listing.add(page)
        changes = source == "relist" and bool(self.feeds)
        with self.status.guard:
            batch = listing.install(saved.revision, source, changes)
        self.status.sync_target = -1  # learned once the watch is up
        self._restored = True
        if source == "relist":
            self.feeds.emit([batch])

    async def _list_or_reuse(self, source: BatchSource) -> None:
        """List the prefix; with a file, only while holding its lock (then save the copy),
        and not if another mirror saves a copy newer than this one's meanwhile (then that
        copy is installed)."""
        share = self._share
        if share is None:
            await self._list(source)
            return
        deadline = time.monotonic() + self.status.timeout
        try:
            while True:
                held = share.lock.try_acquire()
                saved = share.newer(self.store.revision)
                if saved is not None:
                    log.info(
                        "mirror of %r: %s from %s (revision %d), saved by another mirror",
                        self.keyspace.name, source, self.file.path, saved.revision,
                    )  # fmt: skip
                    self._install(saved, source)
                    return
                if held or time.monotonic() >= deadline:
                    if not held:
                        log.warning(
                            "mirror of %r: %s stayed locked for %.3g s; listing without it",
                            self.keyspace.name, share.lock.path, self.status.timeout,
                        )  # fmt: skip
                    await self._list(source)
                    if held:
                        self.save()
                    return
                if await self._stop.wait(_LOCK_POLL):
                    return
        finally:
            share.lock.release()

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write the copy and its revision to ``path`` (default the file's) atomically."""
        with self.status.guard:  # copy, so the watch is held up for a copy and not an encoding
            revision = self.store.revision
            data, invalid = dict(self.store.data), dict(self.store.invalid)
        saved = self.file.save(revision, data, invalid, path)
        if path is None and self._share is not None:
            self._share.saved()
        return saved

    async def _list(self, source: BatchSource) -> None:
        """List the prefix in pages at one revision and install it (as a diff)."""
        store, ks = self.store, self.keyspace
        while True:
            listing = store.listing()
            revision = 0
            try:
                async for page in self.client.get_pages(
                    ks.start, range_end=ks.end, page_size=self.page_size, keys_only=self.keys_only,
                    timeout=self.status.timeout, read_ahead=True,
                ):
                    if not revision:  # the first page: its count is the whole range's
                        revision = page.header.revision
                        listing.expect(page.count)
                    listing.add(page.kvs)
            except CompactedError:
                continue  # compaction overtook the listing's revision: list again, newer
            break
        with self.status.guard:
            batch = listing.install(revision, source, changes=bool(self.feeds))
            self._restored = False
            self.status.listed(revision)
        self.status.error = None
        if batch.changes or source == "relist":
            self.feeds.emit([batch])

    async def _watch(self) -> None:
        status = self.status
        status.watching = True
        try:
            watcher = await self._open(self.store.revision + 1)
            if watcher is None:
                return
            async with watcher:
                self._faults.recovered(None)
                if status.sync_target < 0:
                    # Restored from a file: synced once the copy reaches the revision the
                    # server had when it created the watch (no Range: a fleet restoring one
                    # shared copy costs the server watches only). A gRPC proxy that joins the
                    # watch to one it already runs answers with the start revision asked for,
                    # the copy's next, as a server at that revision does: then one read
                    # (``confirm``) tells the server's revision, or proves the copy current.
                    target = watcher.created_revision
                    if target == self.store.revision + 1:
                        await status.confirm()
                        target = status.revision + status.lag
                    status.sync_target = target
                    with status.guard:
                        status.advanced(target)
                await self.client.request_progress()
                async for response in watcher:
                    self._on_response(response)
        finally:
            self._watcher = None  # however the watch ended: no progress requests to it
            status.watching = False

    async def _open(self, start: int) -> AsyncWatchIterator | None:
        """The prefix's watch, created (None once stopping).

        From the copy's next revision ``start``: etcd's gRPC proxy shares one server watcher
        among the watches of a range only if it has delivered nothing after their start
        revision, so a copy as recent as what a shared watcher delivered joins it only from
        the next revision. But etcd >= 3.5.22 (3.4.38, 3.6.2) answers no progress request
        while a watch of the stream starts after the server's revision, which the next one
        is when the server is still at the copy's. Then the same watch is created again: a
        proxy joins it to the first and answers with the revision asked for (it answers no
        progress request anyway, and a watch from the copy's own revision would not join a
        shared watcher that delivered it); a server answers with its revision again, and the
        watch is opened from the copy's own revision instead (the event at it, if any, is
        skipped by ``store.apply``).
        """
        watcher = await self._created(start)
        if watcher is None or not _starts_ahead(watcher, start):
            return watcher
        try:
            again = await self._created(start)
        finally:
            await watcher.cancel()
        if again is None or not _starts_ahead(again, start):
            return again
        await again.cancel()
        return await self._created(self.store.revision)

    async def _created(self, start: int) -> AsyncWatchIterator | None:
        """The prefix's watch from ``start``, once the server created it (None once stopping:
        then it is cancelled)."""
        ks = self.keyspace
        watcher = self.client.watch(
            ks.start, range_end=ks.end, start_revision=start, progress_notify=True,
        )  # fmt: skip
        self._watcher = watcher  # before start(): stop() cancels a start nothing answers
        try:
            if not self._stop.is_set():
                await watcher.start()
                if not self._stop.is_set():
                    return watcher
        except BaseException:
            await watcher.cancel()
            raise
        await watcher.cancel()
        return None

    def _on_response(self, response: WatchResponse) -> None:
        self.status.heard(progress=not response.events)
        # A progress notification (no events) confirms the stream is alive and tells the
        # server's revision (lag). It does not move ``revision``: etcd before 3.5.8 can send
        # one ahead of the events of its own revision (etcd-io/etcd#15220); ``confirm`` does.
        with self.status.guard:
            batches = self.store.apply(response.events, changes=bool(self.feeds))
            self.status.advanced(response.header.revision)
        if batches:
            self.feeds.emit(batches)
