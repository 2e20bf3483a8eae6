"""python-etcd3's ``etcd3.etcdrpc``: the messages and enums of etcd's ``rpc.proto``
(``etcdrpc.RangeRequest``, ``etcdrpc.Compare.EQUAL``, ``etcdrpc.NOSPACE``...), from
etcdmap's private protobuf pool. The gRPC stubs (``KVStub``...) are not provided."""

from __future__ import annotations

from typing import Any

from ..._pb import etcdserverpb


def _names() -> dict[str, Any]:
    """Every message class and enum, and the values of the top-level enums, as protoc's
    generated module exports them."""
    names: dict[str, Any] = dict(vars(etcdserverpb))
    for value in list(names.values()):
        if type(value).__name__ == "EnumTypeWrapper":  # a top-level enum
            names.update(value.items())
    return names


globals().update(_names())
__all__ = sorted(_names())  # pyright: ignore[reportUnsupportedDunderAll]
