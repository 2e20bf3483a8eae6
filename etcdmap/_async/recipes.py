"""Recipes over the public client API (Go's ``experimental/recipes``): a readers-writer lock,
a barrier, a double barrier and a queue.

The key layouts and decisions are in ``_core.recipes``; this module only runs them. Every
wait takes ``timeout=`` (seconds; ``DeadlineExceededError`` when it passes first) and, when it
ends early (timeout, cancellation, Ctrl-C), deletes the keys it created before raising.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TypeAlias

from .._core.checks import check_client, check_count
from .._core.concurrency import first_created, lock_prefix, was_deleted
from .._core.errors import (
    DeadlineExceededError,
    LockReleasedError,
    SessionExpiredError,
    TooManyClientsError,
)
from .._core.keys import to_bytes
from .._core.kv import Op
from .._core.recipes import (
    DoubleBarrierKeys,
    RWMutexKeys,
    claim_txn,
    create_txn,
    created_revision,
    enter_decision,
    holds,
    leave_step,
    unique_key,
    was_put,
)
from .concurrency import (
    AsyncSession,
    _cleanup_timeout,
    _deadline,
    _delete_owned,
    _left,
    _wait_deletes,
    _wait_for,
)

if TYPE_CHECKING:
    from .kv import AsyncWatchKV

    AsyncKVClient: TypeAlias = AsyncWatchKV

__all__ = ["AsyncBarrier", "AsyncDoubleBarrier", "AsyncQueue", "AsyncRWMutex"]


async def _create_unique(
    client: AsyncKVClient, directory: bytes, value: bytes | str,
    session: AsyncSession | None, timeout: float | None,
) -> tuple[bytes, int]:
    """Create a new key under ``directory`` (one KV.Txn, again on the rare clash with another
    participant's key), on ``session``'s lease if given (then a key whose write had an
    unknown outcome is deleted again: see ``AsyncSession._create_key``): the key and its
    create revision."""
    while True:
        key = unique_key(directory, time.time_ns())
        if session is None:
            response = await client.txn(*create_txn(key, value, 0), timeout=timeout)
        else:
            txn = create_txn(key, value, session.lease_id)
            response = await session._create_key(key, txn, timeout)
        revision = created_revision(response)
        if revision:
            return key, revision


class AsyncRWMutex:
    """A readers-writer lock, with the key layout and waiting rule of Go's ``recipe.RWMutex``.

    ``AsyncRWMutex(session, prefix)``: ``read_lock()`` queues a key under ``prefix/read/``
    and waits until no writer queued before it is left; ``lock()`` queues under
    ``prefix/write/`` and waits until nobody (reader or writer) queued before it is left.
    So readers share the lock, a writer holds it alone, and a waiting writer keeps later
    readers out. Keys are on the session's lease: a lost session frees its place.

    One object holds one place (a read or the write lock) at a time; use one per holder.
    """

    def __init__(self, session: AsyncSession, prefix: bytes | str) -> None:
        check_client(session.client, AsyncRWMutex)
        self.session = session
        #: The lock's keys (``keys.root`` is ``prefix + "/"``).
        self.keys = RWMutexKeys(prefix)
        self._key: bytes | None = None
        self._rev = 0
        self._write = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.keys.root!r}, key={self._key!r})"

    @property
    def key(self) -> bytes | None:
        """Our key while waiting or holding (under ``read/`` or ``write/``); None otherwise."""
        return self._key

    @property
    def client(self) -> AsyncKVClient:
        return self.session.client

    async def read_lock(self, timeout: float | None = None) -> None:
        """Take a shared (read) lock: KV.Txn creates our key under ``read/``; then, for each
        writer queued before us, newest first, a KV.Range (linearizable) finds it and a
        Watch waits for its delete; a last KV.Range checks our key survived (else
        ``SessionExpiredError``). ``DeadlineExceededError`` after ``timeout`` seconds."""
        await self._lock(False, timeout)

    async def lock(self, timeout: float | None = None) -> None:
        """Take the exclusive (write) lock: as ``read_lock`` but queued under ``write/``, and
        waiting for every key queued before ours, readers' and writers'."""
        await self._lock(True, timeout)

    async def _lock(self, write: bool, timeout: float | None) -> None:
        deadline = _deadline(timeout)
        if self._key is not None:
            raise RuntimeError(f"{self!r} already holds or waits for the lock")
        await self.session.start(timeout=timeout)
        self.session.check()
        key, rev = await _create_unique(
            self.client, self.keys.queue(write), b"", self.session, _left(deadline)
        )
        self._key, self._rev, self._write = key, rev, write
        try:
            if await _wait_deletes(self.client, self.keys.blockers(write), rev, deadline):
                if holds(await self.client.get(key, timeout=_left(deadline)), rev):
                    return
                self._key = None
                self.session.check()
                raise SessionExpiredError(
                    f"rwmutex: session is expired (our key {key!r} vanished while waiting)",
                    key=key,
                )
        except BaseException:
            await self._abandon(_cleanup_timeout(deadline))
            raise
        await self._abandon(_cleanup_timeout(deadline))
        kind = "write" if write else "read"
        raise DeadlineExceededError(
            f"{kind} lock {self.keys.root!r} not acquired within {timeout}s"
        )

    async def _abandon(self, timeout: float | None) -> None:
        key, self._key, self._rev = self._key, None, 0
        if key is not None:
            await self.session._drop(key, timeout)

    async def read_unlock(self, *, timeout: float | None = None) -> None:
        """Release a read lock (KV.Txn deleting our key if it is still ours).
        ``LockReleasedError`` if this object holds no read lock; ``SessionExpiredError`` if
        our key was gone already (the session's lease was lost while holding)."""
        await self._unlock(False, timeout)

    async def unlock(self, *, timeout: float | None = None) -> None:
        """Release the write lock, as ``read_unlock`` does a read lock."""
        await self._unlock(True, timeout)

    async def _unlock(self, write: bool, timeout: float | None) -> None:
        key, rev = self._key, self._rev
        if key is None or self._write != write:
            kind = "write" if write else "read"
            raise LockReleasedError(f"rwmutex {self.keys.root!r}: no {kind} lock held")
        self._key, self._rev = None, 0
        response = await _delete_owned(self.session, key, rev, timeout)
        if not response.succeeded:
            raise SessionExpiredError(
                f"rwmutex: session is expired: our key {key!r} was gone before its release",
                key=key,
            )


class AsyncBarrier:
    """A barrier (Go's ``recipe.Barrier``): while ``key`` exists, ``wait()`` blocks.

    ``hold()`` creates the key (no lease: it outlives this client until ``release()``),
    ``release()`` deletes it, which lets every waiter through.
    """

    def __init__(self, client: AsyncKVClient, key: bytes | str) -> None:
        check_client(client, AsyncBarrier)
        self.client = client
        self.key = to_bytes(key, "key")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key!r})"

    async def hold(self, *, timeout: float | None = None) -> bool:
        """Raise the barrier (KV.Txn creating the key if absent): True if this call raised
        it, False if it was held already."""
        response = await self.client.txn(*create_txn(self.key, b"", 0), timeout=timeout)
        return response.succeeded

    async def release(self, *, timeout: float | None = None) -> bool:
        """Lower the barrier (KV.DeleteRange of the key), releasing the waiters: True if it
        was held."""
        return (await self.client.delete(self.key, timeout=timeout)).deleted > 0

    async def wait(self, timeout: float | None = None) -> None:
        """Return once the barrier is not held: a KV.Range (linearizable) of the key, then,
        if it exists, a Watch for its delete. ``DeadlineExceededError`` after ``timeout``
        seconds."""
        deadline = _deadline(timeout)
        found = await self.client.get(self.key, keys_only=True, timeout=timeout)
        if not found.kvs:
            return
        revision = found.header.revision + 1
        if not await _wait_for(self.client, self.key, revision, deadline, was_deleted):
            raise DeadlineExceededError(f"barrier {self.key!r} still held after {timeout}s")


