"""``KeySpace``: a map's prefix and codecs, the one place its keys and values become etcd's
bytes and back. Sans-IO; ``EtcdMap`` holds one as ``keyspace`` and ``Mirror`` is built on it.

The rules for keys (docs/getting-started.md, "Keys"):

- A key is a non-empty ``str`` relative to the prefix: ``m["a/b"]`` is etcd's key
  ``prefix + "a/b"``. The empty key would be the prefix key itself (``/app/`` for the map of
  ``/app/``), which is not part of the map: ``m[""]`` is a ``ValueError``, and listing,
  counting, ``clear()`` and watching start just after it (the range begins at
  ``prefix + "\x00"``), so a marker key written there by another tool is left alone.
- When the prefix ends with the separator ``/``, a key starting with ``/`` would double it
  (``/raw/`` + ``/lead`` = ``/raw//lead``), which is almost always an absolute path given by
  mistake: writing it is a ``ValueError``. Such a key written by another tool is still
  listed, read and deleted as ``"/lead"``.
- The empty prefix covers etcd's whole keyspace. That must be asked for: pass
  ``WHOLE_KEYSPACE`` (``EtcdMap(client, WHOLE_KEYSPACE)``); ``""`` or ``b""`` (an unset
  variable, say) is a ``ValueError``.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from .errors import ValueEncodeError
from .keys import prefix_range_end, to_bytes
from .mapping import decode_error
from .results import KeyValue

__all__ = ["SEPARATOR", "WHOLE_KEYSPACE", "KeySpace", "WholeKeyspace"]

V = TypeVar("V")

#: The separator of key paths: a key may not start with it when the prefix ends with it.
SEPARATOR = "/"


class WholeKeyspace(str):
    """The type of ``WHOLE_KEYSPACE``: an empty ``str`` that says "every key" on purpose."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "WHOLE_KEYSPACE"


#: The prefix of a map or mirror over etcd's whole keyspace (an empty prefix given on purpose).
WHOLE_KEYSPACE = WholeKeyspace()


def _encode_problem(error: BaseException) -> str:
    if isinstance(error, RecursionError):
        return "it refers to itself (a reference cycle) or is nested too deeply"
    return str(error)


class KeySpace(Generic[V]):
    """The keys under ``prefix`` with a key codec and a value codec.

    ``prefix`` is the raw prefix, ``name`` the same as text (for messages), ``start`` and
    ``end`` the range of every key under it: from just after the prefix key itself to etcd's
    prefix range end (the module's rules). ``key_codec`` turns a key (``str``, relative to
    the prefix) into the bytes after the prefix and back; ``codec`` a value into the stored
    bytes and back. No I/O.
    """

    __slots__ = ("_doubled", "codec", "end", "key_codec", "name", "prefix", "start")

    def __init__(self, prefix: bytes | str, codec: Any, key_codec: Any) -> None:
        self.prefix = to_bytes(prefix, "prefix")
        if not self.prefix and not isinstance(prefix, WholeKeyspace):
            raise ValueError(
                "prefix is empty, which would cover etcd's whole keyspace: pass "
                "etcdmap.WHOLE_KEYSPACE as the prefix if that is what you mean"
            )
        self.name = self.prefix.decode("utf-8", "backslashreplace")
        self.start, self.end = self.prefix + b"\x00", prefix_range_end(self.prefix)
        self.codec = codec
        self.key_codec = key_codec
        self._doubled = self.prefix.endswith(SEPARATOR.encode())

    @property
    def argument(self) -> bytes | str:
        """The prefix to give a constructor for a map or mirror of this key space (the
        empty prefix as ``WHOLE_KEYSPACE``)."""
        return self.prefix or WHOLE_KEYSPACE

    def __repr__(self) -> str:
        return f"KeySpace({self.name!r}, codec={self.codec!r}, key_codec={self.key_codec!r})"

    def full(self, key: str) -> bytes:
        """The etcd key of ``key``; ``TypeError`` naming it if the key codec refuses it."""
        try:
            relative: bytes = self.key_codec.encode(key)
        except TypeError as error:
            raise TypeError(f"key {key!r} of map {self.name!r}: {error}") from None
        if not relative:
            raise ValueError(
                f"key {key!r} of map {self.name!r}: the empty key would be the prefix key "
                "itself, which is not part of the map"
            )
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
        ``ValueEncodeError`` if it cannot be encoded, both naming ``key``; ``ValueError`` for
        a key that starts with the separator the prefix ends with (the module's rules)."""
        if self._doubled and isinstance(key, str) and key.startswith(SEPARATOR):
            raise ValueError(
                f"key {key!r} of map {self.name!r} starts with {SEPARATOR!r}, which the "
                f"prefix ends with: it would be stored as {self.name + key!r}; give the key "
                f"without the leading {SEPARATOR!r}"
            )
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

