"""Plans of a document against a map's content, nested documents flattened, and the guarded
ops that write a plan (no server)."""

from __future__ import annotations

from typing import Any

import pytest

from etcdmap import InvalidValue, Op, Plan
from etcdmap._core.bulk import BulkWrite, TxnLimits
from etcdmap._core.keyspace import KeySpace
from etcdmap._core.kv import compare_size, txn_request
from etcdmap._core.plan import flatten_document, plan_from_copy, plan_writes
from etcdmap.codecs import Json, Str

KS: KeySpace[Any] = KeySpace("/app/", Json(Any), Str())


def make(document: dict[str, Any], prune: bool = False, **copy: Any) -> Plan:
    data = copy.get("data", {"a": 1, "b": {"x": 1}, "c": "old"})
    return plan_from_copy(
        KS, document, prune=prune, flatten=None, revision=42, data=data,
        invalid=copy.get("invalid", {}),
    )  # fmt: skip


def test_a_plan_sorts_keys_into_added_changed_removed_unchanged() -> None:
    plan = make({"a": 1, "b": {"x": 2}, "d": [1]}, prune=True)
    assert plan.added == {"d": [1]} and plan.removed == {"c": "old"}
    assert plan.changed == {"b": ({"x": 1}, {"x": 2})} and plan.unchanged == 1
    assert plan.revision == 42 and plan.writes == 3 and plan.prefix == "/app/"
    assert str(plan) == (
        "plan for '/app/' at revision 42: 1 added, 1 changed, 1 removed, 1 unchanged\n"
        "~ b: {'x': 1} -> {'x': 2}\n"
        "- c: 'old'\n"
        "+ d: [1]"
    )
    html = plan._repr_html_()
    assert html.count("<tr style=") == 3 and "{&#x27;x&#x27;: 2}" in html


def test_without_prune_nothing_is_removed_and_values_compare_decoded() -> None:
    plan = make({"a": 1.0, "c": "old"})
    assert plan.writes == 0 and plan.unchanged == 2  # 1.0 == 1 once decoded


def test_a_value_that_does_not_decode_is_changed_or_removed() -> None:
    bad = InvalidValue("c", b"{", ValueError("truncated"), 7)
    plan = make({"c": "new"}, data={}, invalid={"c": bad})
    assert plan.changed == {"c": (bad, "new")}
    assert make({}, prune=True, data={}, invalid={"c": bad}).removed == {"c": bad}


def test_a_document_is_checked_before_anything_is_read() -> None:
    with pytest.raises(TypeError, match="value for key 'x'"):
        plan_from_copy(
            KeySpace("/p/", Json(int), Str()), {"x": "no int"}, prune=False, flatten=None,
            revision=1, data={}, invalid={},
        )  # fmt: skip


def test_flatten_joins_nested_keys() -> None:
    nested = {"db": {"host": "h", "pool": {"size": 4}}, "debug": False, "empty": {}}
    assert flatten_document(nested, "/") == {
        "db/host": "h", "db/pool/size": 4, "debug": False,
    }  # fmt: skip
    assert flatten_document(nested, None) == nested
    with pytest.raises(ValueError, match="'a.b' is given twice"):
        flatten_document({"a.b": 1, "a": {"b": 2}}, ".")
    with pytest.raises(TypeError, match="must be a str"):
        flatten_document({"a": {1: 2}}, "/")
    with pytest.raises(TypeError, match="non-empty str separator"):
        flatten_document({}, "")


def test_batched_writes_guard_each_key_and_atomic_ones_the_whole_prefix() -> None:
    plan = make({"a": 2, "b": {"x": 1}, "d": 4}, prune=True)
    ops, names, guards = plan_writes(plan, KS, None, atomic=False)
    assert names == ["a", "c", "d"] and [op.kind for op in ops] == ["put", "delete", "put"]
    assert [[(c.target, c.op, c.operand) for c in g] for g in guards] == [
        [("mod_revision", "<", 43), ("version", ">", 0)],
        [("mod_revision", "<", 43), ("version", ">", 0)],
        [("mod_revision", "<", 43)],
    ]
    _, _, whole = plan_writes(plan, KS, None, atomic=True)
    first = whole[0][0]
    # the map's range starts just after the prefix key itself, which is not part of the map
    assert (first.key, first.range_end, first.op, first.operand) == (
        b"/app/\x00", b"/app0", "<", 43,
    )
    assert [len(g) for g in whole] == [2, 1, 0]


def test_guards_count_in_the_size_and_op_limit_of_each_txn() -> None:
    ops = [Op.put(f"/k{i}", "v" * 50) for i in range(12)]
    guards = [[*plan_writes(make({"a": 2}), KS, None, atomic=False)[2][0]] for _ in ops]
    write = BulkWrite(ops, list(range(12)), TxnLimits(8, 100_000), what="w", guards=guards)
    sizes = []
    while (batch := write.next()) is not None:
        compares = write.compares()
        assert len(compares) <= 8 and len(batch) * 2 == len(compares)
        sizes.append(txn_request(compares, batch, []).ByteSize())
        write.done(1)
    assert write.transactions == 3
    one = txn_request(guards[0], ops[:1], []).ByteSize()
    assert one == sum(map(compare_size, guards[0])) + txn_request([], ops[:1], []).ByteSize()
