"""The exception hierarchy and the one place where gRPC errors become etcdmap errors.

etcd gives many different errors the same gRPC status code (``InvalidArgument`` covers an empty
key, a too-large request and a failed login), so the server's *message* picks the class, as Go's
``rpctypes.Error`` does; the status code is only the fallback for messages not in the table.

The class also says what became of a write: an ``OutcomeUnknownError`` (a deadline, etcd's
request timeouts, a connection lost after sending) may or may not have been applied; a
``ConnectionFailedError`` provably never left the client; any other error was not applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import grpc

from .retry import never_sent
from .tls import tls_failure_hint

__all__ = [
    "ERROR_CLASSES",
    "error_from_status",
    "partial_write_error",
]


class EtcdError(Exception):
    """Base of every error etcdmap raises.

    Attributes
    ----------
    code:
        The gRPC status code, or None for errors raised on the client before any RPC.
    details:
        The server's message (etcd's ``rpctypes`` text), or the client's explanation.
    endpoint:
        The endpoint that answered, when one did.
    outcome:
        What became of the request, by class (docs/errors.md): ``"not applied"`` (refused, or
        failed before writing), ``"never sent"`` (safe to send again), ``"unknown"`` (may or
        may not have been applied), ``"applied"``, ``"partial"`` (``PartialWriteError``).
    """

    outcome: ClassVar[Literal["not applied", "never sent", "unknown", "applied", "partial"]] = (
        "not applied"
    )

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode | None = None,
        details: str = "",
        endpoint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.details = details or message
        self.endpoint = endpoint

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception's default calls cls(*args), which misses keyword-only fields (lease_id)
        return (_unpickle_error, (type(self), self.args), self.__dict__)


def _unpickle_error(cls: type[EtcdError], args: tuple[Any, ...]) -> EtcdError:
    error = cls.__new__(cls)
    error.args = args  # OSError's __new__ (TimeoutError's) leaves them to __init__
    return error


class OutcomeUnknownError(EtcdError):
    """The request may or may not have been applied: it left the client, then the answer was
    lost (a deadline passed, the connection broke, etcd gave up waiting for its proposal).

    Sending a write again after this error may apply it twice; read the key back (or make the
    write conditional, e.g. a Txn on a revision) first. Its subclasses are
    ``DeadlineExceededError``, ``ConnectionLostError``, ``RPCCancelledError``,
    ``RequestTimeoutError`` (and its ``TimeoutDueTo...`` kinds), ``StoppedError`` and
    ``RequestCanceledError``. Every other ``EtcdError`` of a write means it was not applied.
    """

    outcome = "unknown"


# --- errors the server reported -------------------------------------------------------------


class ServerError(EtcdError):
    """An error etcd returned for a request; the default for messages not in the table."""


class EmptyKeyError(ServerError):
    """``etcdserver: key is not provided``: the key of a request was empty."""


class KeyNotFoundError(ServerError):
    """``etcdserver: key not found``: ``ignore_value``/``ignore_lease`` on a missing key."""


class ValueProvidedError(ServerError):
    """``etcdserver: value is provided``: a value given together with ``ignore_value``."""


class LeaseProvidedError(ServerError):
    """``etcdserver: lease is provided``: a lease given together with ``ignore_lease``."""


class TooManyOpsError(ServerError):
    """``etcdserver: too many operations in txn request`` (the server's ``--max-txn-ops``)."""


class DuplicateKeyError(ServerError):
    """``etcdserver: duplicate key given in txn request``: one key written twice in a txn."""


class InvalidSortOptionError(ServerError):
    """``etcdserver: invalid sort option``."""


class InvalidClientAPIVersionError(ServerError):
    """``etcdserver: invalid client api version``."""


class CompactedError(ServerError):
    """``etcdserver: mvcc: required revision has been compacted``.

    The revision asked for is older than the last compaction; ``compact_revision`` is the
    compaction point when it is known (watches report it; a range does not).
    """

    def __init__(self, message: str, *, compact_revision: int | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.compact_revision = compact_revision


class FutureRevisionError(ServerError):
    """``etcdserver: mvcc: required revision is a future revision``."""


class NoSpaceError(ServerError):
    """``etcdserver: mvcc: database space exceeded``: the backend quota alarm is raised."""


class LeaseNotFoundError(ServerError):
    """``etcdserver: requested lease not found``."""


class LeaseExistError(ServerError):
    """``etcdserver: lease already exists``."""


class LeaseTTLTooLargeError(ServerError):
    """``etcdserver: too large lease TTL``."""


class WatchCanceledError(ServerError):
    """``etcdserver: watch canceled``."""


class MemberExistError(ServerError):
    """``etcdserver: member ID already exist``."""


class PeerURLExistError(ServerError):
    """``etcdserver: Peer URLs already exists``."""


class MemberNotEnoughStartedError(ServerError):
    """``etcdserver: re-configuration failed due to not enough started members``."""


class MemberBadURLsError(ServerError):
    """``etcdserver: given member URLs are invalid``."""


class MemberNotFoundError(ServerError):
    """``etcdserver: member not found``."""


class MemberNotLearnerError(ServerError):
    """``etcdserver: can only promote a learner member``."""


class LearnerNotReadyError(ServerError):
    """``etcdserver: can only promote a learner member which is in sync with leader``."""


class TooManyLearnersError(ServerError):
    """``etcdserver: too many learner members in cluster``."""


class ClusterIDMismatchError(ServerError):
    """``etcdserver: cluster ID mismatch``."""


class RequestTooLargeError(ServerError):
    """The request is larger than the server accepts (``--max-request-bytes``, 1.5 MiB by
    default) or than the client's ``max_send_bytes``; nothing was written."""


class TooManyRequestsError(ServerError):
    """``etcdserver: too many requests``."""


class RootUserNotExistError(ServerError):
    """``etcdserver: root user does not exist``."""


class RootRoleNotExistError(ServerError):
    """``etcdserver: root user does not have root role``."""


class UserAlreadyExistError(ServerError):
    """``etcdserver: user name already exists``."""


class UserEmptyError(ServerError):
    """``etcdserver: user name is empty``."""


class UserNotFoundError(ServerError):
    """``etcdserver: user name not found``."""


class RoleAlreadyExistError(ServerError):
    """``etcdserver: role name already exists``."""


class RoleNotFoundError(ServerError):
    """``etcdserver: role name not found``."""


class RoleEmptyError(ServerError):
    """``etcdserver: role name is empty``."""


class AuthFailedError(ServerError):
    """``etcdserver: authentication failed, invalid user ID or password``."""


class PermissionNotGivenError(ServerError):
    """``etcdserver: permission not given``."""


class PermissionDeniedError(ServerError):
    """``etcdserver: permission denied``."""


class RoleNotGrantedError(ServerError):
    """``etcdserver: role is not granted to the user``."""


class PermissionNotGrantedError(ServerError):
    """``etcdserver: permission is not granted to the role``."""


class AuthNotEnabledError(ServerError):
    """``etcdserver: authentication is not enabled``."""


class InvalidAuthTokenError(ServerError):
    """``etcdserver: invalid auth token``: the token expired or the server restarted."""


class InvalidAuthMgmtError(ServerError):
    """``etcdserver: invalid auth management``."""


class AuthOldRevisionError(ServerError):
    """``etcdserver: revision of auth store is old``."""


class NoLeaderError(ServerError):
    """``etcdserver: no leader``."""


class NotLeaderError(ServerError):
    """``etcdserver: not leader``."""


class LeaderChangedError(ServerError):
    """``etcdserver: leader changed``."""


class NotCapableError(ServerError):
    """``etcdserver: not capable``."""


class StoppedError(ServerError, OutcomeUnknownError):
    """``etcdserver: server stopped``: the member stopped, possibly after proposing the
    request, which may or may not have been applied."""


class RequestTimeoutError(ServerError, OutcomeUnknownError, TimeoutError):
    """``etcdserver: request timed out``: the server proposed the request and gave up waiting
    for it; it may or may not have been applied."""


class TimeoutDueToLeaderFailError(RequestTimeoutError):
    """``etcdserver: request timed out, possibly due to previous leader failure``."""


class TimeoutDueToConnectionLostError(RequestTimeoutError):
    """``etcdserver: request timed out, possibly due to connection lost``."""


class TimeoutWaitAppliedIndexError(RequestTimeoutError):
    """``etcdserver: request timed out, waiting for the applied index took too long``."""


class UnhealthyError(ServerError):
    """``etcdserver: unhealthy cluster``."""


class CorruptError(ServerError):
    """``etcdserver: corrupt cluster``."""


class NotSupportedForLearnerError(ServerError):
    """``etcdserver: rpc not supported for learner``."""


class BadLeaderTransfereeError(ServerError):
    """``etcdserver: bad leader transferee``."""


class WrongDowngradeVersionFormatError(ServerError):
    """``etcdserver: wrong downgrade target version format``."""


class InvalidDowngradeTargetVersionError(ServerError):
    """``etcdserver: invalid downgrade target version``."""


class ClusterVersionUnavailableError(ServerError):
    """``etcdserver: cluster version not found during downgrade``."""


class DowngradeInProcessError(ServerError):
    """``etcdserver: cluster has a downgrade job in progress``."""


class NoInflightDowngradeError(ServerError):
    """``etcdserver: no inflight downgrade job``."""


class RequestCanceledError(ServerError, OutcomeUnknownError):
    """``etcdserver: request canceled``: the call was cancelled while its proposal was
    pending; it may or may not have been applied."""


# --- errors of the connection ---------------------------------------------------------------


class TransportError(EtcdError):
    """The request did not get an answer from etcd: ``ConnectionFailedError`` (never sent),
    ``ConnectionLostError``, ``DeadlineExceededError`` or ``RPCCancelledError`` (outcome
    unknown)."""


class ConnectionFailedError(TransportError):
    """No connection to the endpoint could be used (refused, unreachable, unresolvable, TLS
    handshake failed), so the request provably never left the client: nothing was applied and
    sending it again is safe. (A connection lost after sending is ``ConnectionLostError``.)"""

    outcome = "never sent"


class TLSHandshakeError(ConnectionFailedError):
    """The TLS handshake with the endpoint failed: an untrusted or misnamed server certificate,
    a missing or refused client certificate, or a server that does not speak TLS."""


class ConnectionLostError(TransportError, OutcomeUnknownError):
    """The connection broke after the request was sent (the member died or closed it: socket
    closed, reset, GOAWAY, keepalive timeout); the request may or may not have been applied."""


class DeadlineExceededError(TransportError, OutcomeUnknownError, TimeoutError):
    """The call's timeout passed before etcd answered; a write may or may not have been
    applied."""


class RPCCancelledError(TransportError, OutcomeUnknownError):
    """The RPC was cancelled: gRPC's ``CANCELLED`` status or Go's ``context canceled`` (for
    example the client was closed during the call); a write may or may not have been applied.

    Not ``asyncio.CancelledError`` (a task being cancelled), nor etcd's own
    ``RequestCanceledError`` (``etcdserver: request canceled``, a pending proposal given up).
    """


# --- errors raised on the client ------------------------------------------------------------


class ClientError(EtcdError):
    """A problem detected on the client, before or after talking to etcd."""


class ValueDecodeError(ClientError, ValueError):
    """A stored value could not be decoded into the requested type.

    ``key`` is the key (as the mapping names it, or bytes), ``revision`` the key's
    ``mod_revision`` and ``data`` the stored bytes, which are left as they are.
    """

    def __init__(
        self,
        message: str,
        *,
        key: object = None,
        revision: int | None = None,
        data: bytes | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.key = key
        self.revision = revision
        self.data = data


class ConflictError(ClientError):
    """A compare-and-write lost to a concurrent writer (``modify`` ran out of retries, or
    an ``editing`` block's key changed meanwhile). ``key`` is the key, ``revision`` its
    current ``mod_revision`` (0 if deleted) and ``current`` its current value when known."""

    def __init__(
        self,
        message: str,
        *,
        key: object = None,
        revision: int | None = None,
        current: object = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.key = key
        self.revision = revision
        self.current = current


class UniqueViolationError(ConflictError):
    """A repository save lost a unique field: ``value`` of ``field`` is held by the record
    ``holder`` (its key); nothing was written. ``key`` is the key of the record saved."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: object = None,
        holder: str | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.field = field
        self.value = value
        self.holder = holder


class OldClusterError(ClientError):
    """``reject_old_cluster=True`` and an endpoint runs an etcd older than the client supports
    (clientv3's ``etcdclient: old cluster version``)."""


class ClientClosedError(ClientError):
    """The client was used after ``close()`` / ``aclose()``."""


class MirrorLagError(ClientError, TimeoutError):
    """A write through a mirror WAS applied (at ``revision``), but the mirror's copy did not
    show it within the mirror's ``timeout`` (its watch lags or is lost). Do not write again:
    ``mirror.wait_for(revision)`` waits longer, ``mirror.map`` reads the server."""

    outcome = "applied"

    def __init__(self, message: str, *, revision: int, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.revision = revision


class MirrorDegradedError(TransportError):
    """A mirror's mapping read (``m[key]``, ``key in m``, ``len(m)``, iteration, the views)
    while the mirror is ``DEGRADED`` and its consistency is not ``"local"``: its watch has
    confirmed nothing for ``degraded_after`` seconds, so its copy may be stale. Raised with no
    I/O; ``mirror.read(key)`` asks the server first, ``mirror.local_get(key)`` answers from
    the copy."""


class ConfigError(ClientError, ValueError):
    """A client configuration (``Client.from_config``, ``load_config``) that cannot be used:
    an unknown key, a wrong type, a bad duration, conflicting spellings of one setting. The
    message names the key and where it came from."""


class LeaseExpiredError(ClientError):
    """A kept-alive lease was lost: the server answered TTL ≤ 0 (it expired or was revoked),
    or no keep-alive answer came within its TTL. ``lease_id`` is the lease."""

    def __init__(self, message: str, *, lease_id: int, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.lease_id = lease_id


class SnapshotIntegrityError(ClientError):
    """A snapshot is incomplete or damaged: its trailing sha256 does not match its data."""


class OrderingViolationError(ClientError):
    """An ordering KV got a response whose revision is older than one it saw before (a stale
    member answered). ``revision`` is the response's, ``prev_revision`` the highest seen,
    ``operation`` the call (``"get"`` or ``"txn"``) and ``response`` the stale response."""

    def __init__(
        self,
        message: str,
        *,
        revision: int,
        prev_revision: int,
        operation: str = "",
        response: object = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.revision = revision
        self.prev_revision = prev_revision
        self.operation = operation
        self.response = response


class NoGreaterRevisionError(OrderingViolationError):
    """The endpoint-switching violation handler gave up: after 5 violations per endpoint no
    member answered with a revision at least the highest seen (Go's ``ErrNoGreaterRev``)."""


class SessionExpiredError(ClientError):
    """A concurrency session's lease is gone (expired or revoked), so a lock or leadership
    held with it is lost; Go's ``mutex: session is expired``. ``key`` is the lock or leader
    key involved, when known."""

    def __init__(self, message: str, *, key: bytes | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.key = key


class LockReleasedError(ClientError, RuntimeError):
    """``release()`` of a lock this client does not hold (never acquired, or released
    already); Go's ``mutex: lock has already been released``."""


class ElectionNotLeaderError(ClientError):
    """``proclaim`` by a campaigner that is not (or no longer) the leader; Go's
    ``election: not leader``."""


class ElectionNoLeaderError(ClientError):
    """An election has no leader now; Go's ``election: no leader``."""


class TooManyClientsError(ClientError):
    """``DoubleBarrier.enter`` found its ``count`` participants already there (Go's recipes'
    ``too many clients``). ``key`` is the barrier's key."""

    def __init__(self, message: str, *, key: bytes | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.key = key


class PartialWriteError(EtcdError):
    """A bulk write split over several transactions (``EtcdMap.update``, ``PrefixCopy``)
    failed midway. ``written`` are the keys whose transactions etcd acknowledged,
    ``not_written`` those it did not apply, ``unknown`` those of the transaction in flight
    when its outcome became unknown (empty unless ``cause`` is an ``OutcomeUnknownError``);
    each in the order given, as the caller named them. ``cause`` is the error that stopped it.
    ``complete_revision`` is set by ``PrefixCopy``: the source revision up to which the
    destination holds every change (0: none; a new copy from it resumes), None elsewhere.

    The exception raised is also an instance of ``cause``'s class (a subclass of both, made
    once per class), so ``except RequestTooLargeError`` or ``except OutcomeUnknownError``
    still catch it, and the cause's typed fields (``code``, ``endpoint``, ...) are kept.
    """

    outcome = "partial"

    def __init__(
        self,
        message: str,
        *,
        cause: EtcdError,
        written: Sequence[Any],
        not_written: Sequence[Any],
        unknown: Sequence[Any] = (),
        complete_revision: int | None = None,
    ) -> None:
        EtcdError.__init__(
            self, message, code=cause.code, details=cause.details, endpoint=cause.endpoint
        )
        for name, value in vars(cause).items():  # the cause's own fields, e.g. compact_revision
            self.__dict__.setdefault(name, value)
        self.cause = cause
        self.written = list(written)
        self.not_written = list(not_written)
        self.unknown = list(unknown)
        self.complete_revision = complete_revision

    def __reduce__(self) -> tuple[Any, ...]:
        # the class is made at run time: pickle how to make it again
        return (_rebuild_partial_write, (
            str(self), self.cause, self.written, self.not_written, self.unknown,
            self.complete_revision,
        ))


#: The subclass of PartialWriteError and of each cause's class, made once per cause class.
_PARTIAL_WRITE_CLASSES: dict[type[EtcdError], type[PartialWriteError]] = {}


def _partial_write_class(cause: type[EtcdError]) -> type[PartialWriteError]:
    cls = _PARTIAL_WRITE_CLASSES.get(cause)
    if cls is None:
        made = type(
            f"PartialWriteError({cause.__name__})", (PartialWriteError, cause),
            {"__module__": PartialWriteError.__module__, "__doc__": PartialWriteError.__doc__},
        )
        cls = _PARTIAL_WRITE_CLASSES.setdefault(cause, made)
    return cls


def _rebuild_partial_write(
    message: str,
    cause: EtcdError,
    written: list[Any],
    not_written: list[Any],
    unknown: list[Any],
    complete_revision: int | None = None,
) -> PartialWriteError:
    return _partial_write_class(type(cause))(
        message, cause=cause, written=written, not_written=not_written, unknown=unknown,
        complete_revision=complete_revision,
    )


def partial_write_error(
    cause: EtcdError,
    what: str,
    written: Sequence[Any],
    not_written: Sequence[Any],
    unknown: Sequence[Any] = (),
    complete_revision: int | None = None,
) -> PartialWriteError:
    """The ``PartialWriteError`` for ``what`` (e.g. "update of map '/app/'") stopped by
    ``cause``: an instance of both ``PartialWriteError`` and ``type(cause)``."""
    outcome = f", {len(unknown)} unknown" if unknown else ""
    complete = (
        "" if complete_revision is None
        else f" (complete up to source revision {complete_revision})"
    )
    message = (
        f"{what}: {len(written)} keys written, {len(not_written)} not written{outcome}"
        f"{complete}: {cause}"
    )
    return _rebuild_partial_write(
        message, cause, list(written), list(not_written), list(unknown), complete_revision
    )


class ValueEncodeError(ClientError, ValueError):
    """A value could not be encoded for storage although its type is right (it refers to
    itself, is nested too deeply, or the codec refused it with a ``ValueError``); nothing
    was written. ``key`` is the key, as the mapping names it."""

    def __init__(self, message: str, *, key: object = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.key = key


#: The error table: etcd's exact server message -> the class raised for it.
ERROR_CLASSES: dict[str, type[EtcdError]] = {
    "etcdserver: key is not provided": EmptyKeyError,
    "etcdserver: key not found": KeyNotFoundError,
    "etcdserver: value is provided": ValueProvidedError,
    "etcdserver: lease is provided": LeaseProvidedError,
    "etcdserver: too many operations in txn request": TooManyOpsError,
    "etcdserver: duplicate key given in txn request": DuplicateKeyError,
    "etcdserver: invalid client api version": InvalidClientAPIVersionError,
    "etcdserver: invalid sort option": InvalidSortOptionError,
    "etcdserver: mvcc: required revision has been compacted": CompactedError,
    "etcdserver: mvcc: required revision is a future revision": FutureRevisionError,
    "etcdserver: mvcc: database space exceeded": NoSpaceError,
    "etcdserver: requested lease not found": LeaseNotFoundError,
    "etcdserver: lease already exists": LeaseExistError,
    "etcdserver: too large lease TTL": LeaseTTLTooLargeError,
    "etcdserver: watch canceled": WatchCanceledError,
    "etcdserver: member ID already exist": MemberExistError,
    "etcdserver: Peer URLs already exists": PeerURLExistError,
    "etcdserver: re-configuration failed due to not enough started members": (
        MemberNotEnoughStartedError
    ),
    "etcdserver: given member URLs are invalid": MemberBadURLsError,
    "etcdserver: member not found": MemberNotFoundError,
    "etcdserver: can only promote a learner member": MemberNotLearnerError,
    "etcdserver: can only promote a learner member which is in sync with leader": (
        LearnerNotReadyError
    ),
    "etcdserver: too many learner members in cluster": TooManyLearnersError,
    "etcdserver: cluster ID mismatch": ClusterIDMismatchError,
    "etcdserver: request is too large": RequestTooLargeError,
    "etcdserver: too many requests": TooManyRequestsError,
    "etcdserver: root user does not exist": RootUserNotExistError,
    "etcdserver: root user does not have root role": RootRoleNotExistError,
    "etcdserver: user name already exists": UserAlreadyExistError,
    "etcdserver: user name is empty": UserEmptyError,
    "etcdserver: user name not found": UserNotFoundError,
    "etcdserver: role name already exists": RoleAlreadyExistError,
    "etcdserver: role name not found": RoleNotFoundError,
    "etcdserver: role name is empty": RoleEmptyError,
    "etcdserver: authentication failed, invalid user ID or password": AuthFailedError,
    "etcdserver: permission not given": PermissionNotGivenError,
    "etcdserver: permission denied": PermissionDeniedError,
    "etcdserver: role is not granted to the user": RoleNotGrantedError,
    "etcdserver: permission is not granted to the role": PermissionNotGrantedError,
    "etcdserver: authentication is not enabled": AuthNotEnabledError,
    "etcdserver: invalid auth token": InvalidAuthTokenError,
    "etcdserver: invalid auth management": InvalidAuthMgmtError,
    "etcdserver: revision of auth store is old": AuthOldRevisionError,
    "etcdserver: no leader": NoLeaderError,
    "etcdserver: not leader": NotLeaderError,
    "etcdserver: leader changed": LeaderChangedError,
    "etcdserver: not capable": NotCapableError,
    "etcdserver: server stopped": StoppedError,
    "etcdserver: request timed out": RequestTimeoutError,
    "etcdserver: request timed out, possibly due to previous leader failure": (
        TimeoutDueToLeaderFailError
    ),
    "etcdserver: request timed out, possibly due to connection lost": (
        TimeoutDueToConnectionLostError
    ),
    "etcdserver: request timed out, waiting for the applied index took too long": (
        TimeoutWaitAppliedIndexError
    ),
    "etcdserver: unhealthy cluster": UnhealthyError,
    "etcdserver: corrupt cluster": CorruptError,
    "etcdserver: rpc not supported for learner": NotSupportedForLearnerError,
    "etcdserver: bad leader transferee": BadLeaderTransfereeError,
    "etcdserver: wrong downgrade target version format": WrongDowngradeVersionFormatError,
    "etcdserver: invalid downgrade target version": InvalidDowngradeTargetVersionError,
    "etcdserver: cluster version not found during downgrade": ClusterVersionUnavailableError,
    "etcdserver: cluster has a downgrade job in progress": DowngradeInProcessError,
    "etcdserver: no inflight downgrade job": NoInflightDowngradeError,
    "etcdserver: request canceled": RequestCanceledError,
    "etcdserver: context deadline exceeded": DeadlineExceededError,
}

#: Go's context errors, which etcd returns as they are when a call's deadline or cancellation
#: reaches the server first.
_CONTEXT_ERRORS: dict[str, type[EtcdError]] = {
    "context deadline exceeded": DeadlineExceededError,
    "context canceled": RPCCancelledError,
}

#: Go's concurrency package errors, which the v3lock / v3election services return as they are.
_CONCURRENCY_ERRORS: dict[str, type[EtcdError]] = {
    "mutex: session is expired": SessionExpiredError,
    "election: not leader": ElectionNotLeaderError,
    "election: no leader": ElectionNoLeaderError,
}

#: The fallback by status code; UNAVAILABLE is a lost connection unless ``never_sent``.
_BY_CODE: dict[grpc.StatusCode, type[EtcdError]] = {
    grpc.StatusCode.UNAVAILABLE: ConnectionLostError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.CANCELLED: RPCCancelledError,
}


def error_from_status(
    code: grpc.StatusCode | None, details: str | None, *, endpoint: str, action: str
) -> EtcdError:
    """Build the exception for a failed RPC.

    ``action`` says what was being done ("put b'key'"), so every message names the key and the
    endpoint involved, e.g. ``etcdserver: key is not provided (put b'' at 127.0.0.1:2379)``.
    The message of an ``OutcomeUnknownError`` says the request may or may not have been
    applied; an UNAVAILABLE status is a ``ConnectionFailedError`` only when ``never_sent``.
    """
    text = details or (code.name if code is not None else "unknown error")
    # Watch cancel reasons carry a Go status string around etcd's message.
    if text.startswith("rpc error: code = ") and " desc = " in text:
        text = text.split(" desc = ", 1)[1]
    cls = (
        ERROR_CLASSES.get(text)
        or _CONTEXT_ERRORS.get(text)
        or _CONCURRENCY_ERRORS.get(text)
        or (_BY_CODE.get(code, ServerError) if code else ServerError)
    )
    if cls is ConnectionLostError and never_sent(code, text):
        cls = ConnectionFailedError
    if "Sent message larger than max" in text:
        # gRPC refused to send it: nothing reached the server.
        cls = RequestTooLargeError
        message = f"{action}: the request is over the client's max_send_bytes ({text})"
    elif "trying to send message larger than max" in text:
        # an etcd gRPC proxy's own client refused to forward it: nothing reached the server
        cls = RequestTooLargeError
        message = (
            f"{action}: {text}: over the --max-send-bytes of the gRPC proxy at {endpoint} "
            "(1.5 MiB unless configured, as the server's --max-request-bytes)"
        )
    elif cls is RequestTooLargeError:
        message = (
            f"{action}: {text}: over the server's --max-request-bytes "
            f"(1.5 MiB unless configured) at {endpoint}"
        )
    elif cls is ConnectionFailedError and (hint := tls_failure_hint(text)) is not None:
        cls = TLSHandshakeError
        message = f"TLS handshake with etcd at {endpoint} failed: {hint} ({action}; {text})"
    elif cls is ConnectionFailedError:
        message = f"cannot reach etcd at {endpoint}: {text} ({action}; it was never sent)"
    elif cls is ConnectionLostError:
        message = f"lost the connection to etcd at {endpoint}: {text} ({action})"
    else:
        message = f"{text} ({action} at {endpoint})"
    if issubclass(cls, OutcomeUnknownError):
        message += "; it may or may not have been applied"
    return cls(message, code=code, details=text, endpoint=endpoint)
