"""Repository's sans-IO core: the index key encoding (property-tested), the schema's checks,
the Txn of a save/delete and what its failure reads mean, the check diff and its batches;
no server."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, TypedDict

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from etcdmap import ConflictError, UniqueViolationError
from etcdmap._core.bulk import TxnLimits
from etcdmap._core.kv import Compare, Op
from etcdmap._core.repository import (
    ABSENT,
    Diff,
    Layout,
    Schema,
    Stored,
    Write,
    decode_value,
    encode_value,
    plan_groups,
)
from etcdmap._core.results import GetResponse, KeyValue, ResponseHeader, TxnResponse

scalars = st.one_of(
    st.text(), st.binary(), st.integers(), st.booleans(),
    st.floats(allow_nan=False),
)  # fmt: skip
unicode = st.characters(blacklist_categories=("Cs",), blacklist_characters="/%")
keys = st.text(unicode, min_size=1)


@given(scalars)
def test_encoding_round_trips_and_never_holds_the_separator(value: Any) -> None:
    encoded = encode_value(value)
    assert b"/" not in encoded
    decoded = decode_value(encoded)
    assert type(decoded) is type(value) and (decoded == value)


@given(scalars, scalars)
def test_encoding_is_injective_by_type_and_value(a: Any, b: Any) -> None:
    same = type(a) is type(b) and a == b
    assert (encode_value(a) == encode_value(b)) == same


@given(st.text(unicode, min_size=1), scalars, keys)
def test_index_keys_parse_back(name: str, value: Any, key: str) -> None:
    layout = Layout("app/svc/")
    encoded = encode_value(value)
    full = layout.index_key(name, encoded, key)
    assert layout.parse_index(full) == (name, encoded, key)
    start, end = layout.index_range(name, encoded)
    assert start <= full < end
    other = layout.index_key(name, encode_value(value) + b"x", key)
    assert not start <= other < end  # one value's range holds no longer value's entries
    assert layout.parse_claim(layout.claim(name, encoded)) == (name, encoded)


def test_encoding_examples_and_refusals() -> None:
    assert encode_value("a/b%c\n") == b"s:a%2Fb%25c%0A"
    assert encode_value("été") == "s:été".encode()
    assert encode_value(-0.0) == encode_value(0.0) == b"f:0.0"
    assert encode_value(True) == b"b:true" and encode_value(1) == b"i:1"

    class Color(enum.Enum):
        RED = "red"

    assert encode_value(Color.RED) == b"s:red"
    with pytest.raises(ValueError, match="NaN"):
        encode_value(float("nan"))
    with pytest.raises(ValueError, match="Unicode"):
        encode_value("\ud800")
    with pytest.raises(TypeError, match="region must be str"):
        encode_value([1], "region")
    with pytest.raises(ValueError):
        decode_value(b"q:1")


def test_layout_keeps_index_and_claims_beside_the_records() -> None:
    layout = Layout("/reg/svc/")
    assert layout.record("web") == b"/reg/svc/web"
    assert layout.index_key("region", b"s:eu", "web") == b"/reg/svc.index/region/s:eu/web"
    assert layout.claim("port", b"i:80") == b"/reg/svc.unique/port/i:80"
    assert not layout.index.startswith(layout.prefix)
    assert not layout.unique.startswith(layout.prefix)
    for bad in ("svc", "/", b"x"):
        with pytest.raises(ValueError, match="prefix"):
            Layout(bad)


class Svc(msgspec.Struct):
    id: str
    name: str
    port: int
    region: str | None = None
    labels: list[str] = []


@dataclasses.dataclass
class Dc:
    id: str
    zone: str


class Td(TypedDict):
    id: str
    zone: str


def schema() -> Schema:
    return Schema(Svc, "id", ["region", ("label", lambda s: s.labels)], ["name", "port"])


def test_schema_reads_fields_of_structs_dataclasses_and_typeddicts() -> None:
    assert Schema(Dc, "id", ["zone"], []).derive(Dc("a", "eu")).index == {"zone": (b"s:eu",)}
    td = Schema(Td, "id", ["zone"], [])
    assert td.key_of({"id": "a", "zone": "eu"}) == "a"
    assert td.derive({"id": "a", "zone": "eu"}).index == {"zone": (b"s:eu",)}
    for model in (Svc, Dc, Td):
        with pytest.raises(ValueError, match="'nope'"):
            Schema(model, "id", ["nope"], [])
    s = schema()
    derived = s.derive(Svc("a", "n", 1, None, ["y", "x", "y"]))
    assert derived.index == {"region": (), "label": (b"s:x", b"s:y")}
    assert derived.unique == {"name": (b"s:n",), "port": (b"i:1",)}
    assert s.check_key(5) == "5"
    with pytest.raises(TypeError):
        s.check_key(True)
    for bad in ("a/b", "", "\ud800"):
        with pytest.raises(ValueError, match="'/'"):
            s.key_of(Svc(bad, "n", 1))
    with pytest.raises(ValueError, match="valid Unicode"):
        Schema(Svc, "id", [("\ud800", len)], [])


def header(revision: int) -> ResponseHeader:
    return ResponseHeader(1, 1, revision, 1)


def read(key: bytes, value: bytes | None, revision: int = 5) -> GetResponse:
    kvs = [] if value is None else [KeyValue(key=key, value=value, mod_revision=revision)]
    return GetResponse(header(9), kvs, len(kvs), False)


def described(ops: list[Op]) -> list[tuple[str, bytes]]:
    return [(op.kind, op.request.key) for op in ops]


def write(stored: Stored, new: Svc | None, expect: int | None = None) -> Write:
    s = schema()
    layout = Layout("p/")
    derived = None if new is None else s.derive(new)
    data = None if new is None else msgspec.json.encode(new)
    key = "a" if new is None else new.id
    return Write(
        s, layout, key, data, derived, stored, expect_revision=expect,
        decode=lambda kv: s.derive(msgspec.json.decode(kv.value, type=Svc)),
    )  # fmt: skip


def test_a_new_record_claims_its_values_and_adds_its_entries() -> None:
    compare, success, failure = write(ABSENT, Svc("a", "n", 1, "eu", ["x"])).request()
    assert compare == [
        Compare.mod_revision(b"p/a", "==", 0),
        Compare.create_revision(b"p.unique/name/s:n", "==", 0),
        Compare.create_revision(b"p.unique/port/i:1", "==", 0),
    ]
    assert described(success) == [
        ("put", b"p/a"), ("put", b"p.index/label/s:x/a"), ("put", b"p.index/region/s:eu/a"),
        ("put", b"p.unique/name/s:n"), ("put", b"p.unique/port/i:1"),
    ]  # fmt: skip
    assert success[-1].request.value == b"a"
    assert described(failure) == [
        ("get", b"p/a"), ("get", b"p.unique/name/s:n"), ("get", b"p.unique/port/i:1")
    ]


def test_a_change_touches_only_the_changed_values() -> None:
    old = Stored(5, schema().derive(Svc("a", "n", 1, "eu", ["x"])))
    compare, success, _ = write(old, Svc("a", "n", 2, "us", ["x"])).request()
    assert compare == [
        Compare.mod_revision(b"p/a", "==", 5),
        Compare.value(b"p.unique/name/s:n", "==", b"a"),  # kept: still ours
        Compare.value(b"p.unique/port/i:1", "==", b"a"),  # freed: delete while ours
        Compare.create_revision(b"p.unique/port/i:2", "==", 0),
    ]
    assert described(success) == [
        ("put", b"p/a"), ("put", b"p.index/region/s:us/a"),
        ("delete", b"p.index/region/s:eu/a"),
        ("delete", b"p.unique/port/i:1"), ("put", b"p.unique/port/i:2"),
    ]  # fmt: skip


def test_a_delete_removes_entries_and_claims() -> None:
    old = Stored(5, schema().derive(Svc("a", "n", 1, "eu")))
    compare, success, _ = write(old, None).request()
    assert described(success) == [
        ("delete", b"p/a"), ("delete", b"p.index/region/s:eu/a"),
        ("delete", b"p.unique/name/s:n"), ("delete", b"p.unique/port/i:1"),
    ]  # fmt: skip
    with pytest.raises(KeyError):
        write(ABSENT, None)


def failed(*reads: GetResponse) -> TxnResponse:
    return TxnResponse(header(9), False, list(reads))


def test_failure_reads_tell_a_clash_from_a_race() -> None:
    w = write(ABSENT, Svc("a", "n", 1))
    with pytest.raises(UniqueViolationError) as caught:
        w.failed(failed(read(b"p/a", None), read(b"x", None), read(b"x", b"other")))
    assert (caught.value.field, caught.value.value, caught.value.holder) == ("port", 1, "other")
    # a claim that is already ours (left by a raw write): compared as ours next time
    w = write(ABSENT, Svc("a", "n", 1))
    w.failed(failed(read(b"p/a", None), read(b"x", b"a"), read(b"x", None)))
    compare = w.request()[0]
    assert Compare.value(b"p.unique/name/s:n", "==", b"a") in compare
    # the record changed between the read and the Txn: computed again from what was read
    moved = msgspec.json.encode(Svc("a", "n", 1, "us"))
    w.failed(failed(read(b"p/a", moved, 7), read(b"x", None), read(b"x", None)))
    compare, success, _ = w.request()
    assert compare[0] == Compare.mod_revision(b"p/a", "==", 7)
    assert ("delete", b"p.index/region/s:us/a") in described(success)
    # ... unless the caller said which revision it expects
    w = write(Stored(5, None), Svc("a", "n", 1), expect=5)
    with pytest.raises(ConflictError) as conflict:
        w.failed(failed(read(b"p/a", moved, 7)))
    assert conflict.value.revision == 7 and not isinstance(conflict.value, UniqueViolationError)
    with pytest.raises(ConflictError):
        write(Stored(5, None), Svc("a", "n", 1), expect=4)


def test_check_diff_finds_and_repairs_each_kind_of_damage() -> None:
    s, layout = schema(), Layout("p/")
    diff = Diff(s, layout)
    diff.add_record("a", 3, s.derive(Svc("a", "n", 1, "eu")))
    diff.add_record("b", 4, s.derive(Svc("b", "m", 1, "us")))  # port 1 twice: a clash
    diff.add_record("c", 6, None)  # does not decode: its entries are kept
    diff.add_entries([
        KeyValue(key=b"p.index/region/s:us/b", mod_revision=4),
        KeyValue(key=b"p.index/region/s:eu/z", mod_revision=2),
        KeyValue(key=b"p.index/region/s:eu/c", mod_revision=2),
    ])  # fmt: skip
    diff.add_claims([
        KeyValue(key=b"p.unique/name/s:n", value=b"b", mod_revision=3),
        KeyValue(key=b"p.unique/port/i:1", value=b"a", mod_revision=3),
    ])  # fmt: skip
    report = diff.report(10)
    assert report.missing_entries == ["p.index/region/s:eu/a"]
    assert report.stale_entries == ["p.index/region/s:eu/z"]
    assert report.missing_claims == ["p.unique/name/s:m"]
    assert report.stale_claims == ["p.unique/name/s:n"]
    assert report.clashes == [("port", 1, ["a", "b"])]
    assert report.undecodable == ["c"] and not report.clean
    repairs = {bytes(r.compare[0].key): r for r in diff.repairs()}
    assert sorted(repairs) == [b"p/a", b"p/b", b"p/z"]
    assert repairs[b"p/z"].compare == [
        Compare.mod_revision(b"p/z", "==", 0),
        Compare.mod_revision(b"p.index/region/s:eu/z", "==", 2),
    ]
    assert described(repairs[b"p/a"].ops) == [
        ("put", b"p.index/region/s:eu/a"), ("put", b"p.unique/name/s:n")
    ]
    assert repairs[b"p/a"].compare[-1] == Compare.mod_revision(b"p.unique/name/s:n", "==", 3)


def test_repairs_are_batched_under_the_limits() -> None:
    s, layout = schema(), Layout("p/")
    diff = Diff(s, layout)
    for i in range(50):
        diff.add_record(f"k{i}", 1, s.derive(Svc(f"k{i}", f"n{i}", i, "eu")))
    repairs = diff.repairs()
    assert len(repairs) == 50 and all(len(r.ops) == 3 for r in repairs)
    batches = list(plan_groups(repairs, TxnLimits(max_txn_ops=10)))
    assert [len(b) for b in batches] == [2] * 25  # 4 compares each: 3 would be over 10
