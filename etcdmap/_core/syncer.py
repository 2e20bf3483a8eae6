"""Sans-IO parts of the mirror Syncer and of ``PrefixCopy``: paging, key mapping, batching
watch events into destination transactions, the resume state and progress reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec

from .bulk import DEFAULT_LIMITS, MAX_TXN_OPS, TxnLimits, fitting_size, plan_txns
from .errors import (
    EtcdError,
    LeaderChangedError,
    NoLeaderError,
    NotLeaderError,
    OutcomeUnknownError,
    PartialWriteError,
    RequestTimeoutError,
    StoppedError,
    TooManyRequestsError,
    TransportError,
    UnhealthyError,
    partial_write_error,
)
from .keys import to_bytes
from .kv import Op
from .watch import Event, EventType

__all__ = [
    "BASE_PAGE_SIZE",
    "MAX_TXN_OPS",
    "TRANSIENT_ERRORS",
    "CopyBatch",
    "CopyPass",
    "CopyPhase",
    "CopyProgress",
    "CopyState",
    "KeyMap",
    "plan_batches",
]

#: Keys per Range page in ``sync_base`` (Go's mirror package uses 1000 as well).
BASE_PAGE_SIZE = 1000

#: Errors after which copying waits and tries again: the other side is restarting, has no
#: leader or is overloaded. Anything else (permissions, bad arguments) ends the copy.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    TransportError,
    NoLeaderError,
    NotLeaderError,
    LeaderChangedError,
    StoppedError,
    RequestTimeoutError,
    UnhealthyError,
    TooManyRequestsError,
)


class KeyMap:
    """Maps a source key under ``prefix`` to the destination key under ``dest_prefix``."""

    __slots__ = ("dest_prefix", "prefix")

    def __init__(self, prefix: bytes | str, dest_prefix: bytes | str | None = None) -> None:
        self.prefix = to_bytes(prefix, "prefix")
        self.dest_prefix = self.prefix if dest_prefix is None else to_bytes(
            dest_prefix, "dest_prefix"
        )

    def __call__(self, key: bytes) -> bytes:
        if self.prefix == self.dest_prefix:
            return key
        if not key.startswith(self.prefix):
            raise ValueError(f"key {key!r} is not under the copied prefix {self.prefix!r}")
        return self.dest_prefix + key[len(self.prefix):]

    def back(self, dest_key: bytes) -> bytes:
        """The source key of a destination key."""
        return self.prefix + dest_key[len(self.dest_prefix):]


class CopyBatch(msgspec.Struct, frozen=True):
    """Ops for one destination transaction; once applied, the destination holds every change
    of the source up to and including ``revision``."""

    ops: list[Op]
    revision: int
    events: int


def plan_batches(
    events: Sequence[Event], keys: KeyMap, limits: TxnLimits = DEFAULT_LIMITS
) -> list[CopyBatch]:
    """Turn watch events (in revision order) into destination transactions.

    A batch never names a key twice (etcd refuses that in one Txn), holds at most
    ``limits.max_txn_ops`` ops and ``limits.max_txn_bytes`` bytes, and applies events in
    order, so applying the batches one after the other leaves the destination as the source
    was. A batch's ``revision`` is the last source revision it completes: if a revision is
    split over two batches, the first one reports the revision before it (replaying from
    there is harmless: puts and deletes are idempotent). A put too large for any Txn raises
    ``RequestTooLargeError`` naming its key.
    """
    batches: list[CopyBatch] = []
    ops: list[Op] = []
    seen: set[bytes] = set()
    used = 0  # bytes of ``ops``
    done = 0  # the last revision whose events are all in closed batches or in ``ops``

    def close(revision: int) -> None:
        batches.append(CopyBatch(ops=list(ops), revision=revision, events=len(ops)))
        ops.clear()
        seen.clear()

    for index, event in enumerate(events):
        key = keys(event.kv.key)
        revision = event.kv.mod_revision
        op = Op.put(key, event.kv.value) if event.type is EventType.PUT else Op.delete(key)
        size = fitting_size(op, limits)
        if ops and (
            key in seen or len(ops) >= limits.max_txn_ops or used + size > limits.max_txn_bytes
        ):
            close(done)
            used = 0
        ops.append(op)
        used += size
        seen.add(key)
        following = events[index + 1].kv.mod_revision if index + 1 < len(events) else None
        if following != revision:
            done = revision
    if ops:
        close(done)
    return batches


class CopyPass:
    """The destination Txns of one pass of a copy: the base copy (its pages, then the
    deletes of stale keys) or the batches of one watch response. Txns are planned (``add``,
    ``add_events``) before the first of them is sent; ``next()`` is the one to send,
    ``attempt_failed`` notes an attempt that raised, ``done()`` its acknowledgement; ``error``
    says which destination keys the pass wrote (put or deleted), which not, which unknown.
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self._written: dict[bytes, None] = {}
        #: Txns planned and not acknowledged, the first one in flight.
        self._pending: list[list[Op]] = []
        #: An ``OutcomeUnknownError`` of an attempt of the Txn in flight: it may be applied.
        self._unknown: EtcdError | None = None

    def add(self, ops: Sequence[Op], limits: TxnLimits) -> None:
        """Plan ``ops`` into Txns after those pending; an op too large for any Txn raises
        ``RequestTooLargeError`` and counts ``ops`` as not written."""
        try:
            batches = plan_txns(ops, limits)
        except EtcdError:
            self._pending.append(list(ops))
            raise
        self._pending.extend([ops[i] for i in batch] for batch in batches)

    def add_events(
        self, events: Sequence[Event], keys: KeyMap, limits: TxnLimits
    ) -> list[CopyBatch]:
        """``plan_batches`` of ``events``, pending here in order."""
        try:
            batches = plan_batches(events, keys, limits)
        except EtcdError:
            self._pending.append([Op.delete(keys(event.kv.key)) for event in events])
            raise
        self._pending.extend(batch.ops for batch in batches)
        return batches

    def next(self) -> list[Op] | None:
        """The ops of the Txn to send, None when every one is acknowledged."""
        return self._pending[0] if self._pending else None

    def attempt_failed(self, error: EtcdError) -> None:
        """An attempt of the Txn in flight raised ``error`` (it will be tried again)."""
        if isinstance(error, OutcomeUnknownError) and self._unknown is None:
            self._unknown = error

    def done(self) -> None:
        """The Txn in flight was acknowledged."""
        ops = self._pending.pop(0)
        self._written.update(dict.fromkeys(op.request.key for op in ops))
        self._unknown = None

    def error(self, cause: EtcdError, complete_revision: int) -> PartialWriteError:
        """The ``PartialWriteError`` of the copy stopped by ``cause``; the destination holds
        every change of the source up to ``complete_revision``. The Txn in flight is unknown
        if an attempt of it (the last or an earlier one) had an unknown outcome."""
        names = [[op.request.key for op in ops] for ops in self._pending]
        in_flight, later = (names[0], names[1:]) if names else ([], [])
        if isinstance(cause, OutcomeUnknownError) and in_flight:
            self._unknown = cause
        unknown: list[bytes] = []
        if self._unknown is not None:
            unknown, cause = in_flight, self._unknown
        else:
            later.insert(0, in_flight)
        not_written = [key for keys in later for key in keys]
        return partial_write_error(
            cause, self.what, list(self._written), not_written, unknown, complete_revision
        )


