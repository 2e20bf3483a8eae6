"""Key layouts and decisions of Go's etcd recipes (``client/v3/experimental/recipes``), no I/O.

Each recipe keeps its state in keys under one name, laid out as Go's do so that our
participants and Go's can share a lock, barrier or queue:

- ``RWMutex(name)``: readers queue under ``name/read/``, writers under ``name/write/``, each
  with a unique key on the session's lease. A reader waits for the deletes of the writers
  created before it; a writer for the deletes of every key (reader or writer) created before
  it. Each waits only for the newest such key at a time, so a release wakes one waiter.
- ``Barrier(key)``: held while ``key`` exists; waiters wait for its delete.
- ``DoubleBarrier(key, count)``: participants put unique keys under ``key/waiters/`` (session
  lease); the ``count``-th to arrive puts ``key/ready``, which releases the others from
  ``enter``. ``leave`` is the two-phase protocol of ``leave_step``.
- ``Queue(name)``: items are unique keys under ``name/``; the oldest by create revision is
  next, and a consumer takes it with a transaction that deletes it only if it is unchanged,
  so no two consumers take the same item.

Unique keys are ``<dir><nanoseconds>`` created only if absent (Go's ``newUniqueKV``), so two
participants never share one even on the same clock tick.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec

from .keys import to_bytes
from .kv import Compare, Op
from .results import GetResponse, KeyValue, TxnResponse
from .watch import EventType, WatchResponse

__all__ = [
    "DoubleBarrierKeys",
    "EnterDecision",
    "LeaveStep",
    "RWMutexKeys",
    "claim_txn",
    "create_txn",
    "created_revision",
    "enter_decision",
    "holds",
    "leave_step",
    "unique_key",
    "was_put",
]

#: What ``DoubleBarrier.enter`` does after queueing: wait for ``ready``, open the barrier (we
#: are the ``count``-th), or back out (``count`` others were first).
EnterDecision = Literal["wait", "open", "too_many"]


def unique_key(directory: bytes, stamp: int) -> bytes:
    """A participant's key: ``directory`` (ending in "/") and ``stamp`` in decimal (a
    nanosecond clock reading, as Go's ``newUniqueKV``)."""
    if not directory.endswith(b"/"):
        raise ValueError(f"a recipe key directory ends with '/', got {directory!r}")
    return directory + b"%d" % stamp


def create_txn(
    key: bytes, value: bytes | str, lease: int
) -> tuple[list[Compare], list[Op], list[Op]]:
    """Create ``key`` with ``value`` (on ``lease`` unless 0) only if it does not exist."""
    return (
        [Compare.create_revision(key, "==", 0)],
        [Op.put(key, value, lease=lease or None)],
        [],
    )


def created_revision(response: TxnResponse) -> int:
    """The create revision of the key ``create_txn`` made; 0 if the key existed already."""
    return response.header.revision if response.succeeded else 0


def holds(response: GetResponse, rev: int) -> bool:
    """Whether a read of our key shows it is still the one created at ``rev`` (else the
    session's lease, and the place it held, were lost)."""
    return bool(response.kvs) and response.kvs[0].create_revision == rev


def was_put(response: WatchResponse) -> bool:
    """Whether a watch response reports a PUT (a key created or changed)."""
    return any(event.type is EventType.PUT for event in response.events)


class RWMutexKeys:
    """The key layout of a readers-writer lock called ``name`` (Go's ``NewRWMutex``)."""

    __slots__ = ("read", "root", "write")

    def __init__(self, name: bytes | str) -> None:
        #: Every key of the lock is under ``name/``.
        self.root = to_bytes(name, "name") + b"/"
        #: Where readers queue.
        self.read = self.root + b"read/"
        #: Where writers queue.
        self.write = self.root + b"write/"

    def __repr__(self) -> str:
        return f"RWMutexKeys({self.root!r})"

    def queue(self, write: bool) -> bytes:
        """The directory a reader's (``write=False``) or a writer's key goes to."""
        return self.write if write else self.read

    def blockers(self, write: bool) -> bytes:
        """The prefix whose older keys a waiter must see deleted: a reader waits only for
        writers, a writer for everybody."""
        return self.root if write else self.write


class DoubleBarrierKeys:
    """The key layout of a double barrier at ``key`` (Go's ``NewDoubleBarrier``)."""

    __slots__ = ("ready", "waiters")

    def __init__(self, key: bytes | str) -> None:
        base = to_bytes(key, "key")
        #: Where each participant's key goes.
        self.waiters = base + b"/waiters/"
        #: Put by the ``count``-th participant to release ``enter``.
        self.ready = base + b"/ready"

    def __repr__(self) -> str:
        return f"DoubleBarrierKeys({self.waiters!r})"


def enter_decision(entered: Sequence[KeyValue], rev: int, count: int) -> EnterDecision:
    """What to do after queueing at ``rev``, given the oldest ``count`` participants' keys in
    create order: only the first ``count`` enter; the ``count``-th opens the barrier."""
    if count < 1:
        raise ValueError(f"a double barrier's count must be positive, got {count}")
    if len(entered) < count:
        return "wait"
    last = entered[count - 1].create_revision
    if rev > last:
        return "too_many"
    return "open" if rev == last else "wait"


class LeaveStep(msgspec.Struct, frozen=True):
    """One round of ``DoubleBarrier.leave``: delete ``deletes`` (one transaction), then, if
    ``wait_for`` is set, wait for that key's delete and look again; else leaving is done."""

    deletes: tuple[bytes, ...] = ()
    wait_for: bytes | None = None


def leave_step(waiting: Sequence[KeyValue], mine: bytes, ready: bytes) -> LeaveStep:
    """The next round of leaving, from the participants' keys still under ``waiters/``.

    As Go's ``Leave``: the oldest participant stays until the others are gone, waiting for
    the newest one's delete each round; every other participant deletes its own key and
    waits for the oldest one's delete. The last one left deletes its key and ``ready``, so
    the barrier can be used again. If a participant fails, its lease removes its key and the
    others carry on.
    """
    if not waiting:
        return LeaveStep()
    ordered = sorted(waiting, key=lambda kv: kv.create_revision)
    lowest, highest = ordered[0], ordered[-1]
    if lowest.key == mine:
        if len(ordered) == 1:
            return LeaveStep(deletes=(ready, mine))
        return LeaveStep(wait_for=highest.key)
    present = any(kv.key == mine for kv in ordered)
    return LeaveStep(deletes=(mine,) if present else (), wait_for=lowest.key)


def claim_txn(item: KeyValue) -> tuple[list[Compare], list[Op], list[Op]]:
    """Take a queue item: delete it only if it is unchanged since it was read, so of two
    consumers that read the same item exactly one gets it."""
    return [Compare.mod_revision(item.key, "==", item.mod_revision)], [Op.delete(item.key)], []
