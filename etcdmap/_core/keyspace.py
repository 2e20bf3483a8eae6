"""``KeySpace``: a map's prefix and codecs, the one place its keys and values become etcd's
bytes and back. Sans-IO; ``EtcdMap`` holds one as ``keyspace`` and ``Mirror`` is built on it.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from .errors import ValueEncodeError
from .keys import prefix_range, to_bytes
from .mapping import decode_error
from .results import KeyValue

__all__ = ["KeySpace"]

V = TypeVar("V")


def _encode_problem(error: BaseException) -> str:
    if isinstance(error, RecursionError):
        return "it refers to itself (a reference cycle) or is nested too deeply"
    return str(error)


class KeySpace(Generic[V]):
    """The keys under ``prefix`` with a key codec and a value codec.

    ``prefix`` is the raw prefix, ``name`` the same as text (for messages), ``start`` and
    ``end`` the range of every key under it (etcd's prefix range end). ``key_codec`` turns a
    key (``str``, relative to the prefix) into the bytes after the prefix and back; ``codec``
    a value into the stored bytes and back. No I/O.
    """

    __slots__ = ("codec", "end", "key_codec", "name", "prefix", "start")

    def __init__(self, prefix: bytes | str, codec: Any, key_codec: Any) -> None:
        self.prefix = to_bytes(prefix, "prefix")
        self.name = self.prefix.decode("utf-8", "backslashreplace")
        self.start, self.end = prefix_range(self.prefix)
        self.codec = codec
        self.key_codec = key_codec

    def __repr__(self) -> str:
        return f"KeySpace({self.name!r}, codec={self.codec!r}, key_codec={self.key_codec!r})"

    def full(self, key: str) -> bytes:
        """The etcd key of ``key``; ``TypeError`` naming it if the key codec refuses it."""
        try:
            relative: bytes = self.key_codec.encode(key)
        except TypeError as error:
            raise TypeError(f"key {key!r} of map {self.name!r}: {error}") from None
        return self.prefix + relative

    def relative(self, full: bytes) -> str:
        """The key of the etcd key ``full`` (under the prefix); ``ValueDecodeError`` if the
        key codec cannot decode it."""
        relative = full[len(self.prefix):]
        try:
            key: str = self.key_codec.decode(relative)
        except Exception as error:
            raise decode_error(full, relative, 0, self.key_codec, error) from error
        return key

    def encode(self, key: str, value: V) -> bytes:
        """``value``'s stored bytes: ``TypeError`` if it does not match the codec's type,
        ``ValueEncodeError`` if it cannot be encoded, both naming ``key``."""
        try:
            data: bytes = self.codec.encode(value)
        except TypeError as error:
            raise TypeError(f"value for key {key!r} of map {self.name!r}: {error}") from None
        except (ValueError, RecursionError) as error:
            raise ValueEncodeError(
                f"value for key {key!r} of map {self.name!r} cannot be encoded: "
                f"{_encode_problem(error)}", key=key,
            ) from None
        return data

    def decode(self, key: str, kv: KeyValue) -> V:
        """The value stored in ``kv`` (``key``'s); ``ValueDecodeError`` naming the key and its
        mod_revision if it does not decode."""
        try:
            value: V = self.codec.decode(kv.value)
        except Exception as error:
            raise decode_error(key, kv.value, kv.mod_revision, self.codec, error) from error
        return value

    def fresh(self, key: str, value: V) -> V:
        """A copy of ``value`` as it would read back once stored (encoded, then decoded)."""
        copy: V = self.codec.decode(self.encode(key, value))
        return copy

