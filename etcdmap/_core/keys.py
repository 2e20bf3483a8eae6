"""Key and value coercion, and etcd's range-end arithmetic."""

from __future__ import annotations

__all__ = ["ALL_KEYS", "prefix_range", "prefix_range_end", "to_bytes"]

#: The range end meaning "to the end of the keyspace" (etcd's ``"\x00"``).
ALL_KEYS = b"\x00"


def to_bytes(value: bytes | str, what: str = "key") -> bytes:
    """Return ``value`` as bytes: str is UTF-8 encoded, bytes-like objects are copied.

    Raises TypeError naming ``what`` (the argument) for anything else.
    """
    if type(value) is bytes:
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what} must be bytes or str, not {type(value).__name__}")


def prefix_range_end(prefix: bytes) -> bytes:
    """The range end that selects every key starting with ``prefix``, exactly as etcd computes it.

    The last byte below 0xff is incremented and everything after it dropped; a prefix that is
    empty or all 0xff has no upper bound, which etcd spells ``b"\\x00"``.
    """
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return ALL_KEYS
    return stripped[:-1] + bytes((stripped[-1] + 1,))


def prefix_range(prefix: bytes) -> tuple[bytes, bytes]:
    """``(key, range_end)`` of every key starting with ``prefix``; the empty prefix is the
    whole keyspace, which etcd spells key ``"\x00"``, range end ``"\x00"``."""
    return prefix or ALL_KEYS, prefix_range_end(prefix)