class AsyncDoubleBarrier:
    """A double barrier (Go's ``recipe.DoubleBarrier``): ``enter()`` blocks until ``count``
    participants have entered, ``leave()`` until all of them have left.

    ``AsyncDoubleBarrier(session, key, count)``: each participant's key is under
    ``key/waiters/`` on its session's lease, so a participant that dies stops counting; the
    ``count``-th to enter puts ``key/ready``, which lets the others in. One object per
    participant.
    """

    def __init__(self, session: AsyncSession, key: bytes | str, count: int) -> None:
        check_client(session.client, AsyncDoubleBarrier)
        self.count = check_count(count, "count", minimum=1)
        self.session = session
        #: The barrier's keys: ``keys.waiters`` and ``keys.ready``.
        self.keys = DoubleBarrierKeys(key)
        self._key: bytes | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.keys.waiters!r}, count={self.count})"

    @property
    def key(self) -> bytes | None:
        """Our key under ``waiters/`` between ``enter()`` and ``leave()``; None otherwise."""
        return self._key

    @property
    def client(self) -> AsyncKVClient:
        return self.session.client

    async def enter(self, timeout: float | None = None) -> None:
        """Wait until ``count`` participants have entered.

        KV.Txn creates our key; a KV.Range (linearizable) of the first ``count`` keys tells
        whether we complete the count (then KV.Put of ``ready``) or must wait (a Watch of
        ``ready``). ``TooManyClientsError`` if ``count`` others entered first;
        ``DeadlineExceededError`` after ``timeout`` seconds. Either way, and on
        cancellation, our key is deleted again.
        """
        deadline = _deadline(timeout)
        if self._key is not None:
            raise RuntimeError(f"{self!r} has entered already; leave() first")
        await self.session.start(timeout=timeout)
        self.session.check()
        key, rev = await _create_unique(
            self.client, self.keys.waiters, b"", self.session, _left(deadline)
        )
        self._key = key
        try:
            entered = await self.client.get(
                self.keys.waiters, prefix=True, sort_target="create", sort_order="ascend",
                keys_only=True, limit=self.count, timeout=_left(deadline),
            )
            decision = enter_decision(entered.kvs, rev, self.count)
            if decision == "too_many":
                raise TooManyClientsError(
                    f"double barrier {self.keys.waiters!r}: {self.count} participants "
                    "entered already", key=self.keys.waiters,
                )
            if decision == "open":
                await self.client.put(self.keys.ready, b"", timeout=_left(deadline))
                return
            if await _wait_for(self.client, self.keys.ready, rev, deadline, was_put):
                return
            raise DeadlineExceededError(
                f"double barrier {self.keys.waiters!r}: fewer than {self.count} participants "
                f"entered within {timeout}s"
            )
        except BaseException:
            await self._abandon(_cleanup_timeout(deadline))
            raise

    async def leave(self, timeout: float | None = None) -> None:
        """Wait until every participant has left (see ``_core.recipes.leave_step``): rounds
        of a KV.Range (linearizable) of the keys under ``waiters/``, a KV.Txn deleting ours
        (and ``ready``, by the last one), and a Watch for the delete of the key we wait
        for. ``DeadlineExceededError`` after ``timeout`` seconds (our key is deleted then,
        as on cancellation, so the others are not held up)."""
        deadline = _deadline(timeout)
        mine = self._key
        if mine is None:
            raise RuntimeError(f"{self!r} has not entered")
        try:
            while True:
                found = await self.client.get(
                    self.keys.waiters, prefix=True, keys_only=True, timeout=_left(deadline)
                )
                step = leave_step(found.kvs, mine, self.keys.ready)
                if step.deletes:
                    await self.client.txn(
                        success=[Op.delete(key) for key in step.deletes], timeout=_left(deadline)
                    )
                if step.wait_for is None:
                    self._key = None
                    return
                revision = found.header.revision + 1
                if not await _wait_for(self.client, step.wait_for, revision, deadline, was_deleted):
                    raise DeadlineExceededError(
                        f"double barrier {self.keys.waiters!r}: others still in after "
                        f"{timeout}s"
                    )
        except BaseException:
            await self._abandon(_cleanup_timeout(deadline))
            raise

    async def _abandon(self, timeout: float | None) -> None:
        key, self._key = self._key, None
        if key is not None:
            await self.session._drop(key, timeout)


