"""Result objects without a server: ``GetResponse.kv``/``.value`` and ``KeyValue``'s repr."""

from __future__ import annotations

from etcdmap import GetResponse, KeyValue, ResponseHeader

HEADER = ResponseHeader(cluster_id=1, member_id=2, revision=9, raft_term=3)


def got(*kvs: KeyValue) -> GetResponse:
    return GetResponse(HEADER, list(kvs), len(kvs), False)


def test_kv_and_value_of_a_get_that_found_nothing_are_none() -> None:
    assert got().kv is None and got().value is None


def test_kv_and_value_are_the_first_key_found() -> None:
    a = KeyValue(key=b"a", value=b"1", create_revision=4, mod_revision=5, version=2)
    b = KeyValue(key=b"b", value=b"2")
    assert got(a, b).kv == a and got(a, b).value == b"1"
    assert got(KeyValue(key=b"k")).value == b""  # keys_only: found, with no value


def test_key_value_repr_is_one_line_with_a_shortened_value() -> None:
    kv = KeyValue(key=b"/cfg/a", value=b"v", create_revision=4, mod_revision=7, version=3, lease=8)
    assert repr(kv) == (
        "KeyValue(key=b'/cfg/a', value=b'v', create_revision=4, mod_revision=7, version=3, "
        "lease=8)"
    )
    big = repr(KeyValue(key=b"k", value=b"x" * 1000 + b"\n"))
    assert "\n" not in big and len(big) < 200
    assert f"value={b'x' * 32!r}... (1001 bytes)" in big
