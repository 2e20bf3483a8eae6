# Generated from tests/_async/test_map_apply.py by scripts/unasync: do not edit.
"""EtcdMap plans, applies and validation against a real etcd: only changed keys written,
guards against concurrent writers and stale plans, batches, and bad values found.

tests/_sync/test_map_apply.py is generated from this file by scripts/unasync.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from etcdmap import (
    Client,
    EtcdMap,
    Mirror,
    ConflictError,
    Op,
    PartialWriteError,
    Plan,
)
from etcdmap.codecs import Json
from etcdmap.errors import TooManyOpsError

from .helpers import Intruder


class Server(msgspec.Struct):
    host: str
    port: int = 80


def revision_of(client: Client) -> int:
    return (client.get("/")).header.revision


def mod_revisions(m: EtcdMap[Any]) -> dict[str, int]:
    ks = m.keyspace
    kvs = (m.client.get(ks.start, range_end=ks.end)).kvs
    return {ks.relative(kv.key): kv.mod_revision for kv in kvs}


def test_plan_then_apply_writes_only_the_changed_keys(
    etcd_client: Client, etcd_prefix: str
) -> None:
    m: EtcdMap[Server] = EtcdMap(etcd_client, etcd_prefix, value_type=Server)
    m.update({"a": Server("a"), "b": Server("b"), "c": Server("c"), "d": Server("d")})
    etcd_client.put(etcd_prefix + "b", '{ "host": "b" }')  # other bytes, same value
    before = mod_revisions(m)
    document = {
        "a": Server("a"),
        "b": Server("b"),
        "c": {"host": "c", "port": 81},
        "e": Server("e"),
    }
    plan = m.plan(document, prune=True)
    assert plan.added == {"e": Server("e")} and plan.removed == {"d": Server("d")}
    assert plan.changed == {"c": (Server("c"), Server("c", 81))} and plan.unchanged == 2
    assert plan.revision == revision_of(etcd_client) and plan.writes == 3
    assert str(plan).splitlines()[1:] == [
        "~ c: Server(host='c', port=80) -> Server(host='c', port=81)",
        "- d: Server(host='d', port=80)",
        "+ e: Server(host='e', port=80)",
    ]
    html = plan._repr_html_()  # one column per field of the Structs, the change as old → new
    assert "<th>host</th>" in html and "<th>port</th>" in html and "80 → 81" in html
    assert m.apply(plan) is plan
    after = mod_revisions(m)
    assert {k for k in before if k in after and after[k] != before[k]} == {"c"}
    assert set(after) == {"a", "b", "c", "e"} and after["c"] == after["e"] == m.revision
    assert revision_of(etcd_client) == plan.revision + 1  # one Txn


def test_a_round_trip_writes_nothing(
    etcd_client: Client, etcd_prefix: str
) -> None:
    m: EtcdMap[Any] = EtcdMap(etcd_client, etcd_prefix, codec=Json(Any))
    m.update({"x": {"n": [1, 2]}, "y": "text", "z": None})
    before = revision_of(etcd_client)
    plan = m.apply({k: v for k, v in m.items()}, prune=True)
    assert plan.writes == 0 and plan.unchanged == 3
    assert revision_of(etcd_client) == before


def test_apply_flattens_nested_documents(
    etcd_client: Client, etcd_prefix: str
) -> None:
    m: EtcdMap[Any] = EtcdMap(etcd_client, etcd_prefix, codec=Json(Any))
    plan = m.apply({"db": {"host": "h", "port": 5432}, "debug": True}, flatten="/")
    assert plan.revision > 0 and plan.added == {"db/host": "h", "db/port": 5432, "debug": True}
    assert {k: v for k, v in m.items()} == {"db/host": "h", "db/port": 5432, "debug": True}
    with pytest.raises(ValueError, match="'db/port' is given twice"):
        m.plan({"db/port": 1, "db": {"port": 2}}, flatten="/")
    with pytest.raises(TypeError, match="document must be a mapping"):
        m.plan([("a", 1)])  # type: ignore[arg-type]


def test_apply_under_a_concurrent_writer_raises_and_writes_nothing(
    etcd_client: Client, etcd_prefix: str
) -> None:
    def other_writer() -> None:  # a key the plan leaves unchanged
        etcd_client.put(etcd_prefix + "same", "2")

    m: EtcdMap[int] = EtcdMap(
        Intruder(etcd_client, other_writer), etcd_prefix, value_type=int
    )
    EtcdMap(etcd_client, etcd_prefix, value_type=int).update({"same": 1, "old": 1})
    before = mod_revisions(m)
    with pytest.raises(ConflictError):
        m.apply({"same": 1, "old": 2, "new": 3})
    after = mod_revisions(m)
    assert after["old"] == before["old"] and "new" not in after  # nothing written


def test_a_reviewed_plan_is_refused_once_a_key_it_writes_changed(
    etcd_client: Client, etcd_prefix: str
) -> None:
    m: EtcdMap[int] = EtcdMap(etcd_client, etcd_prefix, value_type=int)
    m.update({"a": 1, "b": 1})
    for atomic in (True, False):
        plan = m.plan({"a": 2, "b": 2, "c": 2})
        etcd_client.delete(etcd_prefix + "a")  # a key it changes, deleted
        with pytest.raises(ConflictError):
            m.apply(plan, atomic=atomic)
        assert m.get("b") == 1 and not m.contains("c")
        m.set("a", 1)
    plan = m.plan({"c": 2})
    etcd_client.put(etcd_prefix + "c", "3")  # a key it adds, created
    with pytest.raises(ConflictError):
        m.apply(plan, atomic=False)
    assert m["c"] == 3
    with pytest.raises(ValueError, match="plan is for map"):
        m.child("sub/").apply(plan)


def test_apply_in_batches_reports_what_was_written(
    etcd_client: Client, etcd_prefix: str
) -> None:
    def other_writer() -> None:
        etcd_client.put(etcd_prefix + "k7", "-1")

    plain: EtcdMap[int] = EtcdMap(etcd_client, etcd_prefix, value_type=int)
    plain.update({f"k{i}": 0 for i in range(10)})
    m: EtcdMap[int] = EtcdMap(
        Intruder(etcd_client, other_writer, txn_number=2), etcd_prefix,
        value_type=int, max_txn_ops=8,
    )  # fmt: skip
    document = {f"k{i}": 1 for i in range(10)}
    with pytest.raises(TooManyOpsError):  # 10 compares and a range compare in one Txn
        m.apply(document)
    with pytest.raises(PartialWriteError) as info:
        m.apply(document, atomic=False)  # 4 ops (8 compares) per Txn
    assert isinstance(info.value, ConflictError)
    assert info.value.written == ["k0", "k1", "k2", "k3"]
    assert info.value.not_written == [f"k{i}" for i in range(4, 10)]
    assert [plain[f"k{i}"] for i in range(10)] == [1] * 4 + [0] * 3 + [-1] + [0] * 2


def test_validate_finds_exactly_the_bad_values(
    etcd_client: Client, etcd_prefix: str
) -> None:
    m: EtcdMap[Server] = EtcdMap(
        etcd_client, etcd_prefix, value_type=Server, page_size=1000
    )
    good = b'{"host":"h","port":1}'
    bad = {"k00017": b"{", "k04711": b'{"host":1}', "k09999": b'{"port":"x"}'}
    keys = [f"k{i:05}" for i in range(10_000)]
    for start in range(0, len(keys), 128):
        puts = [Op.put(etcd_prefix + key, bad.get(key, good)) for key in keys[start : start + 128]]
        etcd_client.txn(success=puts)
    found = m.validate()
    assert [entry.key for entry in found] == sorted(bad)
    assert all(entry.mod_revision > 0 and "Expected" in entry.error for entry in found[1:])
    assert "truncated" in found[0].error or "JSON" in found[0].error


def test_a_mirror_plans_from_its_copy_and_applies_through_its_map(
    etcd_client: Client, etcd_prefix: str
) -> None:
    with Mirror(etcd_client, etcd_prefix, codec=Json(int)) as mirror:
        mirror.update({"a": 1, "b": 2})
        etcd_client.put(etcd_prefix + "bad", "x")
        mirror.wait_for(revision_of(etcd_client))
        plan = mirror.plan({"a": 1, "b": 3, "bad": 4})
        assert isinstance(plan, Plan) and plan.unchanged == 1 and plan.revision == mirror.revision
        assert plan.changed["b"] == (2, 3) and plan.changed["bad"][1] == 4
        assert [entry.key for entry in mirror.validate()] == ["bad"]
        mirror.apply(plan)
        assert mirror.local_get("b") == 3 and mirror.local_get("bad") == 4
        assert mirror.validate() == []
        assert (mirror.apply({"a": 1, "b": 3, "bad": 4})).writes == 0
