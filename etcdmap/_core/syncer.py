"""Sans-IO parts of the mirror Syncer and of ``copy_prefix``: paging, key mapping, batching
watch events into destination transactions, the resume state and progress reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec

from .bulk import DEFAULT_LIMITS, MAX_TXN_OPS, TxnLimits, fitting_size
from .errors import (
    LeaderChangedError,
    NoLeaderError,
    NotLeaderError,
    RequestTimeoutError,
    StoppedError,
    TooManyRequestsError,
    TransportError,
    UnhealthyError,
)
from .keys import to_bytes
from .kv import Op
from .watch import Event, EventType

__all__ = [
    "BASE_PAGE_SIZE",
    "MAX_TXN_OPS",
    "TRANSIENT_ERRORS",
    "CopyBatch",
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


CopyPhase = Literal["base", "updates"]


class CopyProgress(msgspec.Struct, frozen=True):
    """A progress report of ``copy_prefix``.

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
    """

    phase: CopyPhase
    revision: int
    keys_copied: int
    events_applied: int
    relists: int


class CopyState(msgspec.Struct, frozen=True):
    """What ``copy_prefix`` persists to resume: which copy, and how far it got."""

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
