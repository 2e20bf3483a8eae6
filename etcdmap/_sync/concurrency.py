# Generated from etcdmap/_async/concurrency.py by scripts/unasync: do not edit.
"""Sessions, mutexes, elections and STM over the public client API (Go's ``concurrency``).

The protocols (key layout, who waits for which key, the STM conflict rules) are in
``_core.concurrency``; this module only runs them. Every object takes an ``Client`` or a
namespace view of one.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

from .._backends.threads import Event, Lock, Worker
from .._core.checks import check_client, check_count, check_timeout, check_ttl
from .._core.concurrency import (
    STMBody,
    Isolation,
    STMState,
    acquire_txn,
    campaign_txn,
    delete_owned_txn,
    first_created,
    first_put,
    is_owner,
    last_created_below,
    leader_of,
    leader_updates,
    lock_prefix,
    may_have_applied,
    parse_acquire,
    parse_campaign,
    proclaim_txn,
    sweep_ops,
    swept,
    waiter_key,
    was_deleted,
)
from .._core.errors import (
    ConflictError,
    DeadlineExceededError,
    ElectionNotLeaderError,
    EtcdError,
    FutureRevisionError,
    LeaseExpiredError,
    LeaseNotFoundError,
    LockReleasedError,
    SessionExpiredError,
)
from .._core.keys import to_bytes
from .._core.kv import Compare, LeaseLike, lease_id
from .._core.results import GetResponse, ResponseHeader, TxnResponse
from .._core.watch import WatchResponse
from .kv import watch_kv_of
from .lease import LeaseKeepAlive

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .._core.kv import Op
    from .kv import KV, WatchIterator, WatchKV

    KVClient: TypeAlias = WatchKV
    #: The compares, success and failure ops of a KV.Txn.
    TxnParts: TypeAlias = tuple[list[Compare], list[Op], list[Op]]

__all__ = [
    "Election",
    "ElectionObserver",
    "Mutex",
    "STM",
    "Session",
    "run_stm",
]

log = logging.getLogger("etcdmap.concurrency")


def _left(deadline: float | None) -> float | None:
    """Seconds until ``deadline`` (None: no deadline), never below zero."""
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)


#: Seconds a wait that ended early (timeout, cancellation) gives the delete of its key; if
#: the server does not answer by then, the key goes with the session's lease.
CLEANUP_TIMEOUT = 1.0


def _cleanup_timeout(deadline: float | None) -> float | None:
    """The timeout of the clean-up after a wait: bounded when the wait was."""
    return None if deadline is None else CLEANUP_TIMEOUT


def _deadline(timeout: float | None) -> float | None:
    timeout = check_timeout(timeout, zero=True)
    return None if timeout is None else time.monotonic() + timeout


class Session:
    """A lease kept alive in the background, for locks and elections to attach keys to.

    ``Session(client, ttl=60, lease=None)``: on ``start()`` (done by ``with`` and
    by the first lock or campaign) it grants a lease of ``ttl`` seconds (Lease.LeaseGrant) or
    adopts ``lease`` (e.g. to resume a leadership after a restart), then keeps it alive on
    the client's shared LeaseKeepAlive stream. If the lease is lost (expired during an outage
    longer than the TTL, or revoked) every key of the session is gone with it: ``done`` is
    set, ``lost`` holds the ``LeaseExpiredError`` and ``check()`` raises
    ``SessionExpiredError``. ``close()`` (also at the end of ``with``) revokes the
    lease, deleting the session's keys at once; ``orphan()`` only stops the keep-alive.

    A key of the session that a lock or campaign may have left behind (its write or delete
    raised an ``OutcomeUnknownError``, or its clean-up failed) is deleted at once if the
    server answers within ``CLEANUP_TIMEOUT``, else before the session's next lock, campaign
    or barrier entry queues a key: a key nobody knows of would otherwise hold its lock (or
    lead its election) until the session ends.

    Example::

        with Session(client, ttl=10) as session:
            with Mutex(session, "/locks/job"):
                ...
    """

    def __init__(self, client: KVClient, ttl: int = 60, lease: LeaseLike = None) -> None:
        check_client(client, Session)
        self.client = watch_kv_of(client, "Session")
        self.ttl = check_ttl(ttl)
        self._lease_id = lease_id(lease)
        self._lease = lease
        self._keep: LeaseKeepAlive | None = None
        self._watcher: Worker | None = None
        self._lock = Lock()
        self._ended = False
        #: Set when the session ends: its lease was lost, or it was orphaned or closed.
        self.done = Event()
        #: Why the lease was lost, once it was; None while alive (or closed normally).
        self.lost: LeaseExpiredError | None = None
        #: Keys on the lease that may exist though no lock or election object knows them.
        self._stray: set[bytes] = set()
        self._sweeping = Lock()

    def __repr__(self) -> str:
        state = "lost" if self.lost else "ended" if self.done.is_set() else "alive"
        return f"{type(self).__name__}(lease={self._lease_id:#x}, ttl={self.ttl}, {state})"

    @property
    def lease_id(self) -> int:
        """The session's lease id (``RuntimeError`` before ``start()`` granted one)."""
        if not self._lease_id:
            raise RuntimeError("the session has no lease yet: start() it (or use with)")
        return self._lease_id

    def start(self, *, timeout: float | None = None) -> Session:
        """Grant (or adopt) the lease and start keeping it alive; a no-op once started.

        ``timeout`` bounds the grant (Lease.LeaseGrant). Raises ``SessionExpiredError``
        after ``close()`` / ``orphan()``.
        """
        with self._lock:
            if self._ended:
                raise SessionExpiredError(f"{self!r} has ended and cannot be started again")
            if self._keep is None:
                target: LeaseLike = self._lease
                if not self._lease_id:
                    target = self.client.lease_grant(self.ttl, timeout=timeout)
                    self._lease_id = target.id
                self._keep = self.client.lease_keep_alive(target)
                self._watcher = Worker(
                    _watch_session, weakref.ref(self), self._keep, self.done,
                    name="etcdmap-session",
                )
        return self

    def _create_key(
        self, key: bytes, txn: TxnParts, timeout: float | None
    ) -> TxnResponse:
        """Run ``txn`` (KV.Txn), which may create ``key`` on the session's lease, after
        deleting the keys earlier calls may have left (``_sweep``). If its outcome is unknown,
        ``key`` is deleted again (``_drop``) before the error propagates (also when the call
        is cancelled or interrupted)."""
        self._sweep(timeout)
        try:
            return self.client.txn(*txn, timeout=timeout)
        except BaseException as error:
            if may_have_applied(error):
                self._drop(key)
            raise

    def _drop(self, key: bytes, timeout: float | None = CLEANUP_TIMEOUT) -> None:
        """Delete ``key``, a key of this session that no object holds any more (KV.DeleteRange
        within ``timeout``); if that fails, the next ``_sweep`` deletes it. A delete of our
        own session-unique key is safe to repeat."""
        self._stray.add(key)
        try:
            if key not in self._sweep(timeout):
                # Nothing deleted: a write of the key with an unknown outcome may still come,
                # as a server runs the requests it reads together in any order (seen after a
                # freeze). A second delete, sent once the first was answered, comes after it.
                self._stray.add(key)
                self._sweep(timeout)
        except EtcdError as error:
            log.warning(
                "could not delete %r, a key of lease %#x nobody holds (%s): it is deleted "
                "before the session queues a key again, or with its lease", key,
                self._lease_id, error,
            )

    def _sweep(self, timeout: float | None) -> set[bytes]:
        """Delete the keys ``_drop`` could not delete yet, in one KV.Txn: those it found."""
        if not self._stray:
            return set()
        # Held across the call, so that no caller of this session queues a key while the
        # delete of an earlier copy of it is still on its way (it could delete the new one).
        with self._sweeping:
            keys = sorted(self._stray)
            if not keys:
                return set()
            response = self.client.txn(success=sweep_ops(keys), timeout=timeout)
            self._stray.difference_update(keys)
        return swept(keys, response)

    def check(self) -> None:
        """Raise ``SessionExpiredError`` if the lease was lost; return otherwise."""
        if self.lost is not None:
            raise SessionExpiredError(
                f"mutex: session is expired (lease {self._lease_id:#x}: {self.lost})"
            ) from self.lost

    def orphan(self) -> None:
        """Stop keeping the lease alive, without revoking it: the session's keys live on
        until the lease's TTL passes (Go's ``Session.Orphan``)."""
        with self._lock:
            self._ended = True
            keep, self._keep = self._keep, None
            watcher, self._watcher = self._watcher, None
        if keep is not None:
            keep.stop()
        if watcher is not None:
            watcher.join()
        self.done.set()

    def close(self) -> None:
        """Orphan the session and revoke its lease (Lease.LeaseRevoke, waiting at most the
        TTL), which deletes every key of the session: locks are released, candidates
        withdrawn. Safe to call twice."""
        started = self._keep is not None
        self.orphan()
        if started:
            try:
                self.client.lease_revoke(self._lease_id, timeout=self.ttl)
            except LeaseNotFoundError:
                pass  # expired already: its keys are gone, as asked

    def __enter__(self) -> Session:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _watch_session(
    session: weakref.ref[Session], keep: LeaseKeepAlive, done: Event
) -> None:
    """The worker of a session: wait until its lease is no longer kept alive, note why in
    ``lost`` and set ``done``. It holds the session weakly, so a session (and its client)
    dropped without ``close()`` is collected; the client's finalizer then stops the
    keep-alive, which ends this wait."""
    try:
        keep.wait()
    except LeaseExpiredError as error:
        alive = session()
        if alive is not None:
            alive.lost = error
        log.warning("session lease %#x lost: %s", keep.id, error)
    finally:
        done.set()