class AsyncQueue:
    """A distributed FIFO queue (Go's ``recipe.Queue``): items are keys under ``prefix/``,
    taken oldest first (by create revision), each by exactly one consumer."""

    def __init__(self, client: AsyncKVClient, prefix: bytes | str) -> None:
        check_client(client, AsyncQueue)
        self.client = client
        #: The queue's key prefix, ``prefix + "/"``.
        self.prefix = lock_prefix(prefix)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.prefix!r})"

    async def enqueue(self, value: bytes | str, *, timeout: float | None = None) -> bytes:
        """Append ``value`` (KV.Txn creating a new key under the prefix, no lease): the
        item's key."""
        key, _ = await _create_unique(self.client, self.prefix, value, None, timeout)
        return key

    async def dequeue(self, timeout: float | None = None) -> bytes:
        """Take the oldest item, waiting for one if the queue is empty.

        A KV.Range (linearizable) finds the oldest item and a KV.Txn deletes it if it is
        unchanged: of consumers racing for it, exactly one gets it, the others look again.
        An empty queue is watched (Watch) for the next put. ``DeadlineExceededError`` after
        ``timeout`` seconds. An item whose delete the server applied is taken even if the
        answer never arrives (cancellation at that moment loses it).
        """
        deadline = _deadline(timeout)
        while True:
            left = _left(deadline)
            if left == 0.0:
                break
            found = await self.client.get(self.prefix, timeout=left, **first_created())
            if found.kvs:
                item = found.kvs[0]
                claimed = await self.client.txn(*claim_txn(item), timeout=_left(deadline))
                if claimed.succeeded:
                    return item.value
                continue
            revision = found.header.revision + 1
            if not await _wait_for(
                self.client, self.prefix, revision, deadline, was_put, prefix=True
            ):
                break
        raise DeadlineExceededError(f"queue {self.prefix!r}: no item within {timeout}s")
