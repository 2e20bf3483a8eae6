"""Range-end arithmetic and key coercion, checked against etcd's definition."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etcdmap import prefix_range_end
from etcdmap._core.keys import to_bytes


def etcd_reference(prefix: bytes) -> bytes:
    # etcd's GetPrefixRangeEnd, restated: scan from the end for a byte below 0xff.
    end = bytearray(prefix)
    for i in range(len(end) - 1, -1, -1):
        if end[i] < 0xFF:
            end[i] += 1
            return bytes(end[: i + 1])
    return b"\x00"


@pytest.mark.parametrize(
    ("prefix", "end"),
    [
        (b"a", b"b"),
        (b"/app/", b"/app0"),
        (b"a\xff", b"b"),
        (b"a\xfe\xff\xff", b"a\xff"),
        (b"\xff\xff", b"\x00"),
        (b"", b"\x00"),
        (b"\x00", b"\x01"),
    ],
)
def test_prefix_range_end_examples(prefix: bytes, end: bytes) -> None:
    assert prefix_range_end(prefix) == end


@given(st.binary(max_size=12))
def test_prefix_range_end_matches_etcd(prefix: bytes) -> None:
    assert prefix_range_end(prefix) == etcd_reference(prefix)


@given(st.binary(min_size=1, max_size=8), st.binary(max_size=8))
def test_every_key_with_the_prefix_is_inside_the_range(prefix: bytes, suffix: bytes) -> None:
    end = prefix_range_end(prefix)
    key = prefix + suffix
    assert key >= prefix
    assert end == b"\x00" or key < end


@given(st.binary(min_size=1, max_size=8), st.binary(max_size=8))
def test_keys_without_the_prefix_are_outside(prefix: bytes, other: bytes) -> None:
    end = prefix_range_end(prefix)
    if not other.startswith(prefix):
        assert other < prefix or (end != b"\x00" and other >= end)


def test_to_bytes() -> None:
    assert to_bytes("é") == "é".encode()
    assert to_bytes(b"\x00\xff") == b"\x00\xff"
    assert to_bytes(bytearray(b"x")) == b"x"
    with pytest.raises(TypeError, match="value must be bytes or str, not int"):
        to_bytes(5, "value")  # type: ignore[arg-type]