def _wait_for(
    client: KVClient,
    key: bytes,
    revision: int,
    deadline: float | None,
    happened: Callable[[WatchResponse], bool],
    *,
    prefix: bool = False,
) -> bool:
    """Watch ``key`` (or the prefix) from ``revision`` until a response satisfies
    ``happened``: True; False if ``deadline`` passed first, also while the stream cannot
    create the watch. The watch's own worker only sets an event, so the wait honours the
    deadline (and Ctrl-C, and cancellation)."""
    seen = Event()
    failures: list[EtcdError] = []

    def on_response(item: WatchResponse | EtcdError) -> None:
        if isinstance(item, EtcdError):
            failures.append(item)
            seen.set()
        elif happened(item):
            seen.set()

    try:
        handle = client.add_watch_callback(
            key, on_response, prefix=prefix, start_revision=revision, timeout=_left(deadline)
        )
    except DeadlineExceededError:
        if _left(deadline) == 0.0:
            return False
        raise
    try:
        done = seen.wait(_left(deadline))
    finally:
        handle.cancel()
    if failures:
        raise failures[0]
    return done


def _wait_delete(
    client: KVClient, key: bytes, revision: int, deadline: float | None
) -> bool:
    """Wait until ``key`` is deleted, watching from ``revision``; False if ``deadline``
    passed first."""
    return _wait_for(client, key, revision, deadline, was_deleted)


