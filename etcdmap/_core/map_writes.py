"""The Txns of a map's conditional writes, built and read back without I/O.

Each builder takes a key's full etcd key and encoded value (the map's ``KeySpace`` makes them)
and returns a ``TxnPlan``: the compares and ops of one Txn and how its response answers the
caller. ``EtcdMap`` and ``AsyncEtcdMap`` only send the plan (KV.Txn) and hand the response back
to it; their loops (``pop``, ``popitem``, ``modify``) decide what to send next.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from .bulk import BulkWrite, TxnLimits
from .errors import ConflictError
from .kv import Compare, LeaseLike, Op
from .results import GetResponse, KeyValue, TxnResponse

__all__ = [
    "Attempt",
    "TxnPlan",
    "bulk_put",
    "compare_and_swap",
    "create",
    "delete_if_unchanged",
    "editing_conflict",
    "first_kv",
    "modify_conflict",
    "put_if_absent",
    "put_if_unchanged",
    "remove",
    "replace",
]

R = TypeVar("R")


def first_kv(response: Any) -> KeyValue | None:
    """The key of a single-key Range response (a Txn's ``Op.get`` included), or None if it
    was missing."""
    assert isinstance(response, GetResponse)
    return response.kvs[0] if response.kvs else None


class Attempt:
    """A write made only if a condition held: ``revision`` is the revision it was written at
    (0 if the condition failed), ``current`` the key as the same Txn then read it (None if
    absent, or when written)."""

    __slots__ = ("current", "revision")

    def __init__(self, revision: int, current: KeyValue | None = None) -> None:
        self.revision = revision
        self.current = current

    def __repr__(self) -> str:
        return f"Attempt(revision={self.revision}, current={self.current!r})"

    @property
    def written(self) -> bool:
        """Whether the write was applied."""
        return self.revision > 0


class TxnPlan(Generic[R]):
    """One Txn: if every ``compare`` holds run ``success``, else ``failure``; ``result(response)``
    is what the write answers its caller."""

    __slots__ = ("_read", "compare", "failure", "success")

    def __init__(
        self,
        compare: Sequence[Compare],
        success: Sequence[Op],
        failure: Sequence[Op],
        read: Callable[[TxnResponse], R],
    ) -> None:
        self.compare = list(compare)
        self.success = list(success)
        self.failure = list(failure)
        self._read = read

    def __repr__(self) -> str:
        return f"TxnPlan({self.compare!r}, {self.success!r}, {self.failure!r})"

    def result(self, response: TxnResponse) -> R:
        """What the Txn's ``response`` answers the caller."""
        return self._read(response)


def _succeeded(response: TxnResponse) -> bool:
    return response.succeeded


def _attempt(response: TxnResponse) -> Attempt:
    if response.succeeded:
        return Attempt(response.header.revision)
    return Attempt(0, first_kv(response.responses[0]))


def _if_else_read(compare: Compare, op: Op, full: bytes) -> TxnPlan[Attempt]:
    return TxnPlan([compare], [op], [Op.get(full)], _attempt)


def put_if_unchanged(full: bytes, data: bytes, revision: int, lease: LeaseLike) -> TxnPlan[Attempt]:
    """Put ``data`` if ``full``'s mod_revision is still ``revision`` (0: absent), else read the
    key (``modify``, ``editing``)."""
    return _if_else_read(
        Compare.mod_revision(full, "==", revision), Op.put(full, data, lease=lease), full
    )


def delete_if_unchanged(full: bytes, revision: int) -> TxnPlan[Attempt]:
    """Delete ``full`` if its mod_revision is still ``revision``, else read it (``pop``)."""
    return _if_else_read(Compare.mod_revision(full, "==", revision), Op.delete(full), full)


def create(full: bytes, data: bytes, lease: LeaseLike) -> TxnPlan[Attempt]:
    """Put ``data`` if ``full`` does not exist (create_revision 0), else read it
    (``setdefault``)."""
    return _if_else_read(
        Compare.create_revision(full, "==", 0), Op.put(full, data, lease=lease), full
    )


def put_if_absent(full: bytes, data: bytes, lease: LeaseLike) -> TxnPlan[bool]:
    """Put ``data`` if ``full`` does not exist; whether it was stored."""
    return TxnPlan(
        [Compare.create_revision(full, "==", 0)], [Op.put(full, data, lease=lease)], [],
        _succeeded,
    )  # fmt: skip


def compare_and_swap(full: bytes, expected: bytes, data: bytes, lease: LeaseLike) -> TxnPlan[bool]:
    """Put ``data`` if the stored bytes are ``expected``; whether it was stored."""
    return TxnPlan(
        [Compare.value(full, "==", expected)], [Op.put(full, data, lease=lease)], [], _succeeded
    )


def replace(full: bytes, data: bytes, revision: int, lease: LeaseLike) -> TxnPlan[bool]:
    """Put ``data`` if ``full``'s mod_revision is still ``revision``; whether it was stored."""
    return TxnPlan(
        [Compare.mod_revision(full, "==", revision)], [Op.put(full, data, lease=lease)], [],
        _succeeded,
    )  # fmt: skip


def remove(kv: KeyValue) -> TxnPlan[bool]:
    """Delete ``kv``'s key if it is unchanged since ``kv`` was read; whether it was deleted
    (``popitem``)."""
    return TxnPlan(
        [Compare.mod_revision(kv.key, "==", kv.mod_revision)], [Op.delete(kv.key)], [], _succeeded
    )


def bulk_put(
    data: dict[bytes, tuple[str, bytes]],
    lease: LeaseLike,
    limits: TxnLimits,
    *,
    what: str,
    atomic: bool,
) -> BulkWrite:
    """The puts of ``data`` (full key -> (the map's key, encoded value)) planned into Txns
    under ``limits`` (``update``)."""
    ops = [Op.put(full, value, lease=lease) for full, (_, value) in data.items()]
    names = [key for key, _ in data.values()]
    return BulkWrite(ops, names, limits, what=what, atomic=atomic)


def modify_conflict(name: str, key: str, attempts: int, current: KeyValue | None) -> ConflictError:
    """The error of ``modify`` on map ``name`` after ``attempts`` lost races."""
    return ConflictError(
        f"modify({key!r}) on map {name!r}: the key changed under each of {attempts} attempts",
        key=key,
        revision=current.mod_revision if current else 0,
    )


def editing_conflict(
    name: str, key: str, read: int, current: KeyValue | None, value: Any
) -> ConflictError:
    """The error of an ``editing`` block on map ``name`` whose key changed after it was read at
    mod_revision ``read``: ``current`` is the key now (None if deleted), ``value`` its value."""
    return ConflictError(
        f"editing({key!r}) on map {name!r}: the key changed since it was read at "
        f"mod_revision {read} (now {current.mod_revision if current else 'deleted'}); "
        "nothing was written",
        key=key,
        revision=current.mod_revision if current else 0,
        current=value,
    )
