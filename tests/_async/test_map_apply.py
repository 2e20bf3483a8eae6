"""AsyncEtcdMap plans, applies and validation against a real etcd: only changed keys written,
guards against concurrent writers and stale plans, batches, and bad values found.

tests/_sync/test_map_apply.py is generated from this file by scripts/unasync.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from etcdmap import (
    AsyncClient,
    AsyncEtcdMap,
    AsyncMirror,
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


async def revision_of(client: AsyncClient) -> int:
    return (await client.get("/")).header.revision


async def mod_revisions(m: AsyncEtcdMap[Any]) -> dict[str, int]:
    ks = m.keyspace
    kvs = (await m.client.get(ks.start, range_end=ks.end)).kvs
    return {ks.relative(kv.key): kv.mod_revision for kv in kvs}


async def test_plan_then_apply_writes_only_the_changed_keys(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    m: AsyncEtcdMap[Server] = AsyncEtcdMap(async_etcd_client, etcd_prefix, value_type=Server)
    await m.update({"a": Server("a"), "b": Server("b"), "c": Server("c"), "d": Server("d")})
    await async_etcd_client.put(etcd_prefix + "b", '{ "host": "b" }')  # other bytes, same value
    before = await mod_revisions(m)
    document = {
        "a": Server("a"),
        "b": Server("b"),
        "c": {"host": "c", "port": 81},
        "e": Server("e"),
    }
    plan = await m.plan(document, prune=True)
    assert plan.added == {"e": Server("e")} and plan.removed == {"d": Server("d")}
    assert plan.changed == {"c": (Server("c"), Server("c", 81))} and plan.unchanged == 2
    assert plan.revision == await revision_of(async_etcd_client) and plan.writes == 3
    assert str(plan).splitlines()[1:] == [
        "~ c: Server(host='c', port=80) -> Server(host='c', port=81)",
        "- d: Server(host='d', port=80)",
        "+ e: Server(host='e', port=80)",
    ]
    html = plan._repr_html_()  # one column per field of the Structs, the change as old → new
    assert "<th>host</th>" in html and "<th>port</th>" in html and "80 → 81" in html
    assert await m.apply(plan) is plan
    after = await mod_revisions(m)
    assert {k for k in before if k in after and after[k] != before[k]} == {"c"}
    assert set(after) == {"a", "b", "c", "e"} and after["c"] == after["e"] == m.revision
    assert await revision_of(async_etcd_client) == plan.revision + 1  # one Txn


async def test_a_round_trip_writes_nothing(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    m: AsyncEtcdMap[Any] = AsyncEtcdMap(async_etcd_client, etcd_prefix, codec=Json(Any))
    await m.update({"x": {"n": [1, 2]}, "y": "text", "z": None})
    before = await revision_of(async_etcd_client)
    plan = await m.apply({k: v async for k, v in m.items()}, prune=True)
    assert plan.writes == 0 and plan.unchanged == 3
    assert await revision_of(async_etcd_client) == before


async def test_apply_flattens_nested_documents(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    m: AsyncEtcdMap[Any] = AsyncEtcdMap(async_etcd_client, etcd_prefix, codec=Json(Any))
    plan = await m.apply({"db": {"host": "h", "port": 5432}, "debug": True}, flatten="/")
    assert plan.revision > 0 and plan.added == {"db/host": "h", "db/port": 5432, "debug": True}
    assert {k: v async for k, v in m.items()} == {"db/host": "h", "db/port": 5432, "debug": True}
    with pytest.raises(ValueError, match="'db/port' is given twice"):
        await m.plan({"db/port": 1, "db": {"port": 2}}, flatten="/")
    with pytest.raises(TypeError, match="document must be a mapping"):
        await m.plan([("a", 1)])  # type: ignore[arg-type]


async def test_apply_under_a_concurrent_writer_raises_and_writes_nothing(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    async def other_writer() -> None:  # a key the plan leaves unchanged
        await async_etcd_client.put(etcd_prefix + "same", "2")

    m: AsyncEtcdMap[int] = AsyncEtcdMap(
        Intruder(async_etcd_client, other_writer), etcd_prefix, value_type=int
    )
    await AsyncEtcdMap(async_etcd_client, etcd_prefix, value_type=int).update({"same": 1, "old": 1})
    before = await mod_revisions(m)
    with pytest.raises(ConflictError):
        await m.apply({"same": 1, "old": 2, "new": 3})
    after = await mod_revisions(m)
    assert after["old"] == before["old"] and "new" not in after  # nothing written


async def test_a_reviewed_plan_is_refused_once_a_key_it_writes_changed(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    m: AsyncEtcdMap[int] = AsyncEtcdMap(async_etcd_client, etcd_prefix, value_type=int)
    await m.update({"a": 1, "b": 1})
    for atomic in (True, False):
        plan = await m.plan({"a": 2, "b": 2, "c": 2})
        await async_etcd_client.delete(etcd_prefix + "a")  # a key it changes, deleted
        with pytest.raises(ConflictError):
            await m.apply(plan, atomic=atomic)
        assert await m.get("b") == 1 and not await m.contains("c")
        await m.set("a", 1)
    plan = await m.plan({"c": 2})
    await async_etcd_client.put(etcd_prefix + "c", "3")  # a key it adds, created
    with pytest.raises(ConflictError):
        await m.apply(plan, atomic=False)
    assert await m["c"] == 3
    with pytest.raises(ValueError, match="plan is for map"):
        await m.child("sub/").apply(plan)


async def test_apply_in_batches_reports_what_was_written(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    async def other_writer() -> None:
        await async_etcd_client.put(etcd_prefix + "k7", "-1")

    plain: AsyncEtcdMap[int] = AsyncEtcdMap(async_etcd_client, etcd_prefix, value_type=int)
    await plain.update({f"k{i}": 0 for i in range(10)})
    m: AsyncEtcdMap[int] = AsyncEtcdMap(
        Intruder(async_etcd_client, other_writer, txn_number=2), etcd_prefix,
        value_type=int, max_txn_ops=8,
    )  # fmt: skip
    document = {f"k{i}": 1 for i in range(10)}
    with pytest.raises(TooManyOpsError):  # 10 compares and a range compare in one Txn
        await m.apply(document)
    with pytest.raises(PartialWriteError) as info:
        await m.apply(document, atomic=False)  # 4 ops (8 compares) per Txn
    assert isinstance(info.value, ConflictError)
    assert info.value.written == ["k0", "k1", "k2", "k3"]
    assert info.value.not_written == [f"k{i}" for i in range(4, 10)]
    assert [await plain[f"k{i}"] for i in range(10)] == [1] * 4 + [0] * 3 + [-1] + [0] * 2


async def test_validate_finds_exactly_the_bad_values(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    m: AsyncEtcdMap[Server] = AsyncEtcdMap(
        async_etcd_client, etcd_prefix, value_type=Server, page_size=1000
    )
    good = b'{"host":"h","port":1}'
    bad = {"k00017": b"{", "k04711": b'{"host":1}', "k09999": b'{"port":"x"}'}
    keys = [f"k{i:05}" for i in range(10_000)]
    for start in range(0, len(keys), 128):
        puts = [Op.put(etcd_prefix + key, bad.get(key, good)) for key in keys[start : start + 128]]
        await async_etcd_client.txn(success=puts)
    found = await m.validate()
    assert [entry.key for entry in found] == sorted(bad)
    assert all(entry.mod_revision > 0 and "Expected" in entry.error for entry in found[1:])
    assert "truncated" in found[0].error or "JSON" in found[0].error


async def test_a_mirror_plans_from_its_copy_and_applies_through_its_map(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    async with AsyncMirror(async_etcd_client, etcd_prefix, codec=Json(int)) as mirror:
        await mirror.update({"a": 1, "b": 2})
        await async_etcd_client.put(etcd_prefix + "bad", "x")
        await mirror.wait_for(await revision_of(async_etcd_client))
        plan = await mirror.plan({"a": 1, "b": 3, "bad": 4})
        assert isinstance(plan, Plan) and plan.unchanged == 1 and plan.revision == mirror.revision
        assert plan.changed["b"] == (2, 3) and plan.changed["bad"][1] == 4
        assert [entry.key for entry in await mirror.validate()] == ["bad"]
        await mirror.apply(plan)
        assert mirror.local_get("b") == 3 and mirror.local_get("bad") == 4
        assert await mirror.validate() == []
        assert (await mirror.apply({"a": 1, "b": 3, "bad": 4})).writes == 0