def _wait_deletes(
    client: KVClient, prefix: bytes, rev: int, deadline: float | None
) -> bool:
    """Wait until no key under ``prefix`` older than ``rev`` is left (Go's waitDeletes):
    each round waits for the newest such key only. False if ``deadline`` passed first."""
    while True:
        left = _left(deadline)
        if left == 0.0:
            return False
        response = client.get(prefix, timeout=left, **last_created_below(rev))
        if not response.kvs:
            return True
        if not _wait_delete(client, response.kvs[0].key, response.header.revision, deadline):
            return False


def _delete_owned(
    session: Session, key: bytes, rev: int, timeout: float | None
) -> TxnResponse:
    """Delete ``key`` if it is still the one created at ``rev`` (KV.Txn); if the outcome is
    unknown, the session deletes it (``_drop``) before the error propagates."""
    try:
        return session.client.txn(*delete_owned_txn(key, rev), timeout=timeout)
    except BaseException as error:
        if may_have_applied(error):
            session._drop(key)
        raise


class Mutex:
    """A distributed lock, interoperable with Go's ``concurrency.Mutex`` and ``etcdctl lock``.

    ``Mutex(session, prefix)``: to lock, the session puts its key ``prefix/<lease in
    hex>`` (on the session's lease) and holds the lock once that key is the oldest under
    ``prefix/``; meanwhile it waits for the delete of the key queued just before its own, so
    waiters are served first come, first served. One object per task or thread; sessions may
    be shared, but a session holds at most one place in a given lock.

    ``with mutex:`` acquires and releases. If the session's lease is lost while the
    lock is held, the lock is lost too: ``release()`` (and the end of ``with``) then
    raises ``SessionExpiredError``, and ``is_owner()`` turns False.
    """

    def __init__(self, session: Session, prefix: bytes | str) -> None:
        check_client(session.client, Mutex)
        self.session = session
        #: The lock's key prefix, ``prefix + "/"``.
        self.prefix = lock_prefix(prefix)
        self._key: bytes | None = None
        self._rev = 0
        #: The header of the answer that made this mutex the owner.
        self.header: ResponseHeader | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.prefix!r}, key={self._key!r})"

    @property
    def key(self) -> bytes | None:
        """This session's key in the lock while waiting or holding; None otherwise."""
        return self._key

    @property
    def rev(self) -> int:
        """The create revision of our key while waiting or holding (0 otherwise): a fencing
        token, greater for each later holder (docs/concurrency.md)."""
        return self._rev

    @property
    def client(self) -> KVClient:
        return self.session.client

    def _enqueue(self, deadline: float | None) -> bool:
        """Queue this session (one Txn); True if it holds the lock at once."""
        self.session.start(timeout=_left(deadline))
        self.session.check()
        lease = self.session.lease_id
        key = waiter_key(self.prefix, lease)
        txn = acquire_txn(self.prefix, key, lease)
        response = self.session._create_key(key, txn, _left(deadline))
        acquired = parse_acquire(response)
        self._key, self._rev = key, acquired.rev
        if acquired.held:
            self.header = acquired.header
        return acquired.held

    def try_lock(self, *, timeout: float | None = None) -> bool:
        """Take the lock if nobody holds it (KV.Txn, then KV.DeleteRange of our key when
        someone does): True if it is ours now, False if it is held elsewhere. If the Txn's
        outcome is unknown (``OutcomeUnknownError``), our key is deleted before it raises."""
        if self._enqueue(_deadline(timeout)):
            return True
        self._abandon(timeout)
        return False

    def acquire(self, timeout: float | None = None) -> bool:
        """Wait until the lock is ours: True; False if ``timeout`` seconds passed first.

        One Txn queues this session; then it watches (Watch) only the key queued just before
        its own until that is deleted, and reads its own key (KV.Range, linearizable) to
        make sure the session still has it (else ``SessionExpiredError``). A waiter that
        times out, is cancelled or interrupted (Ctrl-C) deletes its key before returning or
        raising, so the queue moves on; so does one whose queueing Txn had an unknown
        outcome (the ``OutcomeUnknownError`` propagates, but a deadline that passed returns
        False). A key whose delete fails is deleted before the session next queues one.
        """
        deadline = _deadline(timeout)
        try:
            if self._enqueue(deadline):
                return True
        except DeadlineExceededError:
            if _left(deadline) == 0.0:
                return False
            raise
        cleanup = _cleanup_timeout(deadline)
        key, rev = self._key, self._rev
        assert key is not None
        try:
            if _wait_deletes(self.client, self.prefix, rev, deadline):
                response = self.client.get(key, timeout=_left(deadline))
                if not response.kvs or response.kvs[0].create_revision != rev:
                    self._key, self._rev = None, 0
                    self.session.check()
                    raise SessionExpiredError(
                        f"mutex: session is expired (our lock key {key!r} vanished while "
                        "waiting)", key=key,
                    )
                self.header = response.header
                return True
        except BaseException as error:
            timed_out = isinstance(error, DeadlineExceededError) and _left(deadline) == 0.0
            if not timed_out:  # else a read ran out of time before the deadline: False
                if self._key is not None:
                    self._abandon(cleanup)
                raise
        self._abandon(cleanup)
        return False

    def lock(self, timeout: float | None = None) -> None:
        """``acquire()``, raising ``DeadlineExceededError`` when ``timeout`` passes first
        (Go's ``Lock`` with a deadline)."""
        if not self.acquire(timeout):
            raise DeadlineExceededError(f"lock {self.prefix!r} not acquired within {timeout}s")

    def _abandon(self, timeout: float | None) -> None:
        """Leave the queue: delete our key (if that fails, the session deletes it later)."""
        key, self._key, self._rev = self._key, None, 0
        if key is not None:
            self.session._drop(key, timeout)

    def owner_compare(self) -> Compare:
        """A ``Compare`` that holds only while this mutex owns the lock, to guard a
        transaction (Go's ``Mutex.IsOwner``)."""
        if self._key is None:
            raise LockReleasedError(f"mutex {self.prefix!r}: the lock is not held")
        return is_owner(self._key, self._rev)

    def is_owner(self, *, timeout: float | None = None) -> bool:
        """Whether this mutex owns the lock now (KV.Range of its key, linearizable)."""
        if self._key is None:
            return False
        response = self.client.get(self._key, timeout=timeout)
        return bool(response.kvs) and response.kvs[0].create_revision == self._rev

    def release(self, *, timeout: float | None = None) -> None:
        """Release the lock (KV.Txn deleting our key if it is still the one we queued).

        ``LockReleasedError`` if this mutex does not hold or wait for the lock;
        ``SessionExpiredError`` if the key was already gone (the lease expired while the
        lock was held: someone else may have held it meanwhile). If the Txn's outcome is
        unknown, the key is deleted again before the ``OutcomeUnknownError`` propagates.
        """
        key, rev = self._key, self._rev
        if key is None:
            raise LockReleasedError(f"mutex: lock has already been released ({self.prefix!r})")
        self._key, self._rev = None, 0
        response = _delete_owned(self.session, key, rev, timeout)
        if not response.succeeded:
            raise SessionExpiredError(
                f"mutex: session is expired: lock key {key!r} was gone before its release "
                f"(lease {self.session.lease_id:#x} lost while the lock was held)", key=key,
            )

    def unlock(self, *, timeout: float | None = None) -> None:
        """The same as ``release()`` (Go's name)."""
        self.release(timeout=timeout)

    def __enter__(self) -> Mutex:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class Election:
    """A leader election, interoperable with Go's ``concurrency.Election`` and ``etcdctl
    elect``.

    ``Election(session, prefix)``: each candidate puts its value under ``prefix/<lease
    in hex>``; the oldest key's owner is the leader, the others wait in line as for
    ``Mutex``. ``key`` and ``rev`` are our key and its create revision while campaigning
    or leading.
    """

    def __init__(self, session: Session, prefix: bytes | str) -> None:
        check_client(session.client, Election)
        self.session = session
        #: The election's key prefix, ``prefix + "/"``.
        self.prefix = lock_prefix(prefix)
        self._key: bytes | None = None
        self._rev = 0
        #: The header of the last successful campaign, proclaim or resign.
        self.header: ResponseHeader | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.prefix!r}, key={self._key!r})"

    @classmethod
    def resume(
        cls, session: Session, prefix: bytes | str, key: bytes | str, rev: int
    ) -> Election:
        """An election already led by ``key`` (created at ``rev``) with ``session``'s lease,
        e.g. after a restart with ``Session(client, lease=...)`` (Go's
        ``ResumeElection``, but ``prefix`` gets its "/" as in the constructor)."""
        election = cls(session, prefix)
        election._key, election._rev = to_bytes(key), rev
        return election

    @property
    def key(self) -> bytes | None:
        """Our key while campaigning or leading; None otherwise."""
        return self._key

    @property
    def rev(self) -> int:
        """The create revision of our key (0 when not campaigning)."""
        return self._rev

    @property
    def client(self) -> KVClient:
        return self.session.client

    def campaign(self, value: bytes | str, timeout: float | None = None) -> None:
        """Stand for election with ``value`` and wait until elected.

        One Txn queues our key (or finds it, and proclaims ``value`` if it holds another);
        then, as ``Mutex.acquire``, it waits for the deletes of the older candidates'
        keys. When ``timeout`` passes first, the campaign resigns and raises
        ``DeadlineExceededError``; a cancelled or interrupted campaign resigns too.
        ``SessionExpiredError`` if our key vanished (the lease was lost) while waiting.
        """
        deadline = _deadline(timeout)
        self.session.start(timeout=timeout)
        self.session.check()
        lease = self.session.lease_id
        key = waiter_key(self.prefix, lease)
        txn = campaign_txn(key, value, lease)
        response = self.session._create_key(key, txn, _left(deadline))
        cleanup = _cleanup_timeout(deadline)
        self._key, (self._rev, differs) = key, parse_campaign(response, value)
        try:
            if differs:
                self.proclaim(value, timeout=_left(deadline))
            elected = _wait_deletes(self.client, self.prefix, self._rev, deadline)
            if elected:
                mine = self.client.get(key, timeout=_left(deadline))
                if not mine.kvs or mine.kvs[0].create_revision != self._rev:
                    self._key, self._rev = None, 0
                    self.session.check()
                    raise SessionExpiredError(
                        f"election {self.prefix!r}: our key {key!r} vanished while waiting",
                        key=key,
                    )
        except BaseException:
            self._withdraw(cleanup)
            raise
        if not elected:
            self._withdraw(cleanup)
            raise DeadlineExceededError(
                f"campaign in {self.prefix!r} not elected within {timeout}s"
            )
        self.header = response.header

    def _withdraw(self, timeout: float | None) -> None:
        key, self._key, self._rev = self._key, None, 0
        if key is not None:
            self.session._drop(key, timeout)

    def proclaim(self, value: bytes | str, *, timeout: float | None = None) -> None:
        """Publish a new value as the leader, without a new election (KV.Txn writing our
        key only while it is still the one of our campaign). ``ElectionNotLeaderError`` if
        we are not campaigning or our key is gone."""
        if self._key is None:
            raise ElectionNotLeaderError(f"election: not leader (of {self.prefix!r})")
        lease = self.session.lease_id
        response = self.client.txn(
            *proclaim_txn(self._key, self._rev, value, lease), timeout=timeout
        )
        if not response.succeeded:
            key, self._key = self._key, None
            raise ElectionNotLeaderError(
                f"election: not leader (our key {key!r} in {self.prefix!r} is gone)"
            )
        self.header = response.header

    def resign(self, *, timeout: float | None = None) -> None:
        """Give up leadership or candidacy (KV.Txn deleting our key if it is still ours),
        so the next candidate is elected; a no-op when not campaigning. If the Txn's outcome
        is unknown, the key is deleted again before the ``OutcomeUnknownError`` propagates."""
        if self._key is None:
            return
        key, rev, self._key, self._rev = self._key, self._rev, None, 0
        response = _delete_owned(self.session, key, rev, timeout)
        self.header = response.header

    def leader(self, *, timeout: float | None = None) -> GetResponse:
        """The current leader: a ``GetResponse`` whose one key is the leader's key and value
        (KV.Range of the oldest key under the prefix, linearizable).
        ``ElectionNoLeaderError`` when nobody campaigns."""
        response = self.client.get(self.prefix, timeout=timeout, **first_created())
        return leader_of(self.prefix, response)

    def observe(self) -> ElectionObserver:
        """Iterate the leader and its changes (Go's ``Observe``): the current leader first
        (waiting for one if there is none), then every value it proclaims, then the next
        leader once it is gone, and so on. Each item is a one-key ``GetResponse``. Use it as
        a context manager, or call ``cancel()``, to stop its watch."""
        return ElectionObserver(self.client, self.prefix)