CopyPhase = Literal["base", "updates"]


class CopyProgress(msgspec.Struct, frozen=True):
    """A progress report of a ``PrefixCopy``.

    Attributes
    ----------
    phase:
        ``"base"`` while the prefix is copied page by page, ``"updates"`` while changes are
        followed.
    revision:
        The source revision the destination holds (every change up to it is applied).
    keys_copied:
        Keys written by the current full copy (the base phase, or a relist after compaction).
    events_applied:
        Watch events applied since the copy started.
    relists:
        How often the whole prefix was copied again (the source history was compacted past
        the resume revision).
    failures:
        Failed attempts in a row while a side is unreachable (0 while copying works); the
        copy tries again until ``retry_timeout`` has passed since the first, then ends.
    last_error:
        The error of the latest failed attempt (``ErrorClass: message``), None once an
        attempt works again.
    """

    phase: CopyPhase
    revision: int
    keys_copied: int
    events_applied: int
    relists: int
    failures: int = 0
    last_error: str | None = None


class CopyState(msgspec.Struct, frozen=True):
    """What a ``PrefixCopy`` persists to resume: which copy, and how far it got."""

    prefix: bytes
    dest_prefix: bytes
    cluster_id: int
    revision: int

    def encode(self) -> bytes:
        return msgspec.json.encode(self)

    @classmethod
    def decode(cls, data: bytes, keys: KeyMap) -> CopyState | None:
        """The stored state if it is readable and belongs to the same copy, else None."""
        try:
            state = msgspec.json.decode(data, type=cls)
        except msgspec.DecodeError:
            return None
        if (state.prefix, state.dest_prefix) != (keys.prefix, keys.dest_prefix):
            return None
        return state
