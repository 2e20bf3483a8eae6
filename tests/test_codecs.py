"""Value codecs without a server: round trips, validation on write and on read, reuse."""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from etcdmap.codecs import Codec, Json, MsgPack, Raw, Str, codec_for
from etcdmap.errors import ValueDecodeError


class Point(msgspec.Struct):
    x: int
    y: int = 0


@dataclasses.dataclass
class Box:
    label: str
    size: float


def test_raw_round_trip_and_types() -> None:
    codec = Raw()
    assert codec.encode(b"\x00\xff") == b"\x00\xff"
    assert codec.encode(bytearray(b"ab")) == b"ab"
    assert codec.encode(memoryview(b"cd")) == b"cd"
    assert codec.decode(b"\x01") == b"\x01"
    with pytest.raises(TypeError, match="Raw codec stores bytes, not str"):
        codec.encode("text")  # type: ignore[arg-type]


def test_str_strict_and_surrogateescape() -> None:
    assert Str().encode("héllo") == "héllo".encode()
    assert Str().decode("héllo".encode()) == "héllo"
    with pytest.raises(TypeError, match="not int"):
        Str().encode(1)  # type: ignore[arg-type]
    with pytest.raises(UnicodeDecodeError):
        Str().decode(b"\xff")
    lenient = Str("surrogateescape")
    assert lenient.encode(lenient.decode(b"\xff\x00a")) == b"\xff\x00a"
    assert repr(lenient) == "Str(errors='surrogateescape')" and repr(Str()) == "Str()"


@pytest.mark.parametrize("cls", [Json, MsgPack])
def test_typed_round_trip(cls: Any) -> None:
    codec = cls(Point)
    assert codec.decode(codec.encode(Point(1, 2))) == Point(1, 2)
    boxes = cls(list[Box])
    assert boxes.decode(boxes.encode([Box("a", 1.5)])) == [Box("a", 1.5)]


@pytest.mark.parametrize("cls", [Json, MsgPack])
def test_typed_codec_validates_on_write(cls: Any) -> None:
    codec = cls(Point)
    with pytest.raises(TypeError, match="not a valid Point"):
        codec.encode(Point("not an int"))  # type: ignore[arg-type]  # a Struct does not check
    with pytest.raises(TypeError, match="not a valid Point"):
        codec.encode({"y": 1})
    with pytest.raises(TypeError, match="not a valid"):
        cls(int).encode(object())


@pytest.mark.parametrize("cls", [Json, MsgPack])
def test_typed_codec_validates_on_read(cls: Any) -> None:
    # One error on every msgspec release: msgspec's own are no ValueErrors in 0.18 and 0.19.0.
    codec = cls(Point)
    wrong = cls().encode({"x": "text"})
    with pytest.raises(ValueDecodeError, match=r"not a valid Point \(.+\): Expected `int`") as info:
        codec.decode(wrong)
    assert info.value.data == wrong and isinstance(info.value.__cause__, msgspec.ValidationError)
    with pytest.raises(ValueDecodeError, match="not a valid Point"):
        codec.decode(b"\xc1 not valid in either format {")
    with pytest.raises(ValueError, match="not a valid Any"):
        cls().decode(b"\xc1 not valid in either format {")


def test_untyped_json_accepts_any_json() -> None:
    codec = Json()
    assert codec.decode(codec.encode({"a": [1, None, "x"]})) == {"a": [1, None, "x"]}
    assert repr(codec) == "Json(Any)" and repr(Json(Point)) == "Json(Point)"
    assert Json(Point) == Json(Point) and Json(Point) != MsgPack(Point)
    assert hash(Json(int)) == hash(Json(int))


def test_encoder_and_decoder_are_built_once_per_codec() -> None:
    codec = Json(Point)
    encoder, decoder = codec._encoder, codec._decoder
    for i in range(3):
        codec.decode(codec.encode(Point(i)))
    assert codec._encoder is encoder and codec._decoder is decoder


def test_codec_for_choices() -> None:
    assert isinstance(codec_for(), Raw)
    assert codec_for(value_type=Point) == Json(Point)
    assert isinstance(codec_for(Str), Str)  # the class itself is accepted
    custom = Str()
    assert codec_for(custom) is custom
    with pytest.raises(TypeError, match="not both"):
        codec_for(Json(int), int)
    with pytest.raises(TypeError, match="encode"):
        codec_for(object())
    assert isinstance(Json(int), Codec) and isinstance(Raw(), Codec)


class Upper:
    """A user codec: anything with encode/decode works."""

    def encode(self, value: str) -> bytes:
        return value.upper().encode()

    def decode(self, data: bytes) -> str:
        return data.decode().lower()


def test_user_codec_is_used_as_is() -> None:
    codec = codec_for(Upper())
    assert codec.encode("ab") == b"AB" and codec.decode(b"AB") == "ab"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)


@given(json_values)
def test_json_and_msgpack_round_trip_any_value(value: Any) -> None:
    for codec in (Json(), MsgPack()):
        assert codec.decode(codec.encode(value)) == value
