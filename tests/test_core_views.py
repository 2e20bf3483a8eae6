"""The sans-IO parts of search, stats, change filters, views and the pydantic codec."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import attrs
import msgspec
import pydantic
import pytest

from etcdmap import Batch, Change, ChangeKind, KeyValue, PrefixStats
from etcdmap._core.changes import ChangeFilter
from etcdmap._core.keyspace import KeySpace
from etcdmap._core.search import Search, search_local, value_text
from etcdmap._core.stats import StatsTally
from etcdmap._core.views import flatten, render_table, text_table
from etcdmap.codecs import Json, MsgPack, Str
from etcdmap.errors import ValueDecodeError


@dataclasses.dataclass
class Inner:
    a: int
    deep: dict[str, Any]


class Outer(msgspec.Struct):
    name: str
    inner: Inner
    when: datetime.date = datetime.date(2026, 1, 2)


@attrs.define
class Quota:
    cpu: int


class Model(pydantic.BaseModel):
    name: str
    tags: list[str] = []


def test_flatten_values_into_columns() -> None:
    value = Outer("x", Inner(1, {"k": {"z": 1}}))
    assert flatten(value) == {
        "name": "x", "inner.a": 1, "inner.deep": {"k": {"z": 1}}, "when": datetime.date(2026, 1, 2),
    }
    assert flatten(value, depth=3)["inner.deep.k"] == {"z": 1}
    assert flatten(value, depth=1)["inner"] == {"a": 1, "deep": {"k": {"z": 1}}}
    assert flatten(Quota(2)) == {"cpu": 2}
    assert flatten(Model(name="m")) == {"name": "m", "tags": []}
    assert flatten({"a": {}, "b": 1}) == {"b": 1}  # an empty nested mapping: no column
    assert flatten(3) == {"value": 3} and flatten([1, 2]) == {"value": [1, 2]}
    assert flatten({}) == {"value": {}} and flatten(b"\xff") == {"value": b"\xff"}
    assert flatten(object)["value"] is object  # no form with fields: itself


def test_tables_escape_and_cut_cells() -> None:
    rows = [{"key": "<a>", "v": "x" * 100}, {"key": "b", "w": None}]
    html = render_table(rows, ["key", "v", "w"], title="<b>t</b>", more=3)
    assert "<td>&lt;a&gt;</td>" in html and "<b>t</b>" in html and "and 3 more" in html
    assert "x" * 59 + "…" in html and "<td></td>" in html
    assert render_table([], ["key"]) == "<div></div>"
    text = text_table(rows, ["key", "v"], title="T", width=5)
    assert text.splitlines() == ["T", "key  v", "<a>  xxxx…", "b"]


def test_search_matches_keys_and_values_as_text() -> None:
    assert value_text(b"\xffok") == "\ufffdok" and value_text("s") == "s"
    assert value_text(Outer("x", Inner(1, {}))) .startswith('{"name":"x"')
    assert value_text(Model(name="m")) == '{"name":"m","tags":[]}'
    assert value_text(object).startswith("<class")
    keys_only = Search("a.b")
    assert keys_only.key("xa.by") and not keys_only.key("aXb") and not keys_only.value("a.b")
    regex = Search("a.b", regex=True, keys=False, values=True)
    assert regex.value("aXb") and not regex.key("aXb")
    data = {"z": "1", "b": "2", "a": "1"}
    assert list(search_local(data, Search("1", keys=False, values=True))) == [("a", "1"), ("z", "1")]
    with pytest.raises(TypeError, match="pattern must be a str"):
        Search(3)  # type: ignore[arg-type]


def test_stats_tally_groups_keys_by_child_prefix() -> None:
    ks: KeySpace[str] = KeySpace("/p/", Str(), Str("surrogateescape"))
    tally = StatsTally(ks, 2, values=True)
    assert [tally.child(k) for k in (b"a/b/c", b"a/b", b"a", b"a//x")] == [
        b"a/b/", b"a/b", b"a", b"a//",
    ]
    tally.add_page([KeyValue(key=b"/p/a/b/c", value=b"12"), KeyValue(key=b"/p/x", value=b"")])
    tally.add_local({"a/b/d": "123"})
    stats = tally.result(7)
    assert stats.children == [PrefixStats("a/b/", 2, 16, 5), PrefixStats("x", 1, 4, 0)]
    assert stats.total == PrefixStats("", 3, 20, 5) and stats.revision == 7
    assert "<th>value_bytes</th>" in stats._repr_html_() and "(total)" in stats.text()
    with pytest.raises(ValueError, match="depth must be at least 1"):
        StatsTally(ks, 0, values=False)
    with pytest.raises(TypeError, match="depth must be an int"):
        StatsTally(ks, True, values=False)


def test_change_filter_keys_prefix_and_equal_values() -> None:
    same = Change("a", ChangeKind.MODIFIED, 1, 1, 5)
    real = Change("svc/x", ChangeKind.MODIFIED, 1, 2, 5)
    other = Change("b", ChangeKind.ADDED, None, 3, 5)
    batch = Batch(5, [same, real, other])
    assert ChangeFilter().batch(batch) == Batch(5, [real, other])
    assert ChangeFilter(only_changes=False).batch(batch) is batch
    assert ChangeFilter(keys=["a"], prefix="svc/").batch(batch) == Batch(5, [real])
    assert ChangeFilter(keys=["a"]).batch(batch) is None
    assert ChangeFilter(keys=["a"]).batch(Batch(6, [], "relist")) == Batch(6, [], "relist")


def test_pydantic_models_validate_on_write_and_read() -> None:
    for codec in (Json(Model), MsgPack(Model)):
        data = codec.encode(Model(name="m", tags=["t"]))
        assert codec.decode(data) == Model(name="m", tags=["t"])
        assert codec.decode(codec.encode({"name": "d"})) == Model(name="d")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="not a valid Model"):
            codec.encode({"tags": []})  # type: ignore[arg-type]
    for codec in (Json(Model), MsgPack(Model)):  # pydantic's and msgspec's errors alike
        with pytest.raises(ValueDecodeError, match="not a valid Model") as info:
            codec.decode(codec.encode({"name": "m"})[:-1])  # type: ignore[arg-type]
    with pytest.raises(ValueDecodeError, match="not a valid Model") as info:
        Json(Model).decode(b'{"name": 1}')
    assert isinstance(info.value.__cause__, pydantic.ValidationError)
