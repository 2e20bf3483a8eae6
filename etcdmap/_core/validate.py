"""The records of ``validate()``: one per stored value that does not decode. Sans-IO."""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["InvalidEntry", "invalid_entry"]


class InvalidEntry(msgspec.Struct, frozen=True):
    """A key whose stored value does not decode with the map's codec: ``error`` is the
    decoder's message, ``mod_revision`` the revision of the value's last write."""

    key: str
    error: str
    mod_revision: int


def invalid_entry(
    key: str, data: bytes, mod_revision: int, codec: Any, error: BaseException
) -> InvalidEntry:
    """The record of ``key``, whose stored ``data`` failed with ``error``: the decoder's own
    message is found by decoding ``data`` again (``error``'s when it decodes: a mirror's
    ``transform`` failed)."""
    message = str(error)
    try:
        codec.decode(data)
    except Exception as problem:
        message = str(problem)
    return InvalidEntry(key, message, mod_revision)
