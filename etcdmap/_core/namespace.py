"""Namespaces: the key translation of a client view whose keys all live under a prefix.

Keys go in with the namespace prepended and come back with it stripped, as Go's clientv3
``namespace`` package does. A range end is translated so that a range stays inside the
namespace: etcd's "to the end of the keyspace" (``b"\\x00"``, from ``prefix=True`` on an empty
key or ``from_key=True``) becomes the end of the namespace; any other end gets the namespace
prepended. An empty key is rejected here with ``EmptyKeyError``: inside a namespace it would
address the namespace's own key, which the server would not reject.

Responses are never changed in place (a caller may still hold the server's response):
every key that comes back is a stripped copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import msgspec

from .._pb import etcdserverpb
from .errors import EmptyKeyError, EtcdError
from .keys import ALL_KEYS, prefix_range_end, to_bytes
from .kv import Compare, Op, _checked, resolve_range
from .lease import LeaseTimeToLive
from .results import (
    CompactResponse,
    DeleteResponse,
    GetResponse,
    KeyValue,
    OpResponse,
    PutResponse,
    TxnResponse,
)
from .watch import Event, WatchResponse

__all__ = [
    "prefix_compare",
    "prefix_end",
    "prefix_key",
    "prefix_op",
    "prefix_range",
    "prefix_txn",
    "strip_delete",
    "strip_get",
    "strip_kv",
    "strip_put",
    "strip_response",
    "strip_time_to_live",
    "strip_txn",
    "strip_watch_item",
    "strip_watch_response",
]

_R = TypeVar("_R")
_EMPTY_KEY = "etcdserver: key is not provided"
#: RequestOp's oneof field -> the request kind its message is.
_REQUEST_KINDS = {
    "request_range": "get",
    "request_put": "put",
    "request_delete_range": "delete",
    "request_txn": "txn",
}


def _empty_key(namespace: bytes, action: str) -> EmptyKeyError:
    return EmptyKeyError(
        f"{_EMPTY_KEY} ({action} in namespace {namespace!r})", details=_EMPTY_KEY
    )


def prefix_key(namespace: bytes, key: bytes, action: str) -> bytes:
    """``key`` inside ``namespace``; ``EmptyKeyError`` naming ``action`` for an empty key."""
    if not key:
        raise _empty_key(namespace, action)
    return namespace + key


def prefix_end(namespace: bytes, range_end: bytes) -> bytes:
    """A resolved range end inside ``namespace`` (``b""``, no range, stays ``b""``)."""
    if range_end == ALL_KEYS:
        return prefix_range_end(namespace)
    if range_end:
        return namespace + range_end
    return b""


def prefix_range(
    namespace: bytes,
    key: bytes | str,
    range_end: bytes | str | None = None,
    prefix: bool = False,
    from_key: bool = False,
    action: str = "get",
) -> tuple[bytes, bytes | None]:
    """Resolve a key and range options as the client does, then move them into ``namespace``.

    Returns the key and the range end to pass on (None for a single key). An empty key is
    ``EmptyKeyError`` unless ``prefix`` or ``from_key`` made it "every key" (as in Go).
    """
    resolved, end = resolve_range(to_bytes(key), range_end, prefix, from_key)
    return prefix_key(namespace, resolved, action), prefix_end(namespace, end) or None


def prefix_compare(namespace: bytes, compare: Compare) -> Compare:
    """A transaction ``Compare`` with its key and range end moved into ``namespace``."""
    return msgspec.structs.replace(
        compare,
        key=prefix_key(namespace, compare.key, f"compare {compare.target}"),
        range_end=prefix_end(namespace, compare.range_end),
    )


def prefix_op(namespace: bytes, op: Op[_R], action: str | None = None) -> Op[_R]:
    """An ``Op`` (nested transactions included) moved into ``namespace``; ``Op.compact``
    as it is (revisions are not namespaced). An empty key is ``EmptyKeyError`` naming
    ``action`` (by default: the op's kind "in a transaction").

    The op's request is copied: the caller's ``Op`` still works on the plain client.
    """
    if op.kind == "compact":
        return op
    return Op(op.kind, _prefix_request(namespace, op.kind, op.request, action))


def _prefix_request(namespace: bytes, kind: str, request: Any, action: str | None = None) -> Any:
    if kind == "txn":
        return etcdserverpb.TxnRequest(
            compare=[_prefix_compare_message(namespace, c) for c in request.compare],
            success=[_prefix_request_op(namespace, r) for r in request.success],
            failure=[_prefix_request_op(namespace, r) for r in request.failure],
        )
    copy = type(request)()
    copy.CopyFrom(request)
    copy.key = prefix_key(namespace, request.key, action or f"{kind} in a transaction")
    if kind != "put":
        copy.range_end = prefix_end(namespace, request.range_end)
    return copy


def _prefix_request_op(namespace: bytes, request_op: Any) -> Any:
    field = request_op.WhichOneof("request")
    request = _prefix_request(namespace, _REQUEST_KINDS[field], getattr(request_op, field))
    return etcdserverpb.RequestOp(**{field: request})


def _prefix_compare_message(namespace: bytes, compare: Any) -> Any:
    copy = etcdserverpb.Compare()
    copy.CopyFrom(compare)
    copy.key = prefix_key(namespace, compare.key, "compare in a transaction")
    copy.range_end = prefix_end(namespace, compare.range_end)
    return copy


def prefix_txn(
    namespace: bytes, compare: Iterable[Compare], success: Iterable[Op], failure: Iterable[Op]
) -> tuple[list[Compare], list[Op], list[Op]]:
    """The comparisons and op lists of a transaction, moved into ``namespace``."""
    return (
        [prefix_compare(namespace, c) for c in _checked(compare, Compare, "compare")],
        [prefix_op(namespace, op) for op in _checked(success, Op, "success")],
        [prefix_op(namespace, op) for op in _checked(failure, Op, "failure")],
    )


# --- responses --------------------------------------------------------------------------------


def strip_kv(namespace: bytes, kv: KeyValue) -> KeyValue:
    """A copy of ``kv`` whose key is relative to ``namespace`` (the server's message is left
    as it is)."""
    return KeyValue(
        key=kv.key[len(namespace):],
        value=kv.value,
        create_revision=kv.create_revision,
        mod_revision=kv.mod_revision,
        version=kv.version,
        lease=kv.lease,
    )


def _strip_all(namespace: bytes, kvs: Sequence[KeyValue]) -> list[KeyValue]:
    return [strip_kv(namespace, kv) for kv in kvs]


def strip_get(namespace: bytes, response: GetResponse) -> GetResponse:
    """``GetResponse`` with every key relative to ``namespace``."""
    return msgspec.structs.replace(response, kvs=_strip_all(namespace, response.kvs))


def strip_put(namespace: bytes, response: PutResponse) -> PutResponse:
    """``PutResponse`` with ``prev_kv`` (if any) relative to ``namespace``."""
    if response.prev_kv is None:
        return response
    return msgspec.structs.replace(response, prev_kv=strip_kv(namespace, response.prev_kv))


def strip_delete(namespace: bytes, response: DeleteResponse) -> DeleteResponse:
    """``DeleteResponse`` with every ``prev_kvs`` key relative to ``namespace``."""
    return msgspec.structs.replace(response, prev_kvs=_strip_all(namespace, response.prev_kvs))


def strip_txn(namespace: bytes, response: TxnResponse) -> TxnResponse:
    """``TxnResponse`` with the keys of every op result (nested ones too) relative to
    ``namespace``."""
    return msgspec.structs.replace(
        response, responses=[_strip_op_response(namespace, r) for r in response.responses]
    )


def strip_response(namespace: bytes, response: _R) -> _R:
    """Any KV response with its keys relative to ``namespace`` (a ``CompactResponse`` has
    none)."""
    if isinstance(response, CompactResponse):
        return response
    return _strip_op_response(namespace, response)  # type: ignore[arg-type, return-value]


def _strip_op_response(namespace: bytes, response: OpResponse) -> OpResponse:
    if isinstance(response, GetResponse):
        return strip_get(namespace, response)
    if isinstance(response, PutResponse):
        return strip_put(namespace, response)
    if isinstance(response, DeleteResponse):
        return strip_delete(namespace, response)
    return strip_txn(namespace, response)


def strip_watch_item(
    namespace: bytes, item: WatchResponse | EtcdError
) -> WatchResponse | EtcdError:
    """A watch callback's argument with keys relative to ``namespace`` (an error that ended
    the watch is passed on unchanged)."""
    if isinstance(item, EtcdError):
        return item
    return strip_watch_response(namespace, item)


def strip_watch_response(namespace: bytes, response: WatchResponse) -> WatchResponse:
    """``WatchResponse`` with every event's ``kv`` and ``prev_kv`` relative to ``namespace``."""
    if not response.events:
        return response
    events = [
        Event(
            event.type,
            strip_kv(namespace, event.kv),
            None if event.prev_kv is None else strip_kv(namespace, event.prev_kv),
        )
        for event in response.events
    ]
    return msgspec.structs.replace(response, events=events)


def strip_time_to_live(namespace: bytes, response: LeaseTimeToLive) -> LeaseTimeToLive:
    """``LeaseTimeToLive`` listing only the attached keys inside ``namespace``, relative to it
    (leases are shared by every namespace; Go's namespace drops the other keys too)."""
    if not response.keys:
        return response
    size = len(namespace)
    keys = [key[size:] for key in response.keys if key.startswith(namespace)]
    return msgspec.structs.replace(response, keys=keys)
