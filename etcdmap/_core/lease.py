"""Lease requests and responses, and the keep-alive schedule as a pure state machine.

The schedule follows clientv3's keep-alive loop: after each successful response a lease is
renewed again a third of the returned TTL later, and it counts as lost when a whole TTL passes
without a response; a response with TTL ≤ 0 means the server no longer has the lease. Time is
passed in as a number (``time.monotonic()`` in the clients), so every decision is testable
without a server or a clock.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from .._pb import etcdserverpb
from .checks import MAX_LEASE_TTL, check_lease_id, check_ttl
from .kv import parse_header
from .results import ResponseHeader

__all__ = [
    "FIRST_KEEPALIVE_TIMEOUT",
    "MAX_LEASE_TTL",
    "KeepAliveSchedule",
    "LeaseGrantResponse",
    "LeaseKeepAliveResponse",
    "LeaseRevokeResponse",
    "LeaseStatus",
    "LeaseTimeToLive",
    "grant_request",
    "keep_alive_request",
    "leases_request",
    "parse_grant",
    "parse_keep_alive",
    "parse_leases",
    "parse_revoke",
    "parse_time_to_live",
    "revoke_request",
    "time_to_live_request",
]


#: Seconds to wait for the first keep-alive response of a lease whose TTL is not known
#: (clientv3's default first-keep-alive timeout).
FIRST_KEEPALIVE_TIMEOUT = 5.0


class LeaseGrantResponse(msgspec.Struct, frozen=True, gc=False):
    """Result of a LeaseGrant: the lease's ``id`` and the ``ttl`` the server granted."""

    header: ResponseHeader
    id: int
    ttl: int


class LeaseRevokeResponse(msgspec.Struct, frozen=True, gc=False):
    """Result of a LeaseRevoke."""

    header: ResponseHeader


class LeaseTimeToLive(msgspec.Struct, frozen=True):
    """Result of a LeaseTimeToLive.

    ``ttl`` is the remaining seconds (-1 when the lease expired or never existed),
    ``granted_ttl`` the TTL it was granted (or last renewed) with, and ``keys`` the keys
    attached to it when they were asked for.
    """

    header: ResponseHeader
    id: int
    ttl: int
    granted_ttl: int
    keys: list[bytes]


class LeaseStatus(msgspec.Struct, frozen=True, gc=False):
    """One lease of ``leases()``."""

    id: int


class LeaseKeepAliveResponse(msgspec.Struct, frozen=True, gc=False):
    """One keep-alive answer: the lease's new ``ttl`` (≤ 0 when the lease is gone)."""

    id: int
    ttl: int
    header: ResponseHeader


# --- requests ---------------------------------------------------------------------------------


def grant_request(ttl: float, lease_id: int = 0) -> Any:
    """Build an ``etcdserverpb.LeaseGrantRequest``: ``ttl`` seconds > 0, a fraction rounded
    up (``check_ttl``); ``lease_id`` 1 to 2**63 - 1, or 0 to let the server choose."""
    return etcdserverpb.LeaseGrantRequest(
        TTL=check_ttl(ttl), ID=check_lease_id(lease_id, "id", zero=True)
    )


def revoke_request(lease_id: int) -> Any:
    """Build an ``etcdserverpb.LeaseRevokeRequest``."""
    return etcdserverpb.LeaseRevokeRequest(ID=lease_id)


def time_to_live_request(lease_id: int, keys: bool = False) -> Any:
    """Build an ``etcdserverpb.LeaseTimeToLiveRequest``."""
    return etcdserverpb.LeaseTimeToLiveRequest(ID=lease_id, keys=keys)


def leases_request() -> Any:
    """Build an ``etcdserverpb.LeaseLeasesRequest``."""
    return etcdserverpb.LeaseLeasesRequest()


def keep_alive_request(lease_id: int) -> Any:
    """Build an ``etcdserverpb.LeaseKeepAliveRequest``."""
    return etcdserverpb.LeaseKeepAliveRequest(ID=lease_id)


# --- responses --------------------------------------------------------------------------------


def parse_grant(response: Any) -> LeaseGrantResponse:
    """``LeaseGrantResponse`` -> LeaseGrantResponse."""
    return LeaseGrantResponse(parse_header(response.header), response.ID, response.TTL)


def parse_revoke(response: Any) -> LeaseRevokeResponse:
    """``LeaseRevokeResponse`` -> LeaseRevokeResponse."""
    return LeaseRevokeResponse(parse_header(response.header))


