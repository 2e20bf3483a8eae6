"""Argument checks shared by the whole public API: timeouts, TTLs, counts, revisions, lease ids,
and the client a wrapper is given.

Every public method checks its arguments here before any I/O, so a bad argument raises a
``TypeError`` (wrong type) or ``ValueError`` (right type, bad value) naming the argument, and
nothing is sent, granted or half-written. One function per kind of argument keeps the rules
(and their messages) the same everywhere.
"""

from __future__ import annotations

import inspect
import math
from numbers import Real
from typing import Any

__all__ = [
    "INT64_MAX",
    "MAX_LEASE_TTL",
    "MAX_TIMEOUT",
    "check_client",
    "check_count",
    "check_lease_id",
    "check_revision",
    "check_seconds",
    "check_timeout",
    "check_ttl",
]

#: etcd's revisions, lease ids and counts are int64 on the wire.
INT64_MAX = 2**63 - 1

#: The longest timeout (about 31 years): gRPC turns a deadline further out into one that
#: has already passed (int64 nanoseconds since the epoch overflow), so a call would fail at once.
MAX_TIMEOUT = 10**9

#: The largest TTL etcd accepts (seconds); larger ones fail with ``LeaseTTLTooLargeError``.
MAX_LEASE_TTL = 9_000_000_000


def _number(value: Any, name: str) -> float:
    """``value`` as a float if it is a real number (``bool`` is not one here)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    return float(value)


def check_timeout(value: Any, name: str = "timeout", *, zero: bool = False) -> float | None:
    """``value`` if it is None or a finite number of seconds > 0 (≥ 0 with ``zero``: a wait
    that only looks and does not wait), at most ``MAX_TIMEOUT``.

    NaN, infinities and negative numbers are a ``ValueError``; ``bool``, ``str`` and other
    non-numbers a ``TypeError``; both name ``name``. (An infinite timeout is ``None``.)
    """
    if value is None:
        return None
    seconds = _number(value, name)
    if not math.isfinite(seconds) or seconds > MAX_TIMEOUT:
        raise ValueError(f"{name} must be a finite number of seconds up to {MAX_TIMEOUT} "
                         f"(None for no limit), got {value!r}")
    if seconds < 0 or (seconds == 0 and not zero):
        bound = ">= 0" if zero else "> 0"
        raise ValueError(f"{name} must be {bound} seconds (None for no limit), got {value!r}")
    return seconds


def check_seconds(value: Any, name: str, *, zero: bool = False) -> float:
    """``check_timeout`` for a setting that has no "no limit" form: None is a ``TypeError``."""
    seconds = check_timeout(value, name, zero=zero)
    if seconds is None:
        raise TypeError(f"{name} must be a number of seconds, not None")
    return seconds


def check_ttl(value: Any, name: str = "ttl") -> int:
    """A lease TTL in whole seconds: ``value`` must be a finite number > 0; a fraction is
    rounded up (etcd leases are whole seconds, and a key should live at least as long as
    asked), so ``0.2`` is 1 s and ``1.5`` is 2 s. It must fit etcd's int64; the server's
    own limit (``MAX_LEASE_TTL``) is left to the server, which answers
    ``LeaseTTLTooLargeError`` and grants nothing."""
    seconds = _number(value, name)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{name} must be a finite number of seconds > 0, got {value!r}")
    whole = math.ceil(value)  # ceil of an int (or Fraction) is exact; of a float, its int
    if whole > INT64_MAX:
        raise ValueError(f"{name} must be at most {INT64_MAX} seconds, got {value!r}")
    return int(whole)


def check_count(value: Any, name: str, *, minimum: int = 0, maximum: int = INT64_MAX) -> int:
    """``value`` if it is an int (not ``bool``) within ``[minimum, maximum]``: a number of
    retries, a limit, a page size."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        bound = {0: "not be negative", 1: "be positive"}.get(minimum, f"be >= {minimum}")
        raise ValueError(f"{name} must {bound}, got {value}")
    if value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_revision(value: Any, name: str = "revision") -> int:
    """``value`` if it is a revision: an int from 0 (etcd: the latest / no bound) up to
    etcd's int64 maximum."""
    return check_count(value, name)


def check_lease_id(value: Any, name: str = "lease", *, zero: bool = False) -> int:
    """``value`` if it is a lease id: an int from 1 to etcd's int64 maximum, or 0 when
    ``zero`` (where etcd reads 0 as "none" or "let the server choose")."""
    return check_count(value, name, minimum=0 if zero else 1)


def _counterpart(name: str) -> str:
    return name.removeprefix("Async") if name.startswith("Async") else "Async" + name


def _a(name: str) -> str:
    return f"an {name}" if name[0] in "AEIOU" else f"a {name}"


def check_client(client: Any, owner: type) -> None:
    """``TypeError`` unless ``client`` is of ``owner``'s flavour. ``owner`` is the class being
    built over ``client`` (``EtcdMap``, ``AsyncMirror``...): an ``Async...`` class needs an
    ``AsyncClient``, any other a ``Client`` (or a view of one: a namespace, a leasing or
    ordering KV). Without this, a blocking object given an async client fails far away on an
    un-awaited coroutine. The client's flavour is read from ``client.get``: a coroutine
    function is the asyncio flavour. Only names are compared, so ``_core`` needs no client."""
    owners = owner.__name__
    asynchronous = owners.startswith("Async")
    wanted = "AsyncClient" if asynchronous else "Client"
    method = getattr(client, "get", None)
    if not callable(method):
        raise TypeError(f"{owners} needs {_a(wanted)}, not {type(client).__name__}")
    if inspect.iscoroutinefunction(method) != asynchronous:
        raise TypeError(f"{owners} needs {_a(wanted)}; use {_counterpart(owners)} with "
                        f"{_a(_counterpart(wanted))}")