class ElectionObserver:
    """The iterator of ``Election.observe()``: leaders and their values, in order."""

    def __init__(self, client: KVClient, prefix: bytes) -> None:
        self._client = client
        self._prefix = prefix
        self._watcher: WatchIterator | None = None
        #: Whether the watcher waits for a first candidate (else it follows a leader key).
        self._awaiting_leader = False
        self._pending: list[GetResponse] = []
        self._done = False

    def _follow(self, key: bytes, revision: int) -> None:
        self._watcher = self._client.watch(key, start_revision=revision)
        self._awaiting_leader = False

    def _drop_watcher(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()

    def __next__(self) -> GetResponse:
        while True:
            if self._pending:
                return self._pending.pop(0)
            if self._done:
                raise StopIteration
            if self._watcher is None:
                found = self._client.get(self._prefix, **first_created())
                if found.kvs:
                    self._follow(found.kvs[0].key, found.header.revision + 1)
                    return GetResponse(found.header, [found.kvs[0]], 1, False)
                self._watcher = self._client.watch(
                    self._prefix, prefix=True, start_revision=found.header.revision
                )
                self._awaiting_leader = True
                continue
            try:
                response = self._watcher.__next__()
            except StopIteration:
                self._done = True
                raise
            if self._awaiting_leader:
                leader = first_put(response)
                if leader is not None:
                    self._drop_watcher()
                    self._follow(leader.kvs[0].key, leader.header.revision + 1)
                    return leader
            else:
                updates, deleted = leader_updates(response)
                self._pending.extend(updates)
                if deleted:
                    self._drop_watcher()

    def __iter__(self) -> ElectionObserver:
        return self

    def cancel(self) -> None:
        """Stop observing: the watch is cancelled and iteration ends."""
        self._done = True
        self._pending.clear()
        self._drop_watcher()

    def __enter__(self) -> ElectionObserver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cancel()


class STM:
    """What the function given to ``stm()`` works with: reads through ``get`` / ``rev``
    (recorded in the read set), writes through ``put`` / ``delete`` (buffered until the
    commit). Values are bytes; a missing key reads as None."""

    def __init__(self, client: KV, state: STMState) -> None:
        self._client = client
        self._state = state

    def get(self, *keys: bytes | str) -> bytes | None:
        """The value of the first of ``keys`` (None if missing), reading all of them in one
        KV.Txn of Ranges. In the serializable levels the attempt's first read is
        linearizable and later ones are serializable at its revision; in the other levels
        reads are serializable. A key written earlier in this attempt reads as written."""
        if not keys:
            return None
        wanted = [to_bytes(key) for key in keys]
        buffered = self._state.buffered(wanted)
        if buffered is not None:
            return buffered.value
        self._fetch(self._state.missing(wanted))
        return self._state.value(wanted[0])

    def rev(self, key: bytes | str) -> int:
        """The mod revision of ``key`` as this transaction read it (0 if missing)."""
        wanted = to_bytes(key)
        self._fetch(self._state.missing([wanted]))
        return self._state.mod_revision(wanted)

    def _fetch(self, keys: list[bytes]) -> None:
        """Read ``keys`` into the read set in one KV.Txn (again linearizable if this member
        has not reached the read revision yet)."""
        if not keys:
            return
        try:
            response = self._client.txn(success=self._state.read_ops(keys))
        except FutureRevisionError:
            response = self._client.txn(
                success=self._state.read_ops(keys, serializable=False)
            )
        self._state.record(keys, response)

    def put(self, key: bytes | str, value: bytes | str, *, lease: LeaseLike = None) -> None:
        """Buffer a write of ``key`` (sent by the commit)."""
        self._state.put(to_bytes(key), to_bytes(value, "value"), lease_id(lease))

    def delete(self, key: bytes | str) -> None:
        """Buffer a delete of ``key`` (sent by the commit)."""
        self._state.delete(to_bytes(key))


def run_stm(
    client: KV,
    fn: STMBody[STM],
    *,
    isolation: Isolation = "serializable_snapshot",
    prefetch: Sequence[bytes | str] = (),
    retries: int | None = None,
) -> TxnResponse:
    """Run ``fn(stm)`` and commit its writes in one KV.Txn, again until no conflict (see
    ``STMService.stm``)."""
    state = STMState(isolation)
    if retries is not None:
        check_count(retries, "retries")
    stm = STM(client, state)
    attempts = 0
    while True:
        state.reset()
        if prefetch:
            stm.get(*prefetch)
        fn(stm)
        response: TxnResponse = client.txn(*state.commit_txn())
        if state.committed(response):
            return response
        attempts += 1
        if retries is not None and attempts > retries:
            raise ConflictError(
                f"stm: keys it read changed under each of {attempts} attempts "
                f"({isolation} isolation)"
            )
