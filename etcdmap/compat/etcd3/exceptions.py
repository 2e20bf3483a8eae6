"""python-etcd3's exceptions, and the mapping of etcdmap's errors onto them.

python-etcd3 maps four gRPC status codes to its own exceptions and lets every other
``grpc.RpcError`` through; here every other error of the server is a ``GrpcError``, which is
a ``grpc.RpcError`` with ``code()`` and ``details()``, so ``except grpc.RpcError`` still works.
Each error keeps etcdmap's error as its ``__cause__`` (and its message).
"""

from __future__ import annotations

import grpc

from ...errors import (
    ConnectionFailedError as _ConnectionFailed,
)
from ...errors import (
    ConnectionLostError,
    DeadlineExceededError,
    EtcdError,
)

__all__ = [
    "ConnectionFailedError",
    "ConnectionTimeoutError",
    "Etcd3Exception",
    "GrpcError",
    "InternalServerError",
    "LockTimedOut",
    "PreconditionFailedError",
    "RevisionCompactedError",
    "WatchTimedOut",
]


class Etcd3Exception(Exception):  # noqa: N818 - python-etcd3's name
    """The base of python-etcd3's own exceptions."""


class WatchTimedOut(Etcd3Exception):
    """A watch was not created in time, or ``watch_once`` saw no event in time."""


class InternalServerError(Etcd3Exception):
    """The server answered gRPC ``INTERNAL``."""


class ConnectionFailedError(Etcd3Exception):
    """No connection to etcd (gRPC ``UNAVAILABLE``, or the connection was lost)."""


class ConnectionTimeoutError(Etcd3Exception):
    """The call's deadline passed (gRPC ``DEADLINE_EXCEEDED``)."""


class PreconditionFailedError(Etcd3Exception):
    """The server answered gRPC ``FAILED_PRECONDITION``."""


class RevisionCompactedError(Etcd3Exception):
    """A watch asked for history that was compacted; ``compacted_revision`` is where."""

    def __init__(self, compacted_revision: int) -> None:
        self.compacted_revision = compacted_revision
        super().__init__(f"the revision was compacted (compacted revision {compacted_revision})")


class LockTimedOut(Etcd3Exception):
    """``with client.lock(...)`` could not acquire the lock within its 10 s (python-etcd3
    entered the block without the lock). Not in python-etcd3."""


class GrpcError(grpc.RpcError):
    """Any other error etcd answered with, as the ``grpc.RpcError`` python-etcd3 let through.
    Not in python-etcd3 (which raised gRPC's own class)."""

    def __init__(self, error: EtcdError) -> None:
        super().__init__(str(error))
        self.error = error
        self._code = error.code or grpc.StatusCode.UNKNOWN

    def code(self) -> grpc.StatusCode:
        """The gRPC status code etcd answered with."""
        return self._code

    def details(self) -> str:
        """etcd's message (its ``rpctypes`` text)."""
        return self.error.details


_BY_CODE: dict[grpc.StatusCode, type[Etcd3Exception]] = {
    grpc.StatusCode.INTERNAL: InternalServerError,
    grpc.StatusCode.UNAVAILABLE: ConnectionFailedError,
    grpc.StatusCode.DEADLINE_EXCEEDED: ConnectionTimeoutError,
    grpc.StatusCode.FAILED_PRECONDITION: PreconditionFailedError,
}


def translate(error: EtcdError) -> Exception:
    """The exception python-etcd3 would raise for etcdmap's ``error``: by gRPC code as
    python-etcd3 maps them (transport errors by class), else ``GrpcError``; an error found on
    the client, before any RPC, stays etcdmap's."""
    if isinstance(error, DeadlineExceededError):
        return ConnectionTimeoutError(str(error))
    if isinstance(error, (_ConnectionFailed, ConnectionLostError)):
        return ConnectionFailedError(str(error))
    mapped = None if error.code is None else _BY_CODE.get(error.code)
    if mapped is not None:
        return mapped(str(error))
    return error if error.code is None else GrpcError(error)
