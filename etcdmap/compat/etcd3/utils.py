"""python-etcd3's helpers for keys, leases and watch responses."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ... import prefix_range_end as _prefix_range_end

if TYPE_CHECKING:
    from .events import Event
    from .watch import WatchResponse

__all__ = [
    "increment_last_byte",
    "lease_to_id",
    "prefix_range_end",
    "response_to_event_iterator",
    "to_bytes",
]


def increment_last_byte(byte_string: bytes) -> bytes:
    """``byte_string`` with its last byte plus one (``ValueError`` when it is 0xff).

    python-etcd3 made prefix ranges with it; use ``prefix_range_end`` for them."""
    data = bytearray(byte_string)
    data[-1] += 1
    return bytes(data)


def prefix_range_end(prefix: bytes | str) -> bytes:
    """The ``range_end`` covering every key under ``prefix``, as etcd computes it (trailing
    0xff bytes dropped; ``b"\\0"``, every key, for an empty or all-0xff prefix)."""
    return _prefix_range_end(to_bytes(prefix))


def to_bytes(maybe_bytestring: bytes | str) -> bytes:
    """``bytes`` unchanged, a ``str`` encoded as UTF-8."""
    if isinstance(maybe_bytestring, bytes):
        return maybe_bytestring
    return maybe_bytestring.encode("utf-8")


def lease_to_id(lease: Any) -> int:
    """The id of ``lease``: a ``Lease`` (its ``id``), an int, or 0 for anything else."""
    if hasattr(lease, "id"):
        return int(lease.id)
    try:
        return int(lease)
    except TypeError:
        return 0


def response_to_event_iterator(response_iterator: Iterable[WatchResponse]) -> Iterator[Event]:
    """The events of each watch response, in order."""
    for response in response_iterator:
        yield from response.events
