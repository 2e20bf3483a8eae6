"""Bulk writes as transactions etcd accepts: ops planned into Txns under the server's limits
(``--max-txn-ops``, ``--max-request-bytes``) before anything is sent, and, when one fails
midway, exactly which keys were written, which were not and which are unknown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from .errors import (
    EtcdError,
    OutcomeUnknownError,
    PartialWriteError,
    RequestTooLargeError,
    TooManyOpsError,
    partial_write_error,
)
from .kv import Compare, Op, compare_size

__all__ = [
    "DEFAULT_LIMITS",
    "MAX_REQUEST_BYTES",
    "MAX_TXN_OPS",
    "REQUEST_OVERHEAD",
    "BulkWrite",
    "TxnLimits",
    "fitting_size",
    "op_size",
    "plan_txns",
]

#: etcd's default ``--max-txn-ops``: ops per list (success, failure, compare) of one Txn.
MAX_TXN_OPS = 128
#: etcd's default ``--max-request-bytes`` (1.5 MiB): the largest request it proposes.
MAX_REQUEST_BYTES = 1536 * 1024
#: Bytes of a proposed request around its TxnRequest: etcd's raft header (request id, user
#: name, auth revision) and field tags, kept free in every planned Txn.
REQUEST_OVERHEAD = 512


class TxnLimits(msgspec.Struct, frozen=True):
    """The server limits bulk writes plan for: at most ``max_txn_ops`` ops per Txn and
    ``max_request_bytes`` per request (etcd's ``--max-txn-ops`` and ``--max-request-bytes``,
    128 and 1.5 MiB by default). Set them to the server's if it was started with others; a
    value above the client's ``max_send_bytes`` needs that raised too."""

    max_txn_ops: int = MAX_TXN_OPS
    max_request_bytes: int = MAX_REQUEST_BYTES

    def __post_init__(self) -> None:
        for name, value, least in (
            ("max_txn_ops", self.max_txn_ops, 1),
            ("max_request_bytes", self.max_request_bytes, REQUEST_OVERHEAD + 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, not {type(value).__name__}")
            if value < least:
                raise ValueError(f"{name} must be at least {least}, not {value}")

    @property
    def max_txn_bytes(self) -> int:
        """The most bytes the ops of one planned TxnRequest take."""
        return self.max_request_bytes - REQUEST_OVERHEAD


#: etcd's default limits.
DEFAULT_LIMITS = TxnLimits()


def _varint_size(number: int) -> int:
    return max(1, (number.bit_length() + 6) // 7)


def op_size(op: Op) -> int:
    """The bytes ``op`` adds to a TxnRequest: its encoded RequestOp with tag and length."""
    size: int = op.request_op().ByteSize()
    return 1 + _varint_size(size) + size


def fitting_size(
    op: Op, limits: TxnLimits, name: Any = None, guard: Sequence[Compare] = ()
) -> int:
    """``op_size(op)`` plus the size of its ``guard`` compares, or ``RequestTooLargeError``
    naming the key (``name``, else the op's key) when they alone are over what one Txn may
    hold."""
    size = op_size(op) + sum(map(compare_size, guard))
    if size > limits.max_txn_bytes:
        raise RequestTooLargeError(
            f"key {op.request.key if name is None else name!r}: its write takes {size} bytes, "
            f"over the {limits.max_txn_bytes} a request may hold (max_request_bytes="
            f"{limits.max_request_bytes} less {REQUEST_OVERHEAD} for etcd's header); "
            "nothing was sent"
        )
    return size


def plan_txns(
    ops: Sequence[Op],
    limits: TxnLimits,
    names: Sequence[Any] | None = None,
    guards: Sequence[Sequence[Compare]] | None = None,
) -> list[range]:
    """Split ``ops`` into consecutive Txns (ranges of indexes), in order, each with at most
    ``limits.max_txn_ops`` ops and ``limits.max_txn_bytes`` bytes, as few as the order allows.
    ``guards[i]`` are the compares op ``i`` needs in its Txn: they count in its size, and a
    Txn holds at most ``max_txn_ops`` of them too (etcd's limit is per list).

    An op too large for any Txn raises ``RequestTooLargeError`` naming its key (``names[i]``
    when given, else the op's key) and both sizes, before anything is sent.
    """
    batches: list[range] = []
    start = used = compares = 0
    for index, op in enumerate(ops):
        guard = () if guards is None else guards[index]
        size = fitting_size(op, limits, None if names is None else names[index], guard)
        if index > start and (
            index - start >= limits.max_txn_ops
            or used + size > limits.max_txn_bytes
            or compares + len(guard) > limits.max_txn_ops
        ):
            batches.append(range(start, index))
            start, used, compares = index, 0, 0
        used += size
        compares += len(guard)
    if start < len(ops):
        batches.append(range(start, len(ops)))
    return batches


class BulkWrite:
    """One bulk write, Txn by Txn: ``next()`` gives the ops of the next Txn, ``done()`` records
    it acknowledged, and ``failed(error)`` turns the error of the Txn in flight into the one to
    raise. Every op is planned (and sized) here, before the first Txn is sent.

    ``names`` name the ops' keys as the caller knows them (the map's keys). ``guards`` give
    each op's compares (``compares()`` is the list of the Txn in flight): a Txn whose
    compares fail wrote nothing, and ``failed(ConflictError(...))`` says what that means for
    the write. With ``atomic``
    everything must fit one Txn (else ``RequestTooLargeError`` / ``TooManyOpsError`` now).
    A split write that the server refuses with ``TooManyOpsError`` (it allows fewer ops than
    planned) is planned again with half as many ops per Txn: a refused Txn applied nothing.
    """

    def __init__(
        self,
        ops: Sequence[Op],
        names: Sequence[Any],
        limits: TxnLimits,
        *,
        what: str,
        atomic: bool = False,
        guards: Sequence[Sequence[Compare]] | None = None,
    ) -> None:
        self._ops = list(ops)
        self._names = list(names)
        self._guards = None if guards is None else list(guards)
        self._limits = limits
        self._what = what
        self.atomic = atomic
        self._batches = plan_txns(self._ops, limits, self._names, self._guards)
        if atomic and len(self._batches) > 1:
            bytes_needed = sum(op_size(op) for op in self._ops)
            compares = sum(map(len, self._guards or ()))
            if max(len(self._ops), compares) > limits.max_txn_ops:
                raise TooManyOpsError(
                    f"{what}: atomic=True needs one Txn, but {len(self._ops)} ops and "
                    f"{compares} compares are over max_txn_ops={limits.max_txn_ops}; "
                    "nothing was sent"
                )
            raise RequestTooLargeError(
                f"{what}: atomic=True needs one Txn, but its {bytes_needed} bytes are over the "
                f"{limits.max_txn_bytes} a request may hold (max_request_bytes="
                f"{limits.max_request_bytes}); nothing was sent"
            )
        #: Txns acknowledged so far.
        self.transactions = 0
        #: The revision of the last acknowledged Txn (0 before any).
        self.revision = 0

    @property
    def split(self) -> bool:
        """Whether the write takes more than one Txn (so a failure can leave part of it)."""
        return len(self._batches) > 1

    def next(self) -> list[Op] | None:
        """The ops of the next Txn, or None when every one is acknowledged."""
        if self.transactions >= len(self._batches):
            return None
        return [self._ops[i] for i in self._batches[self.transactions]]

    def compares(self) -> list[Compare]:
        """The guards of the ops ``next()`` gave (empty without guards)."""
        if self._guards is None:
            return []
        return [c for i in self._batches[self.transactions] for c in self._guards[i]]

    def done(self, revision: int) -> None:
        """The Txn from ``next()`` was acknowledged at ``revision``."""
        self.transactions += 1
        self.revision = revision

    def failed(self, error: EtcdError) -> EtcdError | None:
        """The Txn from ``next()`` raised ``error``: None if it should be sent again after a
        new plan (``TooManyOpsError`` on a split write), else the error to raise: ``error``
        itself for a write of one Txn, a ``PartialWriteError`` for a split one."""
        current = self._batches[self.transactions]
        if isinstance(error, TooManyOpsError) and not self.atomic and len(current) > 1:
            first = current.start
            smaller = TxnLimits(len(current) // 2, self._limits.max_request_bytes)
            guards = None if self._guards is None else self._guards[first:]
            later = plan_txns(self._ops[first:], smaller, self._names[first:], guards)
            self._batches[self.transactions:] = [
                range(r.start + first, r.stop + first) for r in later
            ]
            self._limits = smaller
            return None
        if not self.split:
            return error
        return self.partial(error)

    def partial(self, error: EtcdError) -> PartialWriteError:
        """The ``PartialWriteError`` for ``error`` stopping the write at the Txn in flight."""
        acked = self._batches[self.transactions - 1].stop if self.transactions else 0
        flight = self._batches[self.transactions].stop
        names = self._names
        if isinstance(error, OutcomeUnknownError):
            unknown, not_written = names[acked:flight], names[flight:]
        else:
            unknown, not_written = [], names[acked:]
        return partial_write_error(error, self._what, names[:acked], not_written, unknown)
