"""Go's mirror package (``AsyncSyncer``) and ``AsyncPrefixCopy``: copy a prefix to another
cluster and keep it in step, the way ``etcdctl make-mirror`` does, resuming after restarts."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from .._backends.asyncio import Event, Worker, settle
from .._core.bulk import MAX_REQUEST_BYTES, MAX_TXN_OPS, TxnLimits
from .._core.checks import check_client, check_revision, check_seconds, check_timeout
from .._core.errors import CompactedError, EtcdError
from .._core.keys import to_bytes
from .._core.kv import Op, check_page_size
from .._core.outage import FailureLog, describe
from .._core.results import GetResponse
from .._core.syncer import (
    BASE_PAGE_SIZE,
    TRANSIENT_ERRORS,
    CopyPass,
    CopyPhase,
    CopyProgress,
    CopyState,
    KeyMap,
)
from .kv import AsyncKV, AsyncWatchIterator, AsyncWatchKV

__all__ = ["AsyncPrefixCopy", "AsyncSyncer"]

log = logging.getLogger("etcdmap.syncer")

#: Seconds between writes of the state file while following updates.
STATE_SAVE_INTERVAL = 0.5
#: Longest wait between attempts while the other side is unreachable.
MAX_RETRY_WAIT = 1.0
#: Default seconds a copy keeps trying again while a side is unreachable before it ends.
RETRY_TIMEOUT = 60.0


class AsyncSyncer:
    """Reads a prefix at one revision, then its changes from the next revision (Go's
    ``mirror.NewSyncer``).

    ``revision`` is the revision the base is read at: the ``rev`` given, or, when 0, the
    current revision, fixed by ``sync_base()``. An empty prefix means the whole keyspace.

    Example::

        syncer = AsyncSyncer(client, "/config/")
        async for page in syncer.sync_base():
            load(page.kvs)
        async with syncer.sync_updates() as watcher:
            async for response in watcher:
                apply(response.events)
    """

    def __init__(
        self,
        client: AsyncWatchKV,
        prefix: bytes | str,
        rev: int = 0,
        *,
        page_size: int = BASE_PAGE_SIZE,
    ) -> None:
        check_client(client, AsyncSyncer)
        self._client = client
        check_revision(rev, "rev")
        self.prefix = to_bytes(prefix, "prefix")
        self.revision = rev
        self._page_size = check_page_size(page_size)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prefix={self.prefix!r}, revision={self.revision})"

    async def sync_base(self, *, timeout: float | None = None) -> AsyncIterator[GetResponse]:
        """Yield the whole prefix as ``GetResponse`` pages (KV.Range with ``limit``), every
        page read at ``revision`` so together they are one consistent snapshot.

        With no revision yet, a linearizable Range of the prefix (or of the key ``"foo"`` for
        the whole keyspace, as Go does) fixes it to the current revision first. Pages are in
        key order; each is yielded, the last one with ``more`` False. ``CompactedError`` if
        ``revision`` was compacted meanwhile.
        """
        if not self.revision:
            probe = await self._client.get(self.prefix or b"foo", count_only=True, timeout=timeout)
            self.revision = probe.header.revision
        async for page in self._client.get_pages(
            self.prefix, prefix=True, page_size=self._page_size, revision=self.revision,
            timeout=timeout,
        ):  # fmt: skip
            yield page

    def sync_updates(self, *, prev_kv: bool = False) -> AsyncWatchIterator:
        """A watcher of the prefix from ``revision + 1`` (Watch.Watch): every change after
        the base, none missed, none repeated. Raises ``RuntimeError`` before ``sync_base()``
        fixed a revision (Go panics there)."""
        if not self.revision:
            raise RuntimeError("sync_updates() needs a revision: call sync_base() first")
        return self._client.watch(
            self.prefix, prefix=True, start_revision=self.revision + 1, prev_kv=prev_kv
        )


ProgressCallback = Callable[[CopyProgress], Any]


class AsyncPrefixCopy:
    """Copy ``prefix`` from ``source`` to ``destination`` and keep it in step until stopped
    (``etcdctl make-mirror``; Go's mirror Syncer underneath); both are ``AsyncClient``.

    ``async with AsyncPrefixCopy(...) as copy:`` (or ``start()``) runs it: pages of the prefix
    read at one revision (KV.Range, linearizable) and written in transactions (KV.Txn), then
    the changes of a watch from the next revision (Watch.Watch), in source order.

    A worker copies the source prefix at one revision (``phase == "base"``), deletes
    destination keys the source does not have, then applies every change from the next
    revision on (``"updates"``), one destination transaction per batch of changes, every
    transaction planned under ``max_txn_ops`` and ``max_request_bytes`` (the destination's
    ``--max-txn-ops`` and ``--max-request-bytes``; etcd's defaults unless given). Values are
    copied; leases are not (a key with a lease on the source is a plain key on the
    destination, deleted when the source deletes it).

    While either side is unreachable, restarting or without a leader the worker waits and
    tries again (every RPC bounded by ``timeout``), for at most ``retry_timeout`` seconds
    from the first failure in a row (None: for ever); the first failure is logged as one
    WARNING line of the ``etcdmap.syncer`` logger, the repeats at DEBUG and the recovery at
    INFO, and each is reported to ``progress`` (``failures``, ``last_error``). A broken source
    watch resumes where it was. With ``state_file`` the source
    revision the destination holds is saved there (as JSON, at most every
    ``STATE_SAVE_INTERVAL`` seconds and when stopped), and a new copy with the same file and
    prefixes continues from it instead of copying everything again; if the source history
    was compacted past it, the prefix is copied again (a relist) and stale keys removed.
    Other errors, and the last one once ``retry_timeout`` has passed, end the copy:
    ``error`` holds it and ``wait_for`` raises it. An ``EtcdError`` ends it as a
    ``PartialWriteError`` (also an instance of the error's class) that names the destination
    keys the pass it stopped in (the base copy, or the changes of one watch response) wrote
    (put or deleted) in ``written``, did not write in ``not_written`` (keys of base pages not
    read yet are in neither) and may have written in ``unknown``, and the source revision up
    to which the destination holds every change in ``complete_revision`` (``revision``;
    0 during a base copy): a new copy with the ``state_file`` resumes from it. A source value
    too large for one destination Txn ends it with ``RequestTooLargeError`` naming the key,
    before any Txn of its page or batch is sent.

    ``revision`` is the source revision the destination holds; ``status()`` a
    ``CopyProgress``, also passed to the ``progress`` callback after every base page and
    every applied batch (from the worker; a coroutine function is awaited).
    Stop it with ``stop()`` or by leaving its ``async with`` block.

    Parameters
    ----------
    source, destination:
        The clients of the cluster copied from and of the one copied to.
    prefix, dest_prefix:
        The keys copied, and where they go (default: the same prefix).
    progress:
        Called with a ``CopyProgress`` after every page and every applied batch.
    state_file:
        Path of a small JSON file recording how far the copy got.
    timeout:
        Seconds for each RPC before it counts as failed (and is tried again).
    retry_timeout:
        Seconds the copy keeps trying again while a side is unreachable, from the first
        failure in a row (60 by default; None: for ever). Then it ends: ``wait_for`` raises
        a ``PartialWriteError``.
    max_txn_ops, max_request_bytes:
        The destination's ``--max-txn-ops`` and ``--max-request-bytes`` (etcd's defaults,
        128 and 1.5 MiB).

    Examples
    --------
    ::

        async with AsyncPrefixCopy(src, dst, "/config/", state_file="mirror.json") as copy:
            await copy.wait_for((await src.put("/config/mode", "fast")).header.revision, 10)
    """

    def __init__(
        self,
        source: AsyncWatchKV,
        destination: AsyncKV,
        prefix: bytes | str,
        dest_prefix: bytes | str | None = None,
        *,
        progress: ProgressCallback | None = None,
        state_file: str | os.PathLike[str] | None = None,
        timeout: float = 10.0,
        retry_timeout: float | None = RETRY_TIMEOUT,
        max_txn_ops: int = MAX_TXN_OPS,
        max_request_bytes: int = MAX_REQUEST_BYTES,
    ) -> None:
        check_client(source, AsyncPrefixCopy)
        check_client(destination, AsyncPrefixCopy)
        self._limits = TxnLimits(max_txn_ops, max_request_bytes)
        self._source = source
        self._destination = destination
        self._keys = KeyMap(prefix, dest_prefix)
        self._progress = progress
        self._state_file = None if state_file is None else Path(state_file)
        self._timeout = check_seconds(timeout, "timeout")
        self._retry_timeout = check_timeout(retry_timeout, "retry_timeout", zero=True)
        self._failures = FailureLog(log, f"copy of {self._keys.prefix!r}")
        self._failing_since = 0.0
        self._last_error: str | None = None
        self._pass: CopyPass | None = None
        self.revision = 0
        self.phase: CopyPhase = "base"
        self.keys_copied = 0
        self.events_applied = 0
        self.relists = 0
        #: The error that ended the copy, if one did.
        self.error: Exception | None = None
        self._cluster_id = 0
        self._saved_at = 0.0
        self._stop = Event()
        self._ended = Event()
        self._advanced = Event()
        self._watcher: AsyncWatchIterator | None = None
        self._worker: Worker | None = None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self._keys.prefix!r} -> {self._keys.dest_prefix!r}, "
            f"phase={self.phase!r}, revision={self.revision})"
        )

    def start(self) -> AsyncPrefixCopy:
        """Start the worker (entering the ``async with`` block does it); returns self."""
        if self._worker is None:
            self._worker = Worker(self._run, name="etcdmap-copy-prefix")
        return self

    def status(self) -> CopyProgress:
        """Where the copy is now."""
        return CopyProgress(
            phase=self.phase, revision=self.revision, keys_copied=self.keys_copied,
            events_applied=self.events_applied, relists=self.relists,
            failures=self._failures.failures, last_error=self._last_error,
        )

    @property
    def running(self) -> bool:
        """Whether the worker is still copying."""
        return self._worker is not None and not self._ended.is_set()

    async def wait_for(self, revision: int, timeout: float | None = None) -> bool:
        """Wait until the destination holds every change of the source up to ``revision``
        (a revision that touched the prefix, e.g. a write's ``header.revision``).

        Returns False if ``timeout`` seconds passed first or the copy was stopped; raises
        the error that ended the copy, if one did.
        """
        timeout = check_timeout(timeout, zero=True)
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.revision < revision:
            if self.error is not None:
                raise self.error
            if self._ended.is_set():
                return False
            advanced = self._advanced
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            await advanced.wait(left)
        return True

    async def stop(self) -> None:
        """Stop copying (the destination keeps what it has) and save the state file."""
        self._stop.set()
        watcher = self._watcher
        if watcher is not None:
            await watcher.cancel()
        if self._worker is not None:
            await self._worker.join()
        self._ended.set()
        self._wake()
        self._save_state(force=True)

    async def __aenter__(self) -> AsyncPrefixCopy:
        return self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- the worker --------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            await self._resume_point()
            while not self._stop.is_set():
                try:
                    if not self.revision:
                        await self._copy_base()
                    else:
                        await self._follow()
                except CompactedError as error:
                    log.warning(
                        "copy of %r: %s; copying the prefix again", self._keys.prefix, error
                    )
                    self.revision = 0
                    self.relists += 1
                    self._pass = None
                except TRANSIENT_ERRORS as error:
                    await self._retry_after(error)
        except Exception as error:
            if isinstance(error, EtcdError):
                stopped = self._pass or CopyPass(self._what())
                error = stopped.error(error, self.revision)
            log.error("copy of %r failed: %s", self._keys.prefix, describe(error))
            self.error = error
        finally:
            self._ended.set()
            self._wake()

    async def _resume_point(self) -> None:
        """Continue from the state file when it belongs to this copy and this source."""
        if self._state_file is None or not self._state_file.exists():
            return
        state = CopyState.decode(self._state_file.read_bytes(), self._keys)
        if state is None:
            log.warning("ignoring state file %s: not this copy's", self._state_file)
            return
        while not self._stop.is_set():
            try:
                probe = await self._source.get(
                    self._keys.prefix or b"foo", count_only=True, timeout=self._timeout
                )
                await self._working()
                break
            except TRANSIENT_ERRORS as error:
                await self._retry_after(error)
        else:
            return
        if probe.header.cluster_id == state.cluster_id:
            self._cluster_id = state.cluster_id
            self.revision = state.revision
            self.phase = "updates"
        else:
            log.warning("ignoring state file %s: written for another cluster", self._state_file)

    async def _copy_base(self) -> None:
        """Copy the prefix at one revision and delete what the destination has beyond it."""
        self.phase = "base"
        self.keys_copied = 0
        if self._pass is None:  # a base copy tried again after a failed read goes on
            self._pass = CopyPass(self._what())
        syncer = AsyncSyncer(self._source, self._keys.prefix)
        present: set[bytes] = set()
        async for page in syncer.sync_base(timeout=self._timeout):
            await self._working()
            self._cluster_id = page.header.cluster_id
            kvs = page.kvs
            if not await self._apply_all([Op.put(self._keys(kv.key), kv.value) for kv in kvs]):
                return
            present.update(self._keys(kv.key) for kv in kvs)
            self.keys_copied += len(kvs)
            await self._report()
        if not await self._prune(present):
            return
        self._pass = None
        self.phase = "updates"
        self._advance(syncer.revision)
        self._save_state(force=True)
        await self._report()

    async def _prune(self, present: set[bytes]) -> bool:
        """Delete destination keys under the destination prefix that the source lacks."""
        stale: list[bytes] = []
        async for page in self._destination.get_pages(
            self._keys.dest_prefix, prefix=True, page_size=BASE_PAGE_SIZE, keys_only=True,
            timeout=self._timeout,
        ):  # fmt: skip
            stale.extend(kv.key for kv in page.kvs if kv.key not in present)
        return await self._apply_all([Op.delete(key) for key in stale])

    async def _follow(self) -> None:
        """Apply the source's changes after ``revision`` until stopped."""
        self.phase = "updates"
        syncer = AsyncSyncer(self._source, self._keys.prefix, self.revision)
        # stop() cancels the watcher, at once even while it starts, and joins this worker
        self._watcher = watcher = syncer.sync_updates().for_worker()
        # bounded, so a source that is down counts as a failure (and against retry_timeout)
        await watcher.start(timeout=self._timeout)
        try:
            if self._stop.is_set():
                return
            await self._working()
            async for response in watcher:
                await self._working()
                self._pass = CopyPass(self._what())
                batches = self._pass.add_events(response.events, self._keys, self._limits)
                for batch in batches:
                    if not await self._apply():
                        return
                    self.events_applied += batch.events
                    self._advance(batch.revision)
                self._pass = None
                self._save_state()
                await self._report()
        finally:
            self._watcher = None
            await watcher.cancel()

    async def _apply_all(self, ops: list[Op]) -> bool:
        """Run ``ops`` in as few destination transactions as the limits allow, all planned
        first (see ``_apply``); False if stopped first."""
        assert self._pass is not None
        self._pass.add(ops, self._limits)
        while self._pass.next() is not None:
            if not await self._apply():
                return False
        return True

    async def _apply(self) -> bool:
        """Run the pass's next Txn on the destination (KV.Txn), trying again while the
        destination is unreachable (see ``_retry_after``); False if stopped first. Puts and
        deletes are idempotent, so sending a transaction again after an unknown outcome is
        safe."""
        assert self._pass is not None
        ops = self._pass.next()
        while ops is not None and not self._stop.is_set():
            try:
                await self._destination.txn(success=ops, timeout=self._timeout)
            except TRANSIENT_ERRORS as error:
                if isinstance(error, EtcdError):
                    self._pass.attempt_failed(error)
                await self._retry_after(error)
                continue
            self._pass.done()
            await self._working()
            return True
        return False

    def _what(self) -> str:
        return f"copy of {self._keys.prefix!r} to {self._keys.dest_prefix!r}"

    async def _retry_after(self, error: Exception) -> None:
        """A transient failure: note it (one WARNING line for the first in a row, DEBUG
        after), report it, and wait before the next attempt; raise ``error`` once
        ``retry_timeout`` has passed since the first failure in a row."""
        now = time.monotonic()
        if not self._failures.failures:
            self._failing_since = now
        left = None
        if self._retry_timeout is not None:
            left = self._failing_since + self._retry_timeout - now
            if left <= 0:
                raise error
        pause = min(0.05 * 2 ** min(self._failures.failures + 1, 10), MAX_RETRY_WAIT)
        if left is not None:
            pause = min(pause, left)
        self._failures.failed(getattr(error, "endpoint", None), error, pause)
        self._last_error = describe(error)
        await self._report()
        await self._stop.wait(pause)

    async def _working(self) -> None:
        """An RPC worked: after failures, log and report the recovery."""
        if self._failures.failures:
            self._failures.recovered(None)
            self._last_error = None
            await self._report()

    def _advance(self, revision: int) -> None:
        if revision > self.revision:
            self.revision = revision
            self._wake()

    def _wake(self) -> None:
        # Waiters hold the current event; replacing it before setting wakes each one once.
        advanced, self._advanced = self._advanced, Event()
        advanced.set()

    async def _report(self) -> None:
        if self._progress is None:
            return
        try:
            await settle(self._progress(self.status()))
        except Exception:
            log.exception("copy progress callback %r failed; copying goes on", self._progress)

    def _save_state(self, *, force: bool = False) -> None:
        if self._state_file is None or not self.revision or not self._cluster_id:
            return
        now = time.monotonic()
        if not force and now - self._saved_at < STATE_SAVE_INTERVAL:
            return
        self._saved_at = now
        state = CopyState(
            prefix=self._keys.prefix, dest_prefix=self._keys.dest_prefix,
            cluster_id=self._cluster_id, revision=self.revision,
        )
        # Written aside and renamed, so a crash never leaves a half-written file.
        partial = self._state_file.with_name(self._state_file.name + ".partial")
        partial.write_bytes(state.encode())
        os.replace(partial, self._state_file)
