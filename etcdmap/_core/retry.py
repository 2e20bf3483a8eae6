"""Which RPCs may be retried, and when: clientv3's retry policy as data.

Go's client sorts every RPC into "repeatable" (safe to send again: reads, and writes that are
idempotent by nature) and "non-repeatable" (Put, DeleteRange, Txn, Compact, membership and auth
changes). A repeatable RPC is retried when the server is unavailable; a non-repeatable one only
when the request provably never left the client, so a write is never applied twice.
"""

from __future__ import annotations

import random
from typing import Literal

import grpc
import msgspec

from .checks import check_count, check_seconds
from .tls import certificate_rejected, tls_failure_hint

__all__ = ["REPEATABLE", "RetryPolicy", "backoff", "never_sent", "retry_class", "should_retry"]

RetryClass = Literal["repeatable", "non-repeatable", "stream"]

#: RPCs that may be sent again after an UNAVAILABLE error (by gRPC service/method name).
REPEATABLE: frozenset[str] = frozenset({
    "KV/Range",
    "Lease/LeaseGrant",
    "Lease/LeaseRevoke",
    "Lease/LeaseTimeToLive",
    "Lease/LeaseLeases",
    "Lease/LeaseKeepAlive",
    "Cluster/MemberList",
    "Maintenance/Alarm",
    "Maintenance/Status",
    "Maintenance/Hash",
    "Maintenance/HashKV",
    "Maintenance/Snapshot",
    "Maintenance/MoveLeader",
    "Auth/UserList",
    "Auth/UserGet",
    "Auth/RoleGet",
    "Auth/RoleList",
})

#: Streams with their own resume logic; never retried by the unary policy.
_STREAMS = frozenset({"Watch/Watch"})

#: gRPC's (and grpc-go's) words for a call that found no connection to use: its request
#: provably never reached a server. Any other UNAVAILABLE may come after sending.
_NEVER_SENT = (
    "failed to connect to all addresses",
    "DNS resolution failed",
    "empty address list",
    "there is no address available",
    "there is no connection available",
)

#: Unavailable errors from a server that may have partly applied the request still carry an
#: etcd message; these are the ones the Go client still treats as retryable for reads.
_LEARNER = "etcdserver: rpc not supported for learner"


class RetryPolicy(msgspec.Struct, frozen=True):
    """How often and how patiently to retry.

    ``max_attempts`` counts every try (Go's default is 100, bounded in practice by the call's
    timeout); between rounds over all endpoints the client sleeps ``backoff_wait`` seconds
    ± ``backoff_jitter`` (a fraction).
    """

    max_attempts: int = 100
    backoff_wait: float = 0.025
    backoff_jitter: float = 0.10

    def __post_init__(self) -> None:
        check_count(self.max_attempts, "max_attempts", minimum=1)
        check_seconds(self.backoff_wait, "backoff_wait", zero=True)
        if not isinstance(self.backoff_jitter, (int, float)) or not (
            0 <= self.backoff_jitter <= 1
        ):
            raise ValueError(f"backoff_jitter must be a fraction 0..1, got {self.backoff_jitter!r}")


def never_sent(code: grpc.StatusCode | None, details: str) -> bool:
    """Whether a failed call's request provably never left the client: UNAVAILABLE because
    no connection could be made (refused, unresolvable, a failed TLS handshake). The one
    definition of "safe to send a write again", and of ``ConnectionFailedError``."""
    if code is not grpc.StatusCode.UNAVAILABLE:
        return False
    return details.startswith(_NEVER_SENT) or tls_failure_hint(details) is not None


def retry_class(rpc: str) -> RetryClass:
    """``"repeatable"``, ``"non-repeatable"`` or ``"stream"`` for ``"Service/Method"``."""
    if rpc in _STREAMS:
        return "stream"
    return "repeatable" if rpc in REPEATABLE else "non-repeatable"


def should_retry(
    rpc: str, code: grpc.StatusCode | None, details: str, *, endpoints: int = 1
) -> bool:
    """Whether a failed attempt of ``rpc`` may be sent again.

    Repeatable RPCs: only on UNAVAILABLE (which covers "no leader", "leader changed", "server
    stopped", a refused or dropped connection). Non-repeatable RPCs: only when the request
    never left the client. With several endpoints, a learner's refusal is always retried,
    since the next endpoint may be a voting member. A certificate refused in the TLS handshake
    is a configuration error, never retried.
    """
    if details == _LEARNER and endpoints > 1:
        return True
    kind = retry_class(rpc)
    if kind == "stream":
        return False
    if code is not grpc.StatusCode.UNAVAILABLE or certificate_rejected(details):
        return False
    if kind == "repeatable":
        return True
    return never_sent(code, details)


def backoff(attempt: int, endpoints: int, policy: RetryPolicy, rand: random.Random) -> float:
    """Seconds to wait before ``attempt`` (0-based), as Go's round-robin quorum backoff.

    The first attempt and attempts that move on to another endpoint of the current round go
    at once; once per quorum-sized round the client waits ``backoff_wait`` ± jitter.
    """
    if attempt == 0:
        return 0.0
    quorum = endpoints // 2 + 1
    if attempt % quorum:
        return 0.0
    jitter = policy.backoff_wait * policy.backoff_jitter
    return policy.backoff_wait + rand.uniform(-jitter, jitter)
