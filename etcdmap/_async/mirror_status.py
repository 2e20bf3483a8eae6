"""Where a mirror's copy stands against the server, and the waits on it.

``AsyncMirrorStatus`` keeps the revisions the mirror has learned (the copy's, the server's, its
own writes'), its ``state`` (``SYNCING``, ``READY``, ``DEGRADED``, ``RELISTING``, ``CLOSED``)
and the waiters of ``wait_for``. Its heartbeat asks for progress and marks a silent watch
``DEGRADED``; ``confirm`` tells the copy it is current when the prefix did not change. The
sync loop reports to it what it applied; the mirror's reads wait on it.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

from .._backends.asyncio import Event
from .._core.checks import check_seconds
from .._core.errors import ClientClosedError, EtcdError, MirrorLagError
from .._core.keyspace import KeySpace
from .._core.kv import Compare, Op
from .._core.mirror import Consistency, MirrorState, Store
from .._core.mirror_health import MirrorHealth, prefix_unchanged
from .._core.outage import describe
from .._core.results import GetResponse
from .kv import AsyncWatchKV

__all__ = ["AsyncMirrorStatus"]

log = logging.getLogger("etcdmap.mirror")

#: Longest pause between two progress requests while waiting for a revision.
_NUDGE_MAX = 0.5
#: Longest pause between two reads that look for the server while DEGRADED.
_RECOVERY_BEAT = 0.25


class AsyncMirrorStatus:
    """The progress and state of a mirror of ``keyspace`` whose copy is ``store``.

    ``store`` is read and changed under ``guard``. ``timeout`` bounds ``wait_for`` and
    ``wait_synced`` by default; the mirror turns ``DEGRADED`` at most ``degraded_after``
    seconds after the watch last confirmed anything; ``beat`` is the heartbeat's period.
    ``on_change(old, new)`` hears every state change (it must not block).
    """

    def __init__(
        self,
        client: AsyncWatchKV,
        keyspace: KeySpace[Any],
        store: Store,
        guard: Any,
        *,
        timeout: float,
        degraded_after: float,
        beat: float,
        on_change: Callable[[MirrorState, MirrorState], None] | None = None,
    ) -> None:
        self.client = client
        self.keyspace = keyspace
        self.store = store
        self.guard = guard
        self.timeout = timeout
        self.beat = beat
        self.on_change = on_change
        #: Set once the copy has caught up with the server (after the load or a restore).
        self.synced = Event()
        self.state = MirrorState.SYNCING
        #: The error of the last failed attempt to list or watch (None while all is well).
        self.error: EtcdError | None = None
        #: ``time.time()`` of the last response from the watch (event or progress) or the last
        #: read that proved the copy current, or None.
        self.last_confirmed: float | None = None
        #: Whether a watch is open (then ``wait_for`` nudges it with confirming reads).
        self.watching = False
        #: The revision the copy must reach to be synced; -1 until the watch has learned it
        #: (a copy restored from a file).
        self.sync_target = 0
        self._health = MirrorHealth(degraded_after, beat)
        self._server_revision = 0
        self._written = 0
        self._waiters: list[tuple[int, int, Event]] = []
        self._tickets = itertools.count()

    @property
    def name(self) -> str:
        return self.keyspace.name

    @property
    def revision(self) -> int:
        """The server revision the local copy equals (0 before the first load)."""
        return self.store.revision

    @property
    def lag(self) -> int:
        """The latest server revision seen minus ``revision``: 0 when known current."""
        return max(0, self._server_revision - self.store.revision)

    def set_state(self, state: MirrorState, why: str = "") -> None:
        """Move to ``state`` (logged, and told to ``on_change``); a closed mirror stays so."""
        old, self.state = self.state, state
        if old is not state and old is not MirrorState.CLOSED:
            level = logging.WARNING if state is MirrorState.DEGRADED else logging.INFO
            log.log(level, "mirror of %r: %s -> %s%s", self.name, old.value, state.value,
                    f" ({why})" if why else "")
            if state is MirrorState.DEGRADED:
                self._health.degraded(time.monotonic())
            if self.on_change is not None:
                self.on_change(old, state)

    # --- what the sync loop reports (under the guard) -----------------------------------------

    def heard(self, progress: bool = False) -> None:
        """The watch answered (events, or a ``progress`` notification): it is alive."""
        self._health.heard(time.monotonic(), progress)
        self.last_confirmed = time.time()
        self.error = None

    def advanced(self, server_revision: int) -> None:
        """Under the guard, after the copy changed or the server told ``server_revision``."""
        self._server_revision = max(self._server_revision, server_revision)
        self._applied()

    def listed(self, revision: int) -> None:
        """Under the guard: the copy was listed at ``revision``; synced once there."""
        self.sync_target = revision
        self.advanced(revision)

    def _applied(self) -> None:
        """Under the guard: wake waiters, mark synced/ready, report the lag to the client's
        hooks (``mirror_lag``)."""
        revision = self.store.revision
        if self.client.hooks is not None:
            self.client.hooks.mirror_lag(self.name, self.lag)
        while self._waiters and self._waiters[0][0] <= revision:
            heapq.heappop(self._waiters)[2].set()
        if self.sync_target >= 0 and revision >= self.sync_target:
            if not self.synced.is_set():
                self.synced.set()
            if self.state is MirrorState.DEGRADED and not self._health.may_recover(revision):
                return  # not until the watch has answered since a read told where the server is
            if self.state is not MirrorState.CLOSED and self.state is not MirrorState.READY:
                self._health.heard(time.monotonic())
                self.set_state(MirrorState.READY)

    # --- asking the server --------------------------------------------------------------------

    async def confirm(self, timeout: float | None = None) -> None:
        """Move ``revision`` to the server's current revision when the prefix has not changed
        since the copy's revision: one Txn, linearizable, within ``timeout`` seconds (default
        the mirror's): if no key of the prefix was modified after it (a Compare on the whole
        range), count the keys (a count-only Range; etcd ignores revision filters on counts,
        hence the Compare). A quiet prefix gets no events, so this is how the copy learns it
        is still current (and, through etcd's gRPC proxy, which answers no progress request,
        the heartbeat's proof that it is). Events at or below the new revision are then
        skipped."""
        ks, store = self.keyspace, self.store
        with self.guard:
            revision = store.revision
            held = len(store.data) + len(store.invalid)
        if not revision:
            return
        asked = time.monotonic()
        response = await self.client.txn(
            compare=[Compare.mod_revision(ks.start, "<", revision + 1, range_end=ks.end)],
            success=[Op.get(ks.start, range_end=ks.end, count_only=True)],
            timeout=self.timeout if timeout is None else timeout,
        )
        counts = [r.count for r in response.responses if isinstance(r, GetResponse)]
        current = response.header.revision
        with self.guard:
            proved = prefix_unchanged(response.succeeded, counts, held)
            proved = proved and store.revision == revision  # else the watch moved it meanwhile
            if proved:
                store.revision = max(revision, current)
                self.last_confirmed = time.time()
            self._health.read(asked, current, proved)
            self.advanced(current)

    async def heartbeat(self, stop: Event) -> None:
        """Until ``stop``, every beat: ``DEGRADED`` once the watch has confirmed nothing for
        ``degraded_after`` less 1.25 beats (so at most ``degraded_after`` after it was lost,
        whether the stream broke, is being re-opened or went silent); a progress request;
        while ``DEGRADED`` a read that tells the server's revision (``READY`` follows once the
        watch has answered since and the copy is there). When the endpoint answers no
        progress request (etcd's gRPC proxy), a read (``confirm``: one Txn, linearizable)
        proves the copy current instead, and requests go only every ``PROBE_BEATS`` beats
        (see ``MirrorHealth``). Every call times out after a beat, so a server that does not
        answer holds up neither this loop nor closing."""
        beat = self.beat
        due = time.monotonic() + beat
        while not await stop.wait(max(0.0, due - time.monotonic())):
            # A call that took the whole beat delays no check; a DEGRADED mirror looks for
            # the server more often, so it is READY soon after the server is back.
            pause = min(beat, _RECOVERY_BEAT) if self.state is MirrorState.DEGRADED else beat
            due = time.monotonic() + pause
            health = self._health
            silent = health.silence(time.monotonic())
            if self.state is MirrorState.READY and silent is not None:
                self.set_state(
                    MirrorState.DEGRADED, f"the watch confirmed nothing for {silent:.1f} s"
                )
            try:
                degraded = self.state is MirrorState.DEGRADED
                if degraded or self.lag or health.needs_read(time.monotonic()):
                    await self.confirm(beat)
                if health.ask_progress(time.monotonic()):
                    await self.client.request_progress()
            except EtcdError as error:
                log.debug("mirror of %r: heartbeat failed (%s)", self.name, describe(error))

    # --- waiting ------------------------------------------------------------------------------

    async def wait_synced(self, timeout: float | None = None) -> None:
        """Wait until the copy has caught up with the server once (``TimeoutError`` naming
        the last error after ``timeout`` seconds, default the mirror's ``timeout``)."""
        limit = self.timeout if timeout is None else check_seconds(timeout, "timeout", zero=True)
        if not await self.synced.wait(limit):
            raise TimeoutError(
                f"mirror of {self.name!r} not synced after {limit} s (state "
                f"{self.state.value}, last error: {self.error or 'none'})"
            )

    async def wait_for(self, revision: int, timeout: float | None = None) -> int:
        """Wait until the copy has reached ``revision`` and return the copy's revision
        (see ``AsyncMirror.wait_for``)."""
        limit = self.timeout if timeout is None else check_seconds(timeout, "timeout", zero=True)
        store = self.store
        if store.revision >= revision:
            return store.revision
        deadline = time.monotonic() + limit
        event = Event()
        with self.guard:
            if store.revision >= revision:
                return store.revision
            heapq.heappush(self._waiters, (revision, next(self._tickets), event))
        pause = 0.05
        while not await event.wait(max(0.0, min(pause, deadline - time.monotonic()))):
            if self.state is MirrorState.CLOSED:
                break
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"mirror of {self.name!r} did not reach revision {revision} within "
                    f"{limit} s: it is at {self.revision} (lag {self.lag}, state "
                    f"{self.state.value}, last error: {self.error or 'none'})"
                )
            if self.watching:
                try:
                    await self.confirm(max(0.05, deadline - time.monotonic()))
                except EtcdError:
                    pass  # the server is unreachable; the heartbeat and the reader deal with it
            pause = min(pause * 2, _NUDGE_MAX)
        if self.state is MirrorState.CLOSED and store.revision < revision:
            raise ClientClosedError(
                f"mirror of {self.name!r} closed while waiting for revision {revision}"
            )
        return store.revision

    async def barrier(self, mode: Consistency) -> int:
        """Wait as ``mode`` says (see ``AsyncMirror.barrier``) and return the copy's revision."""
        if mode != "local" and self.state is MirrorState.DEGRADED:
            # The copy may be stale: ask the server first, a typed error at once if it is down.
            await self.confirm(self.beat)
        if mode == "linearizable":
            await self.confirm()
            return await self.wait_for(self._server_revision)
        if mode == "session" and self._written > self.store.revision:
            return await self.wait_for(self._written)
        return self.store.revision

    async def wrote(self, revision: int) -> int:
        """A write through the mirror got ``revision``: wait until the copy shows it
        (read-your-writes through ``m[key]``; later ``"session"`` reads wait for it too), at
        most ``timeout`` seconds: ``MirrorLagError`` (it WAS applied) after."""
        self._written = max(self._written, revision)
        try:
            await self.wait_for(revision)
        except TimeoutError as error:
            raise MirrorLagError(
                f"the write was applied at revision {revision}, but {error}; do not write "
                f"it again: wait_for({revision}) waits longer", revision=revision,
            ) from None
        return revision

    def close(self) -> None:
        """``CLOSED``; every waiter wakes (and raises ``ClientClosedError``)."""
        self.set_state(MirrorState.CLOSED)
        with self.guard:
            for _, _, event in self._waiters:
                event.set()
            self._waiters.clear()
