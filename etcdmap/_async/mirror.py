"""``AsyncMirror``: a local copy of an etcd prefix kept equal to the server's by a watch.

Start: the prefix is listed in pages all read at one revision R, then watched from R + 1.
Every watch response is applied under the mirror's guard, all events of a revision at once,
so no reader sees half a transaction; ``revision`` is the server revision the copy equals.
A broken stream is resumed by the client's watch from ``revision + 1`` (no gap, no repeat);
when that revision was compacted the prefix is listed again at one revision, diffed against
the copy, and the diff is applied and emitted as one batch marked ``source="relist"``.
Progress requests confirm a quiet prefix is still watched (``last_confirmed``, ``lag``,
``state``): a mirror whose watch confirmed nothing for ``degraded_after`` seconds is
``DEGRADED``, and ``READY`` again once a read has told the server's revision and the watch has
brought the copy there. Subscribers run on workers of their own, never on the watch reader.

Uses the public client API (and, to close while the server does not answer, the client's
watch stream ``reopen``) and ``etcdmap._core.mirror``.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypedDict, TypeVar, overload

from .._backends._mirror import AsyncGuard, AsyncInbox, AsyncMirrorBase
from .._backends.asyncio import Event, Worker, settle
from .._core.checks import check_client, check_seconds
from .._core.errors import ClientClosedError, CompactedError, EtcdError, MirrorLagError
from .._core.kv import Compare, Op
from .._core.mapping import MISSING, UpdateResult
from .._core.mirror import (
    Batch,
    Consistency,
    InvalidValue,
    MirrorSnapshot,
    MirrorState,
    MirrorStore,
    check_consistency,
    dump_copy,
    load_copy,
    merge_batches,
    saved_pages,
)
from .._core.outage import FailureLog, describe
from .._core.results import GetResponse
from .._core.watch import WatchResponse
from .client import AsyncClient
from .mapping import AsyncEtcdMap

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..codecs import Codec

__all__ = ["AsyncChanges", "AsyncMirror", "AsyncMirrorSubscription"]

log = logging.getLogger("etcdmap.mirror")

V = TypeVar("V")
T = TypeVar("T")

#: Keys per Range while listing. etcd counts the rest of the range for every page (see
#: bench/mapping.py), so big pages list a large prefix much faster than etcd's usual 1000.
PAGE_SIZE = 10_000
#: Longest pause between two progress requests while waiting for a revision.
_NUDGE_MAX = 0.5
#: Longest pause between two reads that look for the server while DEGRADED.
_RECOVERY_BEAT = 0.25
#: Seconds ``aclose`` waits for the reader before cancelling a watch stream that does not
#: answer (a stopped server keeps the connection open), and again after that.
_CLOSE_GRACE = 1.0


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


class AsyncMirrorSubscription:
    """A callback fed by a worker of its own (``AsyncMirror.subscribe``): ``cancel()`` stops
    it after the items already queued; a context manager."""

    def __init__(
        self, mirror: AsyncMirror[Any], callback: Callable[[Any], Any], feed: AsyncFeed[Any]
    ) -> None:
        self._mirror = mirror
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
        self._mirror._detach(self.feed)
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

    def __init__(self, mirror: AsyncMirror[Any], feed: AsyncFeed[Batch]) -> None:
        self._mirror = mirror
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
        self._mirror._detach(self.feed)

    async def __aenter__(self) -> AsyncChanges:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()


class _MirrorOptions(TypedDict, total=False):
    """The options of ``AsyncMirror`` that do not choose its value type (for its overloads)."""

    key_codec: Any
    consistency: Consistency
    keys_only: bool
    transform: Callable[[str, Any], Any] | None
    persist: str | os.PathLike[str] | None
    on_state_change: Callable[[MirrorState, MirrorState], Any] | None
    timeout: float
    progress_interval: float
    page_size: int
    lease: Any
    degraded_after: float


class AsyncMirror(AsyncMirrorBase[V]):
    """A local copy of the keys under ``prefix``, kept equal to the server's by a watch.

    ``AsyncMirror(client, prefix, *, value_type=None, codec=None, key_codec=None,
    consistency="session", keys_only=False, transform=None, persist=None,
    on_state_change=None, timeout=30.0, progress_interval=1.0, degraded_after=3.0,
    page_size=10000)``;
    ``async with AsyncMirror(...) as m:`` starts it and waits until it is synced.

    The mapping reads (``m[key]``, ``key in m``, ``len(m)``, iteration and
    ``keys/values/items``) and ``lookup`` answer from the local copy now: no RPC, no waiting
    (README.md, "Same name, same meaning"). ``await m.read(key)``, ``contains``, ``count``,
    ``snapshot`` and ``barrier`` first wait as their ``consistency`` (default the mirror's)
    says: ``"session"`` for this mirror's writes, ``"linearizable"`` for the server's current
    revision (one Txn, linearizable). While the mirror is ``DEGRADED`` (its watch is lost or
    silent: the server is down or unreachable) and its consistency is not ``"local"``, the
    mapping reads raise ``MirrorDegradedError`` at once (no I/O) rather than answer from a
    copy that may be stale; ``local_get``/``local_snapshot`` still answer from it, and a
    ``"session"`` or ``"linearizable"`` ``read`` first asks the server and fails fast with
    its ``EtcdError`` (``ConnectionFailedError``, ``DeadlineExceededError``...) when it does
    not answer. Writes (``set``, ``delete``, ``update``, ``clear``) go to the server through
    ``m.map`` (an ``AsyncEtcdMap`` over the same prefix and codec) and return once the copy
    shows them, so ``m[key]`` reads them back; after ``timeout`` seconds ``MirrorLagError``
    says the write WAS applied and carries its ``revision``. Values are stored decoded (then
    ``transform(key, value)``d); a value that does not decode is kept aside in ``invalid``.

    Parameters
    ----------
    consistency:
        What ``read``, ``contains``, ``count``, ``snapshot`` and ``barrier`` wait for by
        default: nothing (``"local"``), this mirror's writes (``"session"``) or the server's
        current revision (``"linearizable"``). With ``"local"`` the mapping reads also answer
        while the mirror is ``DEGRADED``.
    keys_only:
        Store keys only (every value None): the listing reads no values.
    transform:
        ``transform(key, value) -> stored``, applied to every value before it is stored
        (drop what you do not need to save memory); its errors quarantine the key.
    persist:
        A file path: the copy and its revision are loaded from it at start (then watched
        from the saved revision + 1; relisted as a diff if that was compacted) and saved to
        it on close and on ``save()``. Not with ``transform``.
    on_state_change:
        ``callback(old_state, new_state)``, run on a worker of its own.
    timeout:
        Default seconds for ``wait_synced``, ``wait_for`` and the wait of every write
        (``MirrorLagError`` after it), and the timeout of the mirror's own RPCs.
    progress_interval:
        Seconds between progress requests that confirm the watch is alive (at most a third
        of ``degraded_after``).
    degraded_after:
        The mirror turns ``DEGRADED`` at most this many seconds after its watch stream
        confirmed anything last (stream lost, server killed or stopped, network gone). It is
        ``READY`` again once a read (one Txn of count-only Ranges, linearizable) has told the
        server's current revision and the watch has brought the copy there and answered since.
        ``on_state_change`` sees each change.
    """

    # The value type a checker infers, as for ``AsyncEtcdMap``: ``bytes`` by default, ``T``
    # from ``value_type=T`` or a ``Codec[T]``, ``Any`` for a type that is no class.
    @overload
    def __init__(
        self: AsyncMirror[bytes], client: AsyncClient, prefix: bytes | str, *,
        value_type: None = None, codec: None = None, **options: Unpack[_MirrorOptions],
    ) -> None: ...
    @overload
    def __init__(
        self: AsyncMirror[V], client: AsyncClient, prefix: bytes | str, *,
        value_type: type[V], codec: None = None, **options: Unpack[_MirrorOptions],
    ) -> None: ...
    @overload
    def __init__(
        self: AsyncMirror[V], client: AsyncClient, prefix: bytes | str, *,
        value_type: None = None, codec: Codec[V], **options: Unpack[_MirrorOptions],
    ) -> None: ...
    @overload
    def __init__(
        self: AsyncMirror[Any], client: AsyncClient, prefix: bytes | str, *,
        value_type: Any = None, codec: Any = None, **options: Unpack[_MirrorOptions],
    ) -> None: ...
    def __init__(
        self,
        client: AsyncClient,
        prefix: bytes | str,
        *,
        value_type: Any = None,
        codec: Any = None,
        key_codec: Any = None,
        consistency: Consistency = "session",
        keys_only: bool = False,
        transform: Callable[[str, Any], Any] | None = None,
        persist: str | os.PathLike[str] | None = None,
        on_state_change: Callable[[MirrorState, MirrorState], Any] | None = None,
        timeout: float = 30.0,
        progress_interval: float = 1.0,
        page_size: int = PAGE_SIZE,
        lease: Any = None,
        degraded_after: float = 3.0,
    ) -> None:
        if persist is not None and transform is not None:
            raise ValueError("persist= saves the values the codec encodes: not with transform=")
        check_client(client, AsyncMirror)
        if getattr(client, "_closed", False):
            raise ClientClosedError(f"{client!r} is closed: a mirror needs an open client")
        self.client = client
        self.map: AsyncEtcdMap[V] = AsyncEtcdMap(
            client, prefix, value_type=value_type, codec=codec, key_codec=key_codec,
            page_size=page_size, lease=lease,
        )  # fmt: skip
        self.prefix = self.map.prefix
        self.codec = self.map.codec
        self.consistency = check_consistency(consistency)
        self.keys_only = keys_only
        self.timeout = check_seconds(timeout, "timeout")
        self.progress_interval = check_seconds(progress_interval, "progress_interval")
        self.degraded_after = check_seconds(degraded_after, "degraded_after")
        #: Seconds between two heartbeats: a progress request, a look at the silence.
        self._beat_interval = min(self.progress_interval, self.degraded_after / 3)
        self.persist = Path(persist) if persist is not None else None
        self._store = MirrorStore(
            self.map._prefix, self.map.key_codec.decode, self.codec.decode, codec=self.codec,
            keys_only=keys_only, transform=transform,
        )  # fmt: skip
        self._guard = AsyncGuard()
        #: Set once the copy has caught up with the server (after the load or a restore).
        self.synced = Event()
        self.state = MirrorState.SYNCING
        #: The error of the last failed attempt to list or watch (None while all is well).
        self.error: EtcdError | None = None
        #: ``time.time()`` of the last response from the watch (event or progress), or None.
        self.last_confirmed: float | None = None
        #: How many relists the mirror did after a compaction (the first load not counted).
        self.relists = 0
        self._confirmed_at = 0.0
        #: When (monotonic) the last confirming read was sent, and the revision it told.
        self._read_at = 0.0
        self._read_revision = 0
        self._degraded_at = 0.0
        self._faults = FailureLog(log, f"mirror of {self.prefix!r}")
        self._server_revision = 0
        self._written = 0
        self._sync_target = 0
        self._waiters: list[tuple[int, int, Event]] = []
        self._tickets = itertools.count()
        self._feeds: list[AsyncFeed[Any]] = []
        self._state_feed: AsyncFeed[tuple[MirrorState, MirrorState]] | None = None
        self._state_worker: AsyncMirrorSubscription | None = None
        self._on_state_change = on_state_change
        self._stop = Event()
        self._watcher: Any = None
        self._reader: Worker | None = None
        self._beat: Worker | None = None
        self._started = False

    @classmethod
    def of_map(cls, m: AsyncEtcdMap[V], **options: Any) -> AsyncMirror[V]:
        """An ``AsyncMirror`` of the map ``m``'s prefix with its client, codec, key codec and
        lease (``async with AsyncMirror.of_map(m) as mirror:``); ``options`` go to the
        constructor. (A method here, not on the map, so the map module needs no mirror.)"""
        return cls(
            m.client, m._prefix, codec=m.codec, key_codec=m.key_codec, lease=m.lease, **options
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.prefix!r}, {len(self._store.data)} keys, "
            f"revision={self.revision}, state={self.state.value})"
        )

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> AsyncMirror[V]:
        """Start loading and watching in the background (``wait_synced`` waits for it)."""
        if not self._started:
            self._started = True
            if self._on_state_change is not None:
                feed: AsyncFeed[Any] = AsyncFeed()
                self._state_feed = feed
                self._state_worker = AsyncMirrorSubscription(self, self._call_state, feed)
            self._reader = Worker(self._run, name="etcdmap-mirror")
            self._beat = Worker(self._heartbeat, name="etcdmap-mirror-progress")
        return self

    async def _call_state(self, change: tuple[MirrorState, MirrorState]) -> None:
        assert self._on_state_change is not None
        await settle(self._on_state_change(*change))

    async def aclose(self) -> None:
        """Stop watching, save the copy if ``persist`` is set, stop every subscriber and wake
        every waiter (they raise ``ClientClosedError``). The local copy stays readable."""
        if self.state is MirrorState.CLOSED:
            return
        self._stop.set()
        watcher = self._watcher
        if watcher is not None:
            await watcher.cancel()
        if self._beat is not None:
            await self._beat.join()  # soon: its calls time out after a beat
        if self._reader is not None and not await self._reader.join(_CLOSE_GRACE):
            # Reading a stream nothing answers on (a stopped server keeps its connection
            # open): cancelling the stream frees the reader; other watchers resume.
            await self.client._watches().reopen()
            if not await self._reader.join(2 * _CLOSE_GRACE):
                log.debug("mirror of %r: the reader is still in a call; not waiting", self.prefix)
        if self.persist is not None and self.synced.is_set():
            self.save()
        self._set_state(MirrorState.CLOSED)
        for feed in self._feeds:
            feed.inbox.close()
        self._feeds = []
        with self._guard:
            for _, _, event in self._waiters:
                event.set()
            self._waiters.clear()
        if self._state_worker is not None:
            await self._state_worker.cancel()

    async def __aenter__(self) -> AsyncMirror[V]:
        await self.start()
        try:
            await self.wait_synced()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def wait_synced(self, timeout: float | None = None) -> None:
        """Wait until the copy has caught up with the server once (``TimeoutError`` naming
        the last error after ``timeout`` seconds, default the mirror's ``timeout``)."""
        await self.start()
        limit = self.timeout if timeout is None else check_seconds(timeout, "timeout", zero=True)
        if not await self.synced.wait(limit):
            raise TimeoutError(
                f"mirror of {self.prefix!r} not synced after {limit} s (state "
                f"{self.state.value}, last error: {self.error or 'none'})"
            )

    # --- state --------------------------------------------------------------------------------

    @property
    def revision(self) -> int:
        """The server revision the local copy equals (0 before the first load)."""
        return self._store.revision

    @property
    def lag(self) -> int:
        """The latest server revision seen (responses, progress notifications) minus
        ``revision``: 0 when the copy is known to be current."""
        return max(0, self._server_revision - self._store.revision)

    @property
    def invalid(self) -> dict[str, InvalidValue]:
        """The keys whose value does not decode (a copy): each with its bytes, error and
        mod_revision. They are not in the mapping."""
        with self._guard:
            return dict(self._store.invalid)

    def _set_state(self, state: MirrorState, why: str = "") -> None:
        old, self.state = self.state, state
        if old is not state and old is not MirrorState.CLOSED:
            level = logging.WARNING if state is MirrorState.DEGRADED else logging.INFO
            log.log(level, "mirror of %r: %s -> %s%s", self.prefix, old.value, state.value,
                    f" ({why})" if why else "")
            if state is MirrorState.DEGRADED:
                self._degraded_at = time.monotonic()
            if self._state_feed is not None:
                self._state_feed.inbox.put((old, state))

    # --- the reader ---------------------------------------------------------------------------

    async def _run(self) -> None:
        failures = 0
        listed = await self._restore()
        while not self._stop.is_set():
            try:
                if not listed:
                    await self._list("relist" if self._store.revision else "load")
                    listed = True
                await self._watch()
            except CompactedError as error:
                log.warning("mirror of %r: %s; relisting", self.prefix, error)
                listed = False
                self.relists += 1
                self._set_state(MirrorState.RELISTING)
                continue
            except Exception as error:  # noqa: BLE001 - the reader must outlive any failure
                self.error = error if isinstance(error, EtcdError) else None
                failures += 1
                if not isinstance(error, EtcdError):
                    log.debug("mirror of %r: unexpected failure", self.prefix, exc_info=True)
                wait = min(0.05 * 2**failures, 2.0)
                self._faults.failed(None, error, wait)
                if self.synced.is_set():
                    self._set_state(MirrorState.DEGRADED, describe(error))
                await self._stop.wait(wait)
                continue
            await self._stop.wait(min(0.05 * 2**failures, 2.0))

    async def _restore(self) -> bool:
        """Load the persisted copy, if any; whether one was loaded."""
        if self.persist is None or not self.persist.exists():
            return False
        try:
            saved = load_copy(self.persist.read_bytes(), self.map._prefix)
        except (OSError, ValueError) as error:
            log.warning("mirror of %r: cannot restore %s (%s)", self.prefix, self.persist, error)
            return False
        data, invalid = self._store.build(saved_pages(saved))
        with self._guard:
            self._store.replace(data, invalid, saved.revision, "load", changes=False)
        self._sync_target = -1  # learned once the watch is up
        return True

    async def _list(self, source: Any) -> None:
        """List the prefix in pages at one revision and install it (as a diff)."""
        store, m = self._store, self.map
        while True:
            data: dict[str, Any] = {}
            invalid: dict[str, InvalidValue] = {}
            revision = 0
            try:
                async for page in self.client.get_pages(
                    m._start, range_end=m._end, page_size=m.page_size, keys_only=self.keys_only,
                    timeout=self.timeout,
                ):
                    revision = revision or page.header.revision
                    store.add_page(data, invalid, page.kvs)
            except CompactedError:
                continue  # compaction overtook the listing's revision: list again, newer
            break
        with self._guard:
            batch = store.replace(data, invalid, revision, source, changes=bool(self._feeds))
            self._server_revision = max(self._server_revision, revision)
            self._sync_target = revision
            self._after_apply()
        self.error = None
        if batch.changes or source == "relist":
            self._emit([batch])

    async def _watch(self) -> None:
        m = self.map
        watcher = self.client.watch(
            m._start, range_end=m._end, start_revision=self._store.revision + 1,
            progress_notify=True,
        )  # fmt: skip
        self._watcher = watcher  # before start(): aclose cancels a start nothing answers
        try:
            if self._stop.is_set():
                return
            async with watcher:
                if self._stop.is_set():
                    return
                self._faults.recovered(None)
                if self._sync_target < 0:
                    # restored from a file: synced once the copy reaches the current revision
                    current = await m.client.get(m._start, count_only=True, timeout=self.timeout)
                    self._sync_target = current.header.revision
                await self.client.request_progress()
                async for response in watcher:
                    self._on_response(response)
        finally:
            self._watcher = None  # however the watch ended: no progress requests to it

    def _on_response(self, response: WatchResponse) -> None:
        self._confirmed_at = time.monotonic()
        self.last_confirmed = time.time()
        self.error = None
        header_revision = response.header.revision
        if response.events:
            with self._guard:
                batches = self._store.apply(response.events, changes=bool(self._feeds))
                self._server_revision = max(self._server_revision, header_revision)
                self._after_apply()
            self._emit(batches)
            return
        # A progress notification: it confirms the stream is alive and tells the server's
        # revision (lag). It does not move ``revision``: etcd before 3.5.8 can send one ahead
        # of the events of its own revision (etcd-io/etcd#15220); ``_confirm`` does that.
        with self._guard:
            self._server_revision = max(self._server_revision, header_revision)
            self._after_apply()

    async def _confirm(self, timeout: float | None = None) -> None:
        """Move ``revision`` to the server's current revision when the prefix has not changed
        since the copy's revision: one Txn, linearizable, within ``timeout`` seconds (default
        the mirror's): if no key of the prefix was modified after it (a Compare on the whole
        range), count the keys (a count-only Range; etcd ignores revision filters on counts,
        hence the Compare). A quiet prefix gets no events, so this is how the copy learns it
        is still current. Events at or below the new revision are then skipped."""
        m = self.map
        with self._guard:
            revision = self._store.revision
            held = len(self._store.data) + len(self._store.invalid)
        if not revision:
            return
        asked = time.monotonic()
        response = await self.client.txn(
            compare=[Compare.mod_revision(m._start, "<", revision + 1, range_end=m._end)],
            success=[Op.get(m._start, range_end=m._end, count_only=True)],
            timeout=self.timeout if timeout is None else timeout,
        )
        unchanged = response.succeeded and all(
            r.count == held for r in response.responses if isinstance(r, GetResponse)
        )
        current = response.header.revision
        with self._guard:
            if asked > self._read_at:
                self._read_at, self._read_revision = asked, current
            self._server_revision = max(self._server_revision, current)
            if unchanged and self._store.revision == revision:
                self._store.revision = max(revision, current)
            self._after_apply()

    def _after_apply(self) -> None:
        """Under the guard: wake waiters, mark synced/ready, report the lag to the client's
        hooks (``mirror_lag``)."""
        revision = self._store.revision
        if self.client.hooks is not None:
            self.client.hooks.mirror_lag(self.prefix, self.lag)
        while self._waiters and self._waiters[0][0] <= revision:
            heapq.heappop(self._waiters)[2].set()
        if self._sync_target >= 0 and revision >= self._sync_target:
            if not self.synced.is_set():
                self.synced.set()
            if self.state is MirrorState.DEGRADED and not (
                self._degraded_at < self._read_at < self._confirmed_at
                and revision >= self._read_revision
            ):
                return  # not until the watch has answered since a read told where the server is
            if self.state is not MirrorState.CLOSED and self.state is not MirrorState.READY:
                self._confirmed_at = max(self._confirmed_at, time.monotonic())
                self._set_state(MirrorState.READY)

    def _emit(self, batches: list[Batch]) -> None:
        for feed in list(self._feeds):
            for batch in batches:
                feed.inbox.put(batch)

    async def _heartbeat(self) -> None:
        """Every beat: ``DEGRADED`` once the watch has confirmed nothing for
        ``degraded_after`` less 1.25 beats (so at most ``degraded_after`` after it was lost,
        whether the stream broke, is being re-opened or went silent); a progress request;
        while ``DEGRADED`` a read that tells the server's revision (``READY`` follows once the
        watch has answered since and the copy is there). Every call times out after a beat,
        so a server that does not answer holds up neither this loop nor ``aclose``."""
        beat = self._beat_interval
        due = time.monotonic() + beat
        while not await self._stop.wait(max(0.0, due - time.monotonic())):
            # A call that took the whole beat delays no check; a DEGRADED mirror looks for
            # the server more often, so it is READY soon after the server is back.
            pause = min(beat, _RECOVERY_BEAT) if self.state is MirrorState.DEGRADED else beat
            due = time.monotonic() + pause
            silent = time.monotonic() - self._confirmed_at
            if self.state is MirrorState.READY and silent > self.degraded_after - 1.25 * beat:
                self._set_state(
                    MirrorState.DEGRADED, f"the watch confirmed nothing for {silent:.1f} s"
                )
            try:
                if self.state is MirrorState.DEGRADED or self.lag:
                    await self._confirm(beat)
                await self.client.request_progress()
            except EtcdError as error:
                log.debug("mirror of %r: heartbeat failed (%s)", self.prefix, describe(error))

    # --- waiting ------------------------------------------------------------------------------

    async def wait_for(self, revision: int, timeout: float | None = None) -> int:
        """Wait until the copy has reached ``revision`` (a write made elsewhere) and return
        the mirror's revision. Progress requests move a quiet prefix along. ``TimeoutError``
        naming the lag after ``timeout`` seconds (default the mirror's ``timeout``),
        ``ClientClosedError`` if the mirror closes meanwhile."""
        limit = self.timeout if timeout is None else check_seconds(timeout, "timeout", zero=True)
        if self._store.revision >= revision:
            return self._store.revision
        deadline = time.monotonic() + limit
        event = Event()
        with self._guard:
            if self._store.revision >= revision:
                return self._store.revision
            heapq.heappush(self._waiters, (revision, next(self._tickets), event))
        pause = 0.05
        while not await event.wait(max(0.0, min(pause, deadline - time.monotonic()))):
            if self.state is MirrorState.CLOSED:
                break
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"mirror of {self.prefix!r} did not reach revision {revision} within "
                    f"{limit} s: it is at {self.revision} (lag {self.lag}, state "
                    f"{self.state.value}, last error: {self.error or 'none'})"
                )
            if self._watcher is not None:
                try:
                    await self._confirm(max(0.05, deadline - time.monotonic()))
                except EtcdError:
                    pass  # the server is unreachable; the heartbeat and the reader deal with it
            pause = min(pause * 2, _NUDGE_MAX)
        if self.state is MirrorState.CLOSED and self._store.revision < revision:
            raise ClientClosedError(
                f"mirror of {self.prefix!r} closed while waiting for revision {revision}"
            )
        return self._store.revision

    async def barrier(self, consistency: Consistency | None = None) -> int:
        """Wait as ``consistency`` (default the mirror's) says, then return the revision
        local reads now answer at: ``"local"`` waits for nothing, ``"session"`` for this
        mirror's writes, ``"linearizable"`` for the server's current revision (one
        count-only Range, linearizable, on the prefix). While the mirror is ``DEGRADED`` the
        last two first read the server's revision (one Txn, linearizable), so they raise its
        ``EtcdError`` within a heartbeat when the server does not answer."""
        mode = self.consistency if consistency is None else check_consistency(consistency)
        if mode != "local" and self.state is MirrorState.DEGRADED:
            # The copy may be stale: ask the server first, a typed error at once if it is down.
            await self._confirm(self._beat_interval)
        if mode == "linearizable":
            await self._confirm()
            return await self.wait_for(self._server_revision)
        if mode == "session" and self._written > self._store.revision:
            return await self.wait_for(self._written)
        return self._store.revision

    # --- local reads --------------------------------------------------------------------------

    def local(self) -> dict[str, V]:
        """The live local dict (read-only use; it changes as batches are applied)."""
        return self._store.data

    def local_get(self, key: str, default: Any = None) -> Any:
        """``key``'s value in the local copy now, or ``default`` (no waiting, no RPC)."""
        return self._store.data.get(key, default)

    def local_snapshot(self) -> MirrorSnapshot:
        """A copy of the local content with its revision, taken atomically (no RPC)."""
        with self._guard:
            return MirrorSnapshot(self._store.revision, dict(self._store.data))

    async def read(
        self, key: str, default: Any = MISSING, *, consistency: Consistency | None = None
    ) -> Any:
        """``key``'s value after waiting as ``consistency`` says; ``KeyError`` if missing and
        no ``default`` is given."""
        await self.barrier(consistency)
        value = self._store.data.get(key, default)
        if value is MISSING:
            raise KeyError(key)
        return value

    async def contains(self, key: object, *, consistency: Consistency | None = None) -> bool:
        """Whether ``key`` is in the copy, after waiting as ``consistency`` says."""
        await self.barrier(consistency)
        return key in self._store.data

    async def count(self, *, consistency: Consistency | None = None) -> int:
        """The number of keys (O(1)), after waiting as ``consistency`` says."""
        await self.barrier(consistency)
        return len(self._store.data)

    async def snapshot(self, *, consistency: Consistency | None = None) -> MirrorSnapshot:
        """A copy of the content at one revision, after waiting as ``consistency`` says."""
        await self.barrier(consistency)
        return self.local_snapshot()

    # --- indexes ------------------------------------------------------------------------------

    def add_index(self, name: str, fn: Callable[[str, Any], Any]) -> None:
        """Maintain index ``name``: ``fn(key, value)`` gives the index values of a key (one
        str/bytes/number, an iterable of them, or None). Built now from the copy, then kept
        up to date with every batch before subscribers see it. ``fn`` must be deterministic."""
        with self._guard:
            self._store.add_index(name, fn)

    def lookup(self, name: str, value: Hashable) -> dict[str, V]:
        """The keys (with their values) whose index ``name`` holds ``value`` (local)."""
        with self._guard:
            data = self._store.data
            return {key: data[key] for key in self._store.lookup(name, value)}

    # --- events -------------------------------------------------------------------------------

    def subscribe(
        self,
        callback: Callable[[Batch], Any],
        *,
        debounce: float = 0.0,
        max_wait: float | None = None,
    ) -> AsyncMirrorSubscription:
        """Call ``callback(batch)`` for every batch applied from now on (one per revision,
        or one per quiet period of ``debounce`` seconds, at most ``max_wait`` apart), from a
        worker of its own: never on the watch reader; a callback that raises is logged and
        the mirror goes on. With the asyncio mirror the callback may be a coroutine
        function. Returns a handle with ``cancel()``."""
        return AsyncMirrorSubscription(self, callback, self._attach(debounce, max_wait))

    def changes(self, *, debounce: float = 0.0, max_wait: float | None = None) -> AsyncChanges:
        """An iterator of the batches applied from now on (``debounce`` as for
        ``subscribe``); it ends when the mirror closes. Unconsumed batches are queued."""
        return AsyncChanges(self, self._attach(debounce, max_wait))

    def _attach(self, debounce: float, max_wait: float | None) -> AsyncFeed[Batch]:
        """A new feed of the batches applied from now on."""
        feed: AsyncFeed[Batch] = AsyncFeed(debounce, max_wait)
        self._feeds = [*self._feeds, feed]
        return feed

    def _detach(self, feed: AsyncFeed[Any]) -> None:
        """Stop feeding ``feed``; its reader ends after the batches already queued."""
        self._feeds = [f for f in self._feeds if f is not feed]
        feed.inbox.close()

    # --- writes -------------------------------------------------------------------------------

    async def _applied(self, revision: int) -> int:
        """Wait until the copy shows the write of ``revision`` (read-your-writes through
        ``m[key]``), at most ``timeout`` seconds: ``MirrorLagError`` (it WAS applied) after."""
        self._written = max(self._written, revision)
        try:
            await self.wait_for(revision)
        except TimeoutError as error:
            raise MirrorLagError(
                f"the write was applied at revision {revision}, but {error}; do not write "
                f"it again: wait_for({revision}) waits longer", revision=revision,
            ) from None
        return revision

    async def set(self, key: str, value: V, *, ttl: float | None = None, lease: Any = None) -> int:
        """Store ``value`` under ``key`` (one Put, through ``map``) and return its revision
        once the local copy shows it; ``MirrorLagError`` (the write WAS applied) if that takes
        longer than ``timeout``.

        Parameters
        ----------
        key:
            The key, relative to the prefix.
        value:
            The value, encoded by the mirror's codec.
        ttl:
            Attach the key to a new lease of ``ttl`` seconds (one LeaseGrant first).
        lease:
            Attach the key to this lease (an id or a ``Lease``); default the map's.
        """
        return await self._applied(await self.map.set(key, value, ttl=ttl, lease=lease))

    async def delete(self, key: str) -> int:
        """Delete ``key`` (one DeleteRange; ``KeyError`` if it did not exist) and return the
        revision once the local copy shows it (``MirrorLagError`` as for ``set``)."""
        return await self._applied(await self.map.delete(key))

    async def update(  # type: ignore[override, unused-ignore]
        self,
        other: Mapping[str, V] | Iterable[tuple[str, V]] = (),
        /,
        *,
        atomic: bool = False,
        **kwargs: V,
    ) -> UpdateResult:
        """``AsyncEtcdMap.update`` (Txns planned under the server's limits; ``atomic`` and
        ``PartialWriteError`` as there), returning once applied."""
        result = await self.map.update(other, atomic=atomic, **kwargs)
        if result.revision:
            await self._applied(result.revision)
        return result

    async def clear(self) -> int:  # type: ignore[override, unused-ignore]
        """Delete every key under the prefix (one DeleteRange) and return the count once the
        mirror has applied it."""
        deleted = await self.map.clear()
        await self._applied(self.map.revision)
        return deleted

    # --- persistence --------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write the copy and its revision to ``path`` (default ``persist``) atomically
        (a temporary file renamed over it). A blocking file write, no RPC."""
        target = Path(path) if path is not None else self.persist
        if target is None:
            raise ValueError("save() needs a path (or persist= on the mirror)")
        prefix, encode = self.map._prefix, self.codec.encode
        full_key = self.map._full
        with self._guard:  # copy, so the watch is held up for a copy and not an encoding
            revision = self._store.revision
            data, invalid = dict(self._store.data), dict(self._store.invalid)
        items = [
            (full_key(key), b"" if self.keys_only else encode(value))
            for key, value in data.items()
        ]
        items += [(full_key(key), bad.data) for key, bad in invalid.items()]
        content = dump_copy(prefix, revision, items)
        temporary = target.with_name(target.name + ".tmp")
        temporary.write_bytes(content)
        os.replace(temporary, target)
        return target
