"""AsyncEtcdMap against a real etcd: dict operations, lazy snapshot paging, decode errors,
atomic helpers, leases, child maps, transactions and the notebook reprs.

Written for AsyncEtcdMap; tests/_sync/test_mapping.py is generated from this file by
scripts/unasync, so the blocking EtcdMap passes exactly the same tests. Checks that only make
sense for the blocking class (MutableMapping, dict harness, threads) are in
tests/test_mapping_sync_only.py.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from etcdmap import (
    AsyncClient,
    AsyncEtcdMap,
    CompactedError,
    ConflictError,
    Entry,
    ValueDecodeError,
)
from etcdmap.codecs import Json, MsgPack, Str

from .helpers import KVCalls


class Server(msgspec.Struct):
    host: str
    port: int = 80
    tags: list[str] = []


async def as_dict(m: AsyncEtcdMap[Any]) -> dict[str, Any]:
    return {key: value async for key, value in m.items()}


async def raw_keys(client: AsyncClient, prefix: str) -> dict[bytes, bytes]:
    return {kv.key: kv.value for kv in (await client.get_prefix(prefix)).kvs}


async def test_set_get_delete_count_contains(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    m: AsyncEtcdMap[str] = AsyncEtcdMap(async_etcd_client, etcd_prefix, codec=Str())
    assert await m.count() == 0 and not await m.contains("a")
    revision = await m.set("a", "1")
    assert m.revision == revision
    await m.set("b", "2")
    assert await m["a"] == "1" and await m.get("b") == "2"
    assert await m.get("zz") is None and await m.get("zz", "d") == "d"
    assert await m.count() == 2 and await m.contains("a") and not await m.contains(3)
    with pytest.raises(KeyError) as info:
        await m["missing"]
    assert type(info.value) is KeyError and info.value.args == ("missing",)
    await m.delete("a")
    with pytest.raises(KeyError):
        await m.delete("a")
    assert await as_dict(m) == {"b": "2"}
    assert await raw_keys(async_etcd_client, etcd_prefix) == {etcd_prefix.encode() + b"b": b"2"}


async def test_typed_values_validate_on_write(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    m: AsyncEtcdMap[Server] = AsyncEtcdMap(async_etcd_client, etcd_prefix, value_type=Server)
    await m.set("web", Server("h", 8080, ["x"]))
    assert await m["web"] == Server("h", 8080, ["x"])
    with pytest.raises(TypeError, match="'bad'.*not a valid Server"):
        await m.set("bad", Server("h", "not-an-int"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a valid Server"):
        await m.update({"ok": Server("x"), "bad": {"port": 1}})  # type: ignore[dict-item]
    # nothing of a rejected write or update reached etcd
    assert set(await raw_keys(async_etcd_client, etcd_prefix)) == {etcd_prefix.encode() + b"web"}
    packed: AsyncEtcdMap[Server] = AsyncEtcdMap(async_etcd_client, etcd_prefix + "mp/", codec=MsgPack(Server))
    await packed.set("a", Server("p"))
    assert await packed["a"] == Server("p")


async def test_entry_revision_and_at(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    m: AsyncEtcdMap[int] = AsyncEtcdMap(async_etcd_client, etcd_prefix, codec=Json(int))
    first = await m.set("n", 1)
    second = await m.set("n", 2)
    entry = await m.entry("n")
    assert entry == Entry("n", 2, second, first, 2, 0)
    with pytest.raises(KeyError):
        await m.entry("missing")
    old = m.at(first)
    assert await old["n"] == 1 and await old.count() == 1
    assert [k async for k in old] == ["n"] and "at=" in repr(old)
    assert not hasattr(old, "set") and not hasattr(old, "delete")
    now = await m.snapshot()
    await m.set("later", 5)
    assert await now.count() == 1 and await m.count() == 2
    with pytest.raises(ValueError, match="positive"):
        m.at(0)


async def test_iteration_is_paged_in_key_order(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    m: AsyncEtcdMap[int] = AsyncEtcdMap(async_etcd_client, etcd_prefix, codec=Json(int), page_size=3)
    expected = {f"k{i:02}": i for i in range(10)}
    assert (await m.update(expected)).atomic
    assert [k async for k in m] == sorted(expected)
    keys = m.keys()
    assert [k async for k in keys] == sorted(expected) and keys.revision == m.revision
    assert [v async for v in m.values()] == [expected[k] for k in sorted(expected)]
    assert await as_dict(m) == expected
    assert await keys.count() == 10 and await keys.contains("k01") and not await keys.contains("x")
    assert await m.values().contains(3) and not await m.values().contains(99)
    assert await m.items().contains(("k03", 3)) and not await m.items().contains(("k03", 4))
    assert not await m.items().contains("k03")


async def test_passes_are_lazy_and_keys_only_when_possible(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    m: AsyncEtcdMap[bytes] = AsyncEtcdMap(async_etcd_client, etcd_prefix, page_size=2)
    await m.update({f"k{i}": b"v" * 100 for i in range(9)})
    requests: list[dict[str, Any]] = []
    original = m.client.get

    async def counting_get(*args: Any, **kwargs: Any) -> Any:
        requests.append(kwargs)
        return await original(*args, **kwargs)

    m.client.get = counting_get  # type: ignore[method-assign]
    try:
        async for _ in m:
            break  # an abandoned pass costs one page
        assert len(requests) == 1 and requests[0]["keys_only"] and requests[0]["limit"] == 2
        assert [k async for k in m.keys()][-1] == "k8" and len(requests) == 1 + 5
        assert all(r["revision"] == requests[2]["revision"] for r in requests[3:])
        await m.count()
        await m.contains("k1")
        assert requests[-1]["count_only"] and requests[-2]["count_only"]
        async for _ in m.values():
            break
        assert not requests[-1]["keys_only"]
    finally:
        del m.client.get


async def test_pass_is_one_snapshot_under_concurrent_writes(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    m: AsyncEtcdMap[int] = AsyncEtcdMap(async_etcd_client, etcd_prefix, codec=Json(int), page_size=2)
    await m.update({f"k{i}": i for i in range(8)})
    seen = {}
    view = m.items()
    async for key, value in view:
        if not seen:  # after the first page: change everything the pass has not read yet
            await m.set("k7", 700)
            await m.delete("k6")
            await m.set("k5x", 55)
        seen[key] = value
    assert seen == {f"k{i}": i for i in range(8)}
    assert view.revision < m.revision
    assert (await as_dict(m))["k7"] == 700


async def test_compaction_during_a_pass(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    m: AsyncEtcdMap[int] = AsyncEtcdMap(async_etcd_client, etcd_prefix, codec=Json(int), page_size=2)
    await m.update({f"k{i}": i for i in range(6)})
    passed = []
    with pytest.raises(CompactedError, match="iterate again") as info:
        async for key in m:
            if not passed:
                await m.set("k0", 100)
                await async_etcd_client.compact(m.revision)
            passed.append(key)
    assert passed == ["k0", "k1"] and info.value.compact_revision == m.revision
    assert [k async for k in m] == [f"k{i}" for i in range(6)]  # a new pass works


async def test_decode_errors_name_key_and_revision(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    m: AsyncEtcdMap[Server] = AsyncEtcdMap(async_etcd_client, etcd_prefix, value_type=Server, page_size=2)
    await m.set("a", Server("a"))
    bad = await async_etcd_client.put(etcd_prefix + "b", "{not json")
    wrong = await async_etcd_client.put(etcd_prefix + "c", '{"host": 5}')
    await m.set("d", Server("d"))
    with pytest.raises(ValueDecodeError, match=r"'b' \(mod_revision \d+\)") as info:
        await m["b"]
    assert isinstance(info.value, ValueError)
    assert (info.value.key, info.value.revision) == ("b", bad.header.revision)
    assert info.value.data == b"{not json"
    with pytest.raises(ValueDecodeError):
        await as_dict(m)
    skipped = m.items(on_error="skip")
    assert [k async for k, _ in skipped] == ["a", "d"] and skipped.errors == []
    collected = m.values(on_error="collect")
    assert [v.host async for v in collected] == ["a", "d"]
    assert [(e.key, e.revision) for e in collected.errors] == [("b", bad.header.revision), ("c", wrong.header.revision)]
    assert [k async for k in m] == ["a", "b", "c", "d"]  # keys need no decoding
    with pytest.raises(ValueDecodeError):
        await m.pop("b")
    with pytest.raises(ValueDecodeError):
        await m.modify("c", lambda s: s)
    # the stored bytes are never rewritten
    stored = await raw_keys(async_etcd_client, etcd_prefix)
    assert stored[(etcd_prefix + "b").encode()] == b"{not json"
    assert stored[(etcd_prefix + "c").encode()] == b'{"host": 5}'
    with pytest.raises(ValueError, match="on_error"):
        m.items(on_error="ignore")  # type: ignore[arg-type]


async def test_sibling_prefix_is_never_touched(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    base = etcd_prefix + "a"
    await async_etcd_client.put(base, "the prefix key without slash")
    await async_etcd_client.put(base + "b", "sibling")
    await async_etcd_client.put(base + "b/x", "sibling child")
    m: AsyncEtcdMap[bytes] = AsyncEtcdMap(async_etcd_client, base + "/")
    await m.update({"x": b"1", "y/z": b"2", "\xff": b"3"})
    assert await m.count() == 3 and [k async for k in m] == ["x", "y/z", "\xff"]
    assert await m.clear() == 3
    assert await m.count() == 0
    assert await raw_keys(async_etcd_client, etcd_prefix) == {
        base.encode(): b"the prefix key without slash",
        (base + "b").encode(): b"sibling",
        (base + "b/x").encode(): b"sibling child",
    }


async def test_atomic_helpers(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    m: AsyncEtcdMap[int] = AsyncEtcdMap(async_etcd_client, etcd_prefix, codec=Json(int))
    assert await m.setdefault("a", 1) == 1 and await m.setdefault("a", 2) == 1
    assert await m.put_if_absent("b", 2) and not await m.put_if_absent("b", 3)
    assert await m.compare_and_swap("b", 2, 20) and not await m.compare_and_swap("b", 2, 30)
    assert not await m.compare_and_swap("nope", 0, 1) and not await m.contains("nope")
    entry = await m.entry("b")
    assert await m.replace("b", 21, revision=entry.mod_revision)
    assert not await m.replace("b", 22, revision=entry.mod_revision)
    assert await m.replace("new", 1, revision=0) and not await m.replace("new", 2, revision=0)
    assert await m["b"] == 21
    assert await m.pop("b") == 21 and await m.pop("b", None) is None
    with pytest.raises(KeyError):
        await m.pop("b")
    assert await m.popitem() == ("a", 1)
    assert await m.popitem() == ("new", 1)
    with pytest.raises(KeyError, match="empty"):
        await m.popitem()


async def test_modify_retries_then_conflicts(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    m: AsyncEtcdMap[int] = AsyncEtcdMap(async_etcd_client, etcd_prefix, codec=Json(int))
    assert await m.modify("n", lambda v: v + 1, default=0) == 1
    with pytest.raises(KeyError):
        await m.modify("missing", lambda v: v)
    calls = []

    async def interfere() -> None:
        await async_etcd_client.put(etcd_prefix + "n", str(100 + len(calls)))

    # fn is pure; the interference is done between attempts by reading what fn saw
    seen: list[int] = []

    def bump(v: int) -> int:
        seen.append(v)
        return v + 1

    await interfere()
    assert await m.modify("n", bump) == 101
    # losing every race: a writer that always gets in between read and write
    original = m.client.txn

    async def racing_txn(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        await interfere()
        return await original(*args, **kwargs)

    m.client.txn = racing_txn  # type: ignore[method-assign]
    try:
        with pytest.raises(ConflictError, match="3 attempts") as info:
            await m.modify("n", bump, retries=2)
    finally:
        del m.client.txn
    assert len(calls) == 3 and info.value.key == "n"
    assert info.value.revision == (await m.entry("n")).mod_revision


async def test_editing_writes_back_or_conflicts(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    m: AsyncEtcdMap[Server] = AsyncEtcdMap(async_etcd_client, etcd_prefix, value_type=Server)
    await m.set("web", Server("h"))
    async with m.editing("web") as server:
        server.tags.append("prod")
        server.port = 443
    assert await m["web"] == Server("h", 443, ["prod"])
    with pytest.raises(RuntimeError):
        async with m.editing("web") as server:
            server.port = 1
            raise RuntimeError("abandon")
    assert (await m["web"]).port == 443  # nothing written when the body raises
    with pytest.raises(ConflictError, match="changed since") as info:
        async with m.editing("web") as server:
            server.port = 2
            await m.set("web", Server("other"))
    assert info.value.current == Server("other") and await m["web"] == Server("other")
    handle = m.editing("fresh", default=Server("d"))
    async with handle as server:
        handle.value = Server("replaced")
    assert await m["fresh"] == Server("replaced")
    with pytest.raises(KeyError):
        async with m.editing("missing"):
            pass


async def test_update_batches_and_reports_atomicity(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    m: AsyncEtcdMap[int] = AsyncEtcdMap(async_etcd_client, etcd_prefix, codec=Json(int))
    small = await m.update([("a", 1), ("a", 2)], b=3)
    assert (small.written, small.transactions, small.atomic) == (2, 1, True)
    assert small.revision == m.revision and await m["a"] == 2
    exact = await m.update({f"x{i:03}": i for i in range(128)})
    assert (exact.transactions, exact.atomic) == (1, True)
    big = await m.update({f"y{i:03}": i for i in range(300)})
    assert (big.written, big.transactions, big.atomic) == (300, 3, False)
    assert await m.count() == 2 + 128 + 300
    assert (await m.update()).written == 0


async def test_ttl_and_map_lease(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    m: AsyncEtcdMap[bytes] = AsyncEtcdMap(async_etcd_client, etcd_prefix)
    await m.set("plain", b"x")
    await m.set("short", b"x", ttl=30)
    lease_id = (await m.entry("short")).lease
    assert lease_id and (await m.entry("plain")).lease == 0
    assert 0 < (await async_etcd_client.lease_time_to_live(lease_id)).ttl <= 30
    with pytest.raises(TypeError, match="not both"):
        await m.set("k", b"x", ttl=5, lease=lease_id)
    lease = await async_etcd_client.lease_grant(60)
    leased: AsyncEtcdMap[bytes] = AsyncEtcdMap(async_etcd_client, etcd_prefix + "svc/", lease=lease)
    await leased.set("a", b"1")
    await leased.update({"b": b"2"})
    assert await leased.setdefault("c", b"3") == b"3"
    await leased.modify("a", lambda v: v + b"!")
    assert {(await leased.entry(k)).lease for k in "abc"} == {lease.id}
    await lease.revoke()
    assert await leased.count() == 0 and await m.count() == 2


async def test_child_maps_share_the_client(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    m: AsyncEtcdMap[int] = AsyncEtcdMap(async_etcd_client, etcd_prefix, codec=Json(int))
    db = m.child("db/")
    await db.set("port", 5432)
    await m.set("top", 1)
    assert await m["db/port"] == 5432 and db.client is m.client
    names = m.child("names/", codec=Str())
    await names.set("x", "text")
    assert await names["x"] == "text"
    await db.clear()
    assert [k async for k in m] == ["names/x", "top"]


async def test_transaction_is_serializable_with_retry(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    m: AsyncEtcdMap[int] = AsyncEtcdMap(async_etcd_client, etcd_prefix, codec=Json(int))
    await m.update({"alice": 100, "bob": 0})
    attempts = []

    async def transfer(tx: Any) -> int:
        attempts.append(1)
        alice = await tx["alice"]
        bob = await tx.get("bob", 0)
        if len(attempts) == 1:  # another writer changes a key this attempt read
            await async_etcd_client.put(etcd_prefix + "alice", "90")
        tx.set("alice", alice - 30)
        tx.set("bob", bob + 30)
        assert await tx["alice"] == alice - 30 and await tx.contains("bob")
        await tx.delete("bob")
        assert await tx.get("bob") is None
        tx.set("bob", bob + 30)
        return alice

    assert await m.transaction(transfer) == 90
    assert len(attempts) == 2 and await as_dict(m) == {"alice": 60, "bob": 30}

    async def missing(tx: Any) -> None:
        await tx.delete("nobody")

    with pytest.raises(KeyError):
        await m.transaction(missing)

    async def always_loses(tx: Any) -> None:
        await tx["alice"]
        await async_etcd_client.put(etcd_prefix + "alice", "1")
        tx.set("bob", 0)

    with pytest.raises(ConflictError, match="2 attempts"):
        await m.transaction(always_loses, retries=1)


async def test_a_read_only_transaction_is_one_snapshot_and_commits_nothing(
    etcd_server: object, etcd_prefix: str
) -> None:
    calls = KVCalls()
    async with AsyncClient(etcd_server.endpoints, hooks=calls) as client:  # type: ignore[attr-defined]
        m: AsyncEtcdMap[int] = AsyncEtcdMap(client, etcd_prefix, codec=Json(int))
        await m.update({"a": 1, "b": 2})
        calls.methods.clear()

        async def total(tx: Any) -> int:
            a = await tx["a"]
            await client.put(etcd_prefix + "b", "20")  # after the snapshot: not seen
            return int(a + await tx["b"])

        assert await m.transaction(total) == 3
        assert calls.methods == ["KV/Txn", "KV/Put", "KV/Txn"]  # two reads, no commit


async def test_a_transaction_whose_read_revision_is_compacted_starts_over(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    m: AsyncEtcdMap[int] = AsyncEtcdMap(async_etcd_client, etcd_prefix, codec=Json(int))
    await m.update({"a": 1, "b": 2})
    attempts = []

    async def move(tx: Any) -> int:
        attempts.append(1)
        a = await tx["a"]
        if len(attempts) == 1:  # compaction overtakes the revision the attempt reads at
            revision = (await async_etcd_client.put(etcd_prefix + "c", "0")).header.revision
            await async_etcd_client.compact(revision)
        b = await tx["b"]
        tx.set("a", 0)
        tx.set("b", a + b)
        return int(a + b)

    assert await m.transaction(move) == 3
    assert len(attempts) == 2 and await as_dict(m) == {"a": 0, "b": 3, "c": 0}


async def test_reprs_do_no_io_and_preview_is_bounded(async_etcd_client: AsyncClient, etcd_prefix: str) -> None:
    m: AsyncEtcdMap[Server] = AsyncEtcdMap(async_etcd_client, etcd_prefix, value_type=Server)
    assert repr(m) == f"{type(m).__name__}({etcd_prefix!r}, codec=Json(Server))"
    await m.update({f"s{i:02}": Server(f"host{i}") for i in range(30)})
    await async_etcd_client.put(etcd_prefix + "zbad", "\x00")
    preview = await m.preview(5)
    assert (preview.count, len(preview.rows), preview.revision) == (31, 5, m.revision)
    assert preview.rows[0].key == "s00" and "host0" in preview.rows[0].summary
    html = preview._repr_html_()
    assert "31 keys" in html and "<table>" in html and "and 26 more" in html
    assert "s04" in preview.text() and "s05" not in preview.text()
    assert "does not decode" in (await m.child("z").preview()).rows[0].summary
    assert await m.completion_keys() == [f"s{i:02}" for i in range(30)] + ["zbad"]
    assert repr(m.keys()) == f"AsyncEtcdKeysView({m!r})"
    assert repr(m.items()) == f"AsyncEtcdItemsView({m!r}, on_error='raise')"
