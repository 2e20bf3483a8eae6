"""Typed results of KV requests.

Results are msgspec Structs, except ``KeyValue``: a key is etcd's own ``mvccpb.KeyValue``
message (from etcdmap's private protobuf pool), handed over exactly as gRPC decoded it. Copying
every field of every key into another object would cost more than the decoding itself on large
ranges; the message already has the fields, typed below for static checkers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import msgspec

from .._pb import mvccpb

__all__ = [
    "CompactResponse",
    "DeleteResponse",
    "GetResponse",
    "KeyValue",
    "PutResponse",
    "ResponseHeader",
    "TxnResponse",
]


class ResponseHeader(msgspec.Struct, frozen=True, gc=False):
    """Every response's header: who answered, and the store's revision when it did."""

    cluster_id: int
    member_id: int
    revision: int
    raft_term: int


if TYPE_CHECKING:

    class KeyValue:
        """One key as stored in etcd (``mvccpb.KeyValue``).

        ``version`` counts the writes since the key was (re)created; ``lease`` is 0 without
        a lease. With ``keys_only`` the value is ``b""``. Equal when all fields are equal.
        """

        key: bytes
        value: bytes
        create_revision: int
        mod_revision: int
        version: int
        lease: int

        def __init__(
            self,
            *,
            key: bytes = b"",
            value: bytes = b"",
            create_revision: int = 0,
            mod_revision: int = 0,
            version: int = 0,
            lease: int = 0,
        ) -> None: ...

else:
    KeyValue = mvccpb.KeyValue

#: Bytes of a value ``repr(KeyValue)`` shows before it shortens it.
_REPR_VALUE_BYTES = 32


def _key_value_repr(kv: KeyValue) -> str:
    """One line: the key, the value (its first bytes and size when longer), the revisions
    and the lease (protobuf's own repr spans several lines and prints the whole value)."""
    value = kv.value
    shown = repr(value)
    if len(value) > _REPR_VALUE_BYTES:
        shown = f"{value[:_REPR_VALUE_BYTES]!r}... ({len(value)} bytes)"
    return (
        f"KeyValue(key={kv.key!r}, value={shown}, create_revision={kv.create_revision}, "
        f"mod_revision={kv.mod_revision}, version={kv.version}, lease={kv.lease})"
    )


# Our messages live in a private descriptor pool, so this changes no other library's class.
mvccpb.KeyValue.__repr__ = _key_value_repr


class GetResponse(msgspec.Struct, frozen=True):
    """Result of a Range: the keys found, ``count`` of all keys in the range (also beyond
    ``limit``), and ``more`` when ``limit`` cut the result short. ``kv`` and ``value`` read
    a one-key get: ``client.get(key).value`` is the value, or None when the key is missing."""

    header: ResponseHeader
    kvs: Sequence[KeyValue]
    count: int
    more: bool

    @property
    def kv(self) -> KeyValue | None:
        """The first key found (the only one of a one-key get), or None if none was."""
        return self.kvs[0] if self.kvs else None

    @property
    def value(self) -> bytes | None:
        """The first key's value (``b""`` with ``keys_only``), or None if no key was found."""
        return self.kvs[0].value if self.kvs else None


class PutResponse(msgspec.Struct, frozen=True, gc=False):
    """Result of a Put; ``prev_kv`` is the overwritten key when ``prev_kv=True`` was asked."""

    header: ResponseHeader
    prev_kv: KeyValue | None


class DeleteResponse(msgspec.Struct, frozen=True):
    """Result of a DeleteRange: how many keys were deleted, and them with ``prev_kv=True``."""

    header: ResponseHeader
    deleted: int
    prev_kvs: Sequence[KeyValue]


class TxnResponse(msgspec.Struct, frozen=True):
    """Result of a Txn: whether the comparisons held, and one result per executed operation."""

    header: ResponseHeader
    succeeded: bool
    responses: list[OpResponse]


class CompactResponse(msgspec.Struct, frozen=True, gc=False):
    """Result of a Compaction."""

    header: ResponseHeader


OpResponse = GetResponse | PutResponse | DeleteResponse | TxnResponse
