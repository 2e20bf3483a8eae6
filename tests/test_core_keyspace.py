"""A map's ``KeySpace``: prefix range, keys and values to etcd's bytes and back (no server)."""

from __future__ import annotations

import msgspec
import pytest

from etcdmap import WHOLE_KEYSPACE, KeyValue, ValueDecodeError, ValueEncodeError
from etcdmap._core.keyspace import KeySpace
from etcdmap.codecs import Json, Raw, Str


def space(prefix: bytes | str = "/app/", codec: object = None) -> KeySpace[object]:
    return KeySpace(prefix, Json() if codec is None else codec, Str("surrogateescape"))


def test_prefix_range_and_name() -> None:
    ks = space("/app/")  # the range starts after the prefix key itself, not part of the map
    assert (ks.prefix, ks.name, ks.start, ks.end) == (b"/app/", "/app/", b"/app/\x00", b"/app0")
    whole = space(WHOLE_KEYSPACE)
    assert (whole.start, whole.end) == (b"\x00", b"\x00")  # the whole keyspace
    assert whole.argument is WHOLE_KEYSPACE and ks.argument == b"/app/"
    assert repr(WHOLE_KEYSPACE) == "WHOLE_KEYSPACE" and WHOLE_KEYSPACE == ""
    for empty in ("", b""):
        with pytest.raises(ValueError, match="prefix is empty"):
            space(empty)
    assert space(b"/\xff").name == "/\\xff"
    with pytest.raises(TypeError, match="prefix must be bytes or str"):
        space(42)  # type: ignore[arg-type]


def test_full_and_relative_keys_round_trip() -> None:
    ks = space()
    assert ks.full("a/b") == b"/app/a/b"
    assert ks.relative(b"/app/a/b") == "a/b"
    assert ks.relative(ks.full("\udcff")) == "\udcff"  # surrogateescape keeps any byte
    with pytest.raises(TypeError, match="key 3 of map '/app/'"):
        ks.full(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="key '' of map '/app/': the empty key"):
        ks.full("")
    strict = KeySpace("/s/", Raw(), Str())
    with pytest.raises(ValueDecodeError) as info:
        strict.relative(b"/s/\xff")
    assert info.value.key == b"/s/\xff"


class Config(msgspec.Struct):
    port: int


def test_values_encode_and_decode_naming_the_key() -> None:
    ks: KeySpace[Config] = KeySpace("/c/", Json(Config), Str())
    data = ks.encode("web", Config(80))
    assert data == b'{"port":80}'
    assert ks.decode("web", KeyValue(key=b"/c/web", value=data)) == Config(80)
    with pytest.raises(TypeError, match="value for key 'web' of map '/c/'"):
        ks.encode("web", "not a config")  # type: ignore[arg-type]
    with pytest.raises(ValueDecodeError, match="'web' \\(mod_revision 7\\)") as info:
        ks.decode("web", KeyValue(key=b"/c/web", value=b"{", mod_revision=7))
    assert (info.value.key, info.value.revision, info.value.data) == ("web", 7, b"{")


def test_a_value_that_refers_to_itself_is_a_value_encode_error() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(ValueEncodeError, match="refers to itself") as info:
        space().encode("k", loop)
    assert info.value.key == "k"


def test_fresh_is_a_decoded_copy() -> None:
    ks = space()
    default = {"tags": []}
    copy = ks.fresh("k", default)
    assert copy == default and copy is not default
    assert "KeySpace('/app/'" in repr(ks)


def test_a_key_doubling_the_separator_is_refused_on_write_only() -> None:
    ks = space("/raw/")
    with pytest.raises(ValueError, match="would be stored as '/raw//lead'"):
        ks.encode("/lead", 1)
    assert ks.full("/lead") == b"/raw//lead"  # reads and deletes still reach such a key
    assert space("/raw").encode("/lead", 1) == b"1"  # here the key brings the separator
    assert space(WHOLE_KEYSPACE).encode("/lead", 1) == b"1"