def parse_time_to_live(response: Any) -> LeaseTimeToLive:
    """``LeaseTimeToLiveResponse`` -> LeaseTimeToLive."""
    return LeaseTimeToLive(
        parse_header(response.header),
        response.ID,
        response.TTL,
        response.grantedTTL,
        list(response.keys),
    )


def parse_leases(response: Any) -> list[LeaseStatus]:
    """``LeaseLeasesResponse`` -> one LeaseStatus per lease."""
    return [LeaseStatus(status.ID) for status in response.leases]


def parse_keep_alive(response: Any) -> LeaseKeepAliveResponse:
    """``LeaseKeepAliveResponse`` -> LeaseKeepAliveResponse."""
    return LeaseKeepAliveResponse(response.ID, response.TTL, parse_header(response.header))


# --- the keep-alive schedule ------------------------------------------------------------------

KeepAliveOutcome = Literal["renewed", "gone", "unknown"]


class _Entry:
    __slots__ = ("deadline", "next_send", "ttl")

    def __init__(self, ttl: float, next_send: float, deadline: float) -> None:
        self.ttl = ttl
        self.next_send = next_send
        self.deadline = deadline


class KeepAliveSchedule:
    """When to renew each kept-alive lease, and when to give one up.

    - A lease added is due at once; its deadline is its known TTL (or ``first_timeout``)
      from now.
    - ``due(now)`` lists the leases to renew and moves their next send a third of the TTL
      ahead, so an unanswered request is repeated before the deadline passes.
    - ``on_response(id, ttl, now)``: TTL ≤ 0 drops the lease ("gone"); otherwise the next
      send is ``now + ttl / 3`` and the deadline ``now + ttl`` ("renewed").
    - ``expired(now)`` drops and lists the leases whose deadline passed with no answer.
    - ``resend_all(now)`` makes every lease due (a new stream was opened).
    """

    def __init__(self, first_timeout: float = FIRST_KEEPALIVE_TIMEOUT) -> None:
        self.first_timeout = first_timeout
        self._entries: dict[int, _Entry] = {}

    def __contains__(self, lease_id: object) -> bool:
        return lease_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, lease_id: int, now: float, ttl: float | None = None) -> bool:
        """Start keeping ``lease_id`` alive; False if it already is (nothing changes)."""
        if lease_id in self._entries:
            return False
        known = float(ttl) if ttl and ttl > 0 else self.first_timeout
        self._entries[lease_id] = _Entry(known, now, now + known)
        return True

    def remove(self, lease_id: int) -> bool:
        """Stop keeping ``lease_id`` alive; False if it was not kept alive."""
        return self._entries.pop(lease_id, None) is not None

    def due(self, now: float) -> list[int]:
        """The leases to renew at ``now``, in id order; each is next due a TTL/3 later."""
        ready = []
        for lease_id, entry in sorted(self._entries.items()):
            if entry.next_send <= now:
                entry.next_send = now + entry.ttl / 3
                ready.append(lease_id)
        return ready

    def on_response(self, lease_id: int, ttl: int, now: float) -> KeepAliveOutcome:
        """Record the server's answer for ``lease_id`` received at ``now``."""
        entry = self._entries.get(lease_id)
        if entry is None:
            return "unknown"
        if ttl <= 0:
            del self._entries[lease_id]
            return "gone"
        entry.ttl = float(ttl)
        entry.next_send = now + ttl / 3
        entry.deadline = now + ttl
        return "renewed"

    def expired(self, now: float) -> list[int]:
        """Drop and list the leases whose deadline is at or before ``now``."""
        gone = [lease_id for lease_id, e in sorted(self._entries.items()) if e.deadline <= now]
        for lease_id in gone:
            del self._entries[lease_id]
        return gone

    def resend_all(self, now: float) -> None:
        """Make every lease due at ``now`` (after opening a new stream)."""
        for entry in self._entries.values():
            entry.next_send = now

    def next_send(self, lease_id: int) -> float | None:
        """When ``lease_id`` is next due, or None if it is not kept alive."""
        entry = self._entries.get(lease_id)
        return None if entry is None else entry.next_send

    def deadline(self, lease_id: int) -> float | None:
        """When ``lease_id`` counts as lost without an answer, or None if not kept alive."""
        entry = self._entries.get(lease_id)
        return None if entry is None else entry.deadline

    def wait_time(self, now: float) -> float | None:
        """Seconds from ``now`` until the next send or deadline (≥ 0); None when empty."""
        if not self._entries:
            return None
        soonest = min(min(e.next_send, e.deadline) for e in self._entries.values())
        return max(0.0, soonest - now)
