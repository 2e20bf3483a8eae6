"""python-etcd3's transaction builders: compares made with operators
(``transactions.value(key) == b"v"``) and the ``Put``/``Get``/``Delete``/``Txn`` ops.

Each turns into etcdmap's ``Compare`` / ``Op`` when the transaction runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ... import Compare, Op
from ..._pb import etcdserverpb
from .utils import lease_to_id, to_bytes

__all__ = ["BaseCompare", "Create", "Delete", "Get", "Mod", "Put", "Txn", "Value", "Version"]

_C = etcdserverpb.Compare
#: etcdrpc.Compare result -> etcdmap's operator.
_OPERATORS: dict[int, Any] = {_C.EQUAL: "==", _C.NOT_EQUAL: "!=", _C.LESS: "<", _C.GREATER: ">"}


class BaseCompare:
    """A condition on ``key`` (or on every key of ``[key, range_end)``), completed by an
    operator: ``==``, ``!=``, ``<`` or ``>`` set ``op`` and ``value`` and return the compare."""

    #: The etcdrpc.Compare target and the field of the operand.
    target = 0
    field = ""
    #: etcdmap's Compare constructor of this target.
    make: Any = None

    def __init__(self, key: bytes | str, range_end: bytes | str | None = None) -> None:
        self.key = key
        self.range_end = range_end
        self.value: Any = None
        self.op: int | None = None

    def _set(self, op: int, other: Any) -> BaseCompare:
        self.op, self.value = op, other
        return self

    def __eq__(self, other: object) -> BaseCompare:  # type: ignore[override]  # builds a compare
        return self._set(_C.EQUAL, other)

    def __ne__(self, other: object) -> BaseCompare:  # type: ignore[override]  # builds a compare
        return self._set(_C.NOT_EQUAL, other)

    def __lt__(self, other: object) -> BaseCompare:
        return self._set(_C.LESS, other)

    def __gt__(self, other: object) -> BaseCompare:
        return self._set(_C.GREATER, other)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by operators

    def __repr__(self) -> str:
        keys = repr(self.key)
        if self.range_end is not None:
            keys = f"[{self.key!r}, {self.range_end!r})"
        op = _OPERATORS.get(-1 if self.op is None else self.op)
        return f"{self.__class__.__name__}: {keys} {op} {self.value!r}"

    def _operand(self) -> Any:
        return to_bytes(self.value) if self.field == "value" else int(self.value)

    def _checked_op(self) -> int:
        if self.op is None:
            raise ValueError(f"{self!r}: compare with one of ==, !=, < or >")
        return self.op

    def build_message(self) -> Any:
        """This condition as an ``etcdrpc.Compare`` message."""
        message = etcdserverpb.Compare(
            key=to_bytes(self.key), result=self._checked_op(), target=self.target,
            **{self.field: self._operand()},
        )  # fmt: skip
        if self.range_end is not None:
            message.range_end = to_bytes(self.range_end)
        return message

    def to_compare(self) -> Compare:
        """This condition as etcdmap's ``Compare``."""
        where = {} if self.range_end is None else {"range_end": self.range_end}
        result: Compare = type(self).make(
            self.key, _OPERATORS[self._checked_op()], self._operand(), **where
        )
        return result


class Value(BaseCompare):
    """Compare the value (bytes or str)."""

    target, field, make = _C.VALUE, "value", Compare.value


class Version(BaseCompare):
    """Compare the version (0: the key does not exist)."""

    target, field, make = _C.VERSION, "version", Compare.version


class Create(BaseCompare):
    """Compare the create revision (0: the key does not exist)."""

    target, field, make = _C.CREATE, "create_revision", Compare.create_revision


class Mod(BaseCompare):
    """Compare the mod revision."""

    target, field, make = _C.MOD, "mod_revision", Compare.mod_revision


class Put:
    """Write ``key`` in a transaction."""

    def __init__(
        self, key: bytes | str, value: bytes | str, lease: Any = None, prev_kv: bool = False
    ) -> None:
        self.key, self.value, self.lease, self.prev_kv = key, value, lease, prev_kv

    def to_op(self) -> Op:
        """This op as etcdmap's ``Op``."""
        return Op.put(self.key, self.value, lease=lease_to_id(self.lease), prev_kv=self.prev_kv)


class Get:
    """Read ``key`` (or ``[key, range_end)``) in a transaction."""

    def __init__(self, key: bytes | str, range_end: bytes | str | None = None) -> None:
        self.key, self.range_end = key, range_end

    def to_op(self) -> Op:
        """This op as etcdmap's ``Op``."""
        return Op.get(self.key, range_end=self.range_end)


class Delete:
    """Delete ``key`` (or ``[key, range_end)``) in a transaction."""

    def __init__(
        self, key: bytes | str, range_end: bytes | str | None = None, prev_kv: bool = False
    ) -> None:
        self.key, self.range_end, self.prev_kv = key, range_end, prev_kv

    def to_op(self) -> Op:
        """This op as etcdmap's ``Op``."""
        return Op.delete(self.key, range_end=self.range_end, prev_kv=self.prev_kv)


class Txn:
    """A transaction nested in another (etcd ≥ 3.3)."""

    def __init__(
        self,
        compare: Sequence[BaseCompare],
        success: Sequence[Any] | None = None,
        failure: Sequence[Any] | None = None,
    ) -> None:
        self.compare, self.success, self.failure = compare, success, failure

    def to_op(self) -> Op:
        """This op as etcdmap's ``Op``."""
        return Op.txn(*to_txn(self.compare, self.success, self.failure))


def to_ops(ops: Sequence[Any] | None) -> list[Op]:
    """``Put``/``Get``/``Delete``/``Txn`` ops as etcdmap's; ``TypeError`` for anything else."""
    result = []
    for op in () if ops is None else ops:  # TypeError if not iterable
        if not isinstance(op, (Put, Get, Delete, Txn)):
            raise TypeError(f"not a transaction op (Put, Get, Delete or Txn): {op!r}")
        result.append(op.to_op())
    return result


def to_txn(
    compare: Sequence[BaseCompare], success: Sequence[Any] | None, failure: Sequence[Any] | None
) -> tuple[list[Compare], list[Op], list[Op]]:
    """A transaction's compares and ops as etcdmap's."""
    return [c.to_compare() for c in compare], to_ops(success), to_ops(failure)
