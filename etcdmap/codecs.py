"""Value codecs of ``EtcdMap``: how a Python value becomes the bytes stored in etcd and back.

A codec is any object with ``encode(value) -> bytes`` and ``decode(data: bytes) -> value``
(the ``Codec`` protocol). The ready-made ones are built on msgspec, and each instance builds its
encoder and decoder once and reuses them for every call:

- ``Raw()``: bytes as they are;
- ``Str()``: UTF-8 text;
- ``Json(type)``: JSON, decoded and validated as ``type`` (a msgspec Struct, dataclass,
  attrs class, TypedDict, builtin type, or a pydantic model class, validated by pydantic:
  the ``[pydantic]`` extra; ``Any`` by default);
- ``MsgPack(type)``: the same with MessagePack.

Typed codecs validate on write as well as on read: ``encode`` raises ``TypeError`` for a value
that would not decode back as ``type``, so a wrong value never reaches etcd. ``decode`` raises
``ValueDecodeError`` (a ``ValueError``; the format's own error, msgspec's or pydantic's, is its
``__cause__``); ``EtcdMap`` raises one naming the key and revision.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, overload, runtime_checkable

import msgspec

from ._core.errors import ValueDecodeError
from ._core.pydantic_format import pydantic_format

__all__ = ["Codec", "Json", "MsgPack", "Raw", "Str", "codec_for"]

if TYPE_CHECKING:
    import typing_extensions

    #: ``Json()`` (no type) is a ``Json[Any]``: the default when the checker solves no ``T``.
    T = typing_extensions.TypeVar("T", default=Any)
else:
    T = TypeVar("T")


@runtime_checkable
class Codec(Protocol[T]):
    """Anything with ``encode(value) -> bytes`` and ``decode(bytes) -> value``."""

    def encode(self, value: T, /) -> bytes:
        """The bytes to store for ``value``; ``TypeError`` if it cannot be stored."""
        ...

    def decode(self, data: bytes, /) -> T:
        """The value stored as ``data``; raises (any exception) if it does not decode."""
        ...


class Raw:
    """Values are ``bytes`` (``bytearray`` and ``memoryview`` accepted on write), stored as is."""

    __slots__ = ()

    def encode(self, value: bytes, /) -> bytes:
        """``value`` as ``bytes``; ``TypeError`` for anything not bytes-like."""
        if isinstance(value, bytes):
            return value
        if isinstance(value, (bytearray, memoryview)):
            return bytes(value)
        raise TypeError(f"Raw codec stores bytes, not {type(value).__name__}")

    def decode(self, data: bytes, /) -> bytes:
        """The stored bytes."""
        return data

    def __repr__(self) -> str:
        return "Raw()"


class Str:
    """Values are ``str``, stored as UTF-8.

    ``errors`` is the codecs error handler: ``"strict"`` (invalid UTF-8 fails to decode) or,
    for example, ``"surrogateescape"`` (any bytes round-trip; the default for map keys).
    """

    __slots__ = ("errors",)

    def __init__(self, errors: str = "strict") -> None:
        self.errors = errors

    def encode(self, value: str, /) -> bytes:
        """``value`` in UTF-8; ``TypeError`` for anything but ``str``."""
        if not isinstance(value, str):
            raise TypeError(f"Str codec stores str, not {type(value).__name__}")
        return value.encode("utf-8", self.errors)

    def decode(self, data: bytes, /) -> str:
        """The stored text; ``UnicodeDecodeError`` (a ``ValueError``) if not UTF-8."""
        return data.decode("utf-8", self.errors)

    def __repr__(self) -> str:
        return "Str()" if self.errors == "strict" else f"Str(errors={self.errors!r})"


class _Msgspec(Generic[T]):
    """A msgspec format with one encoder and one typed decoder, built once per instance."""

    __slots__ = ("_decoder", "_encoder", "_validate", "type")
    _format = ""
    _module: Any = None  # msgspec.json or msgspec.msgpack, set by the subclass

    @overload
    def __init__(self, type: builtins.type[T]) -> None: ...
    @overload
    def __init__(self, type: Any = Any) -> None: ...
    def __init__(self, type: Any = Any) -> None:
        self.type = type
        self._encoder = self._module.Encoder()
        self._decoder = self._module.Decoder(type)
        # Encoding alone does not check field types (a Struct built with a wrong field type
        # encodes fine), so typed codecs decode what they encoded before it is sent.
        self._validate = type is not Any
        model = pydantic_format(type, self._module)
        if model is not None:  # a pydantic model: pydantic validates (on write too)
            self._encoder = self._decoder = model
            self._validate = False

    def encode(self, value: T, /) -> bytes:
        """``value`` encoded; ``TypeError`` if it is not encodable or not a valid ``type``."""
        try:
            data: bytes = self._encoder.encode(value)
            if self._validate:
                self._decoder.decode(data)
        except (TypeError, msgspec.EncodeError, msgspec.ValidationError) as error:
            raise TypeError(
                f"not a valid {_type_name(self.type)} ({self._format}, got "
                f"{type(value).__name__}): {error}"
            ) from None
        return data

    def decode(self, data: bytes, /) -> T:
        """The stored value decoded and validated as ``type``; ``ValueDecodeError`` if it
        is not one."""
        try:
            value: T = self._decoder.decode(data)
        except (msgspec.DecodeError, ValueError) as error:  # no ValueError in msgspec 0.18
            raise ValueDecodeError(
                f"not a valid {_type_name(self.type)} ({self._format}): {error}", data=data
            ) from error
        return value

    def __repr__(self) -> str:
        return f"{type(self).__name__}({_type_name(self.type)})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.type == self.type

    def __hash__(self) -> int:
        return hash((type(self), repr(self.type)))


class Json(_Msgspec[T]):
    """JSON values decoded and validated as ``type`` (``Json()`` accepts any JSON value).

    ``Json(MyStruct)``, ``Json(dict[str, int])``, ``Json(list[MyDataclass])``...
    """

    __slots__ = ()
    _format = "JSON"
    _module = msgspec.json


class MsgPack(_Msgspec[T]):
    """MessagePack values decoded and validated as ``type`` (``MsgPack()`` accepts any)."""

    __slots__ = ()
    _format = "MessagePack"
    _module = msgspec.msgpack


def codec_for(codec: Any = None, value_type: Any = None) -> Any:
    """The codec a map uses: ``codec`` if given, else ``Json(value_type)`` for a
    ``value_type``, else ``Raw()``. Giving both is a ``TypeError``; so is a codec without
    ``encode`` and ``decode``."""
    if codec is not None and value_type is not None:
        raise TypeError("give codec= or value_type=, not both")
    if codec is None:
        return Raw() if value_type is None else Json(value_type)
    if isinstance(codec, type) and issubclass(codec, (Raw, Str)):
        return codec()  # Raw and Str take no arguments: accept the class itself
    if not (callable(getattr(codec, "encode", None)) and callable(getattr(codec, "decode", None))):
        raise TypeError(f"codec must have encode() and decode() methods, not {codec!r}")
    return codec


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or repr(tp).replace("typing.", "")
