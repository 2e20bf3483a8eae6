# Generated from tests/_async/test_mapping.py by scripts/unasync: do not edit.
"""EtcdMap against a real etcd: dict operations, lazy snapshot paging, decode errors,
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
    Client,
    EtcdMap,
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


def as_dict(m: EtcdMap[Any]) -> dict[str, Any]:
    return {key: value for key, value in m.items()}


def raw_keys(client: Client, prefix: str) -> dict[bytes, bytes]:
    return {kv.key: kv.value for kv in (client.get_prefix(prefix)).kvs}


def test_set_get_delete_count_contains(etcd_client: Client, etcd_prefix: str) -> None:
    m: EtcdMap[str] = EtcdMap(etcd_client, etcd_prefix, codec=Str())
    assert m.count() == 0 and not m.contains("a")
    revision = m.set("a", "1")
    assert m.revision == revision
    m.set("b", "2")
    assert m["a"] == "1" and m.get("b") == "2"
    assert m.get("zz") is None and m.get("zz", "d") == "d"
    assert m.count() == 2 and m.contains("a") and not m.contains(3)
    with pytest.raises(KeyError) as info:
        m["missing"]
    assert type(info.value) is KeyError and info.value.args == ("missing",)
    m.delete("a")
    with pytest.raises(KeyError):
        m.delete("a")
    assert as_dict(m) == {"b": "2"}
    assert raw_keys(etcd_client, etcd_prefix) == {etcd_prefix.encode() + b"b": b"2"}


def test_typed_values_validate_on_write(etcd_client: Client, etcd_prefix: str) -> None:
    m: EtcdMap[Server] = EtcdMap(etcd_client, etcd_prefix, value_type=Server)
    m.set("web", Server("h", 8080, ["x"]))
    assert m["web"] == Server("h", 8080, ["x"])
    with pytest.raises(TypeError, match="'bad'.*not a valid Server"):
        m.set("bad", Server("h", "not-an-int"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a valid Server"):
        m.update({"ok": Server("x"), "bad": {"port": 1}})  # type: ignore[dict-item]
    # nothing of a rejected write or update reached etcd
    assert set(raw_keys(etcd_client, etcd_prefix)) == {etcd_prefix.encode() + b"web"}
    packed: EtcdMap[Server] = EtcdMap(etcd_client, etcd_prefix + "mp/", codec=MsgPack(Server))
    packed.set("a", Server("p"))
    assert packed["a"] == Server("p")


def test_entry_revision_and_at(etcd_client: Client, etcd_prefix: str) -> None:
    m: EtcdMap[int] = EtcdMap(etcd_client, etcd_prefix, codec=Json(int))
    first = m.set("n", 1)
    second = m.set("n", 2)
    entry = m.entry("n")
    assert entry == Entry("n", 2, second, first, 2, 0)
    with pytest.raises(KeyError):
        m.entry("missing")
    old = m.at(first)
    assert old["n"] == 1 and old.count() == 1
    assert [k for k in old] == ["n"] and "at=" in repr(old)
    assert not hasattr(old, "set") and not hasattr(old, "delete")
    now = m.snapshot()
    m.set("later", 5)
    assert now.count() == 1 and m.count() == 2
    with pytest.raises(ValueError, match="positive"):
        m.at(0)


def test_iteration_is_paged_in_key_order(etcd_client: Client, etcd_prefix: str) -> None:
    m: EtcdMap[int] = EtcdMap(etcd_client, etcd_prefix, codec=Json(int), page_size=3)
    expected = {f"k{i:02}": i for i in range(10)}
    assert (m.update(expected)).atomic
    assert [k for k in m] == sorted(expected)
    keys = m.keys()
    assert [k for k in keys] == sorted(expected) and keys.revision == m.revision
    assert [v for v in m.values()] == [expected[k] for k in sorted(expected)]
    assert as_dict(m) == expected
    assert keys.count() == 10 and keys.contains("k01") and not keys.contains("x")
    assert m.values().contains(3) and not m.values().contains(99)
    assert m.items().contains(("k03", 3)) and not m.items().contains(("k03", 4))
    assert not m.items().contains("k03")


def test_passes_are_lazy_and_keys_only_when_possible(etcd_client: Client, etcd_prefix: str) -> None:
    m: EtcdMap[bytes] = EtcdMap(etcd_client, etcd_prefix, page_size=2)
    m.update({f"k{i}": b"v" * 100 for i in range(9)})
    requests: list[dict[str, Any]] = []
    original = m.client.get

    def counting_get(*args: Any, **kwargs: Any) -> Any:
        requests.append(kwargs)
        return original(*args, **kwargs)

    m.client.get = counting_get  # type: ignore[method-assign]
    try:
        for _ in m:
            break  # an abandoned pass costs one page
        assert len(requests) == 1 and requests[0]["keys_only"] and requests[0]["limit"] == 2
        assert [k for k in m.keys()][-1] == "k8" and len(requests) == 1 + 5
        assert all(r["revision"] == requests[2]["revision"] for r in requests[3:])
        m.count()
        m.contains("k1")
        assert requests[-1]["count_only"] and requests[-2]["count_only"]
        for _ in m.values():
            break
        assert not requests[-1]["keys_only"]
    finally:
        del m.client.get


def test_pass_is_one_snapshot_under_concurrent_writes(etcd_client: Client, etcd_prefix: str) -> None:
    m: EtcdMap[int] = EtcdMap(etcd_client, etcd_prefix, codec=Json(int), page_size=2)
    m.update({f"k{i}": i for i in range(8)})
    seen = {}
    view = m.items()
    for key, value in view:
        if not seen:  # after the first page: change everything the pass has not read yet
            m.set("k7", 700)
            m.delete("k6")
            m.set("k5x", 55)
        seen[key] = value
    assert seen == {f"k{i}": i for i in range(8)}
    assert view.revision < m.revision
    assert (as_dict(m))["k7"] == 700


def test_compaction_during_a_pass(etcd_client: Client, etcd_prefix: str) -> None:
    m: EtcdMap[int] = EtcdMap(etcd_client, etcd_prefix, codec=Json(int), page_size=2)
    m.update({f"k{i}": i for i in range(6)})
    passed = []
    with pytest.raises(CompactedError, match="iterate again") as info:
        for key in m:
            if not passed:
                m.set("k0", 100)
                etcd_client.compact(m.revision)
            passed.append(key)
    assert passed == ["k0", "k1"] and info.value.compact_revision == m.revision
    assert [k for k in m] == [f"k{i}" for i in range(6)]  # a new pass works


def test_decode_errors_name_key_and_revision(etcd_client: Client, etcd_prefix: str) -> None:
    m: EtcdMap[Server] = EtcdMap(etcd_client, etcd_prefix, value_type=Server, page_size=2)
    m.set("a", Server("a"))
    bad = etcd_client.put(etcd_prefix + "b", "{not json")
    wrong = etcd_client.put(etcd_prefix + "c", '{"host": 5}')
    m.set("d", Server("d"))
    with pytest.raises(ValueDecodeError, match=r"'b' \(mod_revision \d+\)") as info:
        m["b"]
    assert isinstance(info.value, ValueError)
    assert (info.value.key, info.value.revision) == ("b", bad.header.revision)
    assert info.value.data == b"{not json"
    with pytest.raises(ValueDecodeError):
        as_dict(m)
    skipped = m.items(on_error="skip")
    assert [k for k, _ in skipped] == ["a", "d"] and skipped.errors == []
    collected = m.values(on_error="collect")
    assert [v.host for v in collected] == ["a", "d"]
    assert [(e.key, e.revision) for e in collected.errors] == [("b", bad.header.revision), ("c", wrong.header.revision)]
    assert [k for k in m] == ["a", "b", "c", "d"]  # keys need no decoding
    with pytest.raises(ValueDecodeError):
        m.pop("b")
    with pytest.raises(ValueDecodeError):
        m.modify("c", lambda s: s)
    # the stored bytes are never rewritten
    stored = raw_keys(etcd_client, etcd_prefix)
    assert stored[(etcd_prefix + "b").encode()] == b"{not json"
    assert stored[(etcd_prefix + "c").encode()] == b'{"host": 5}'
    with pytest.raises(ValueError, match="on_error"):
        m.items(on_error="ignore")  # type: ignore[arg-type]


def test_sibling_prefix_is_never_touched(etcd_client: Client, etcd_prefix: str) -> None:
    base = etcd_prefix + "a"
    etcd_client.put(base, "the prefix key without slash")
    etcd_client.put(base + "b", "sibling")
    etcd_client.put(base + "b/x", "sibling child")
    m: EtcdMap[bytes] = EtcdMap(etcd_client, base + "/")
    m.update({"x": b"1", "y/z": b"2", "\xff": b"3"})
    assert m.count() == 3 and [k for k in m] == ["x", "y/z", "\xff"]
    assert m.clear() == 3
    assert m.count() == 0
    assert raw_keys(etcd_client, etcd_prefix) == {
        base.encode(): b"the prefix key without slash",
        (base + "b").encode(): b"sibling",
        (base + "b/x").encode(): b"sibling child",
    }


def test_atomic_helpers(etcd_client: Client, etcd_prefix: str) -> None:
    m: EtcdMap[int] = EtcdMap(etcd_client, etcd_prefix, codec=Json(int))
    assert m.setdefault("a", 1) == 1 and m.setdefault("a", 2) == 1
    assert m.put_if_absent("b", 2) and not m.put_if_absent("b", 3)
    assert m.compare_and_swap("b", 2, 20) and not m.compare_and_swap("b", 2, 30)
    assert not m.compare_and_swap("nope", 0, 1) and not m.contains("nope")
    entry = m.entry("b")
    assert m.replace("b", 21, revision=entry.mod_revision)
    assert not m.replace("b", 22, revision=entry.mod_revision)
    assert m.replace("new", 1, revision=0) and not m.replace("new", 2, revision=0)
    assert m["b"] == 21
    assert m.pop("b") == 21 and m.pop("b", None) is None
    with pytest.raises(KeyError):
        m.pop("b")
    assert m.popitem() == ("a", 1)
    assert m.popitem() == ("new", 1)
    with pytest.raises(KeyError, match="empty"):
        m.popitem()


def test_modify_retries_then_conflicts(etcd_client: Client, etcd_prefix: str) -> None:
    m: EtcdMap[int] = EtcdMap(etcd_client, etcd_prefix, codec=Json(int))
    assert m.modify("n", lambda v: v + 1, default=0) == 1
    with pytest.raises(KeyError):
        m.modify("missing", lambda v: v)
    calls = []

    def interfere() -> None:
        etcd_client.put(etcd_prefix + "n", str(100 + len(calls)))

    # fn is pure; the interference is done between attempts by reading what fn saw
    seen: list[int] = []

    def bump(v: int) -> int:
        seen.append(v)
        return v + 1

    interfere()
    assert m.modify("n", bump) == 101
    # losing every race: a writer that always gets in between read and write
    original = m.client.txn

    def racing_txn(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        interfere()
        return original(*args, **kwargs)

    m.client.txn = racing_txn  # type: ignore[method-assign]
    try:
        with pytest.raises(ConflictError, match="3 attempts") as info:
            m.modify("n", bump, retries=2)
    finally:
        del m.client.txn
    assert len(calls) == 3 and info.value.key == "n"
    assert info.value.revision == (m.entry("n")).mod_revision


def test_editing_writes_back_or_conflicts(etcd_client: Client, etcd_prefix: str) -> None:
    m: EtcdMap[Server] = EtcdMap(etcd_client, etcd_prefix, value_type=Server)
    m.set("web", Server("h"))
    with m.editing("web") as server:
        server.tags.append("prod")
        server.port = 443
    assert m["web"] == Server("h", 443, ["prod"])
    with pytest.raises(RuntimeError):
        with m.editing("web") as server:
            server.port = 1
            raise RuntimeError("abandon")
    assert (m["web"]).port == 443  # nothing written when the body raises
    with pytest.raises(ConflictError, match="changed since") as info:
        with m.editing("web") as server:
            server.port = 2
            m.set("web", Server("other"))
    assert info.value.current == Server("other") and m["web"] == Server("other")
    handle = m.editing("fresh", default=Server("d"))
    with handle as server:
        handle.value = Server("replaced")
    assert m["fresh"] == Server("replaced")
    with pytest.raises(KeyError):
        with m.editing("missing"):
            pass


def test_update_batches_and_reports_atomicity(etcd_client: Client, etcd_prefix: str) -> None:
    m: EtcdMap[int] = EtcdMap(etcd_client, etcd_prefix, codec=Json(int))
    small = m.update([("a", 1), ("a", 2)], b=3)
    assert (small.written, small.transactions, small.atomic) == (2, 1, True)
    assert small.revision == m.revision and m["a"] == 2
    exact = m.update({f"x{i:03}": i for i in range(128)})
    assert (exact.transactions, exact.atomic) == (1, True)
    big = m.update({f"y{i:03}": i for i in range(300)})
    assert (big.written, big.transactions, big.atomic) == (300, 3, False)
    assert m.count() == 2 + 128 + 300
    assert (m.update()).written == 0


def test_ttl_and_map_lease(etcd_client: Client, etcd_prefix: str) -> None:
    m: EtcdMap[bytes] = EtcdMap(etcd_client, etcd_prefix)
    m.set("plain", b"x")
    m.set("short", b"x", ttl=30)
    lease_id = (m.entry("short")).lease
    assert lease_id and (m.entry("plain")).lease == 0
    assert 0 < (etcd_client.lease_time_to_live(lease_id)).ttl <= 30
    with pytest.raises(TypeError, match="not both"):
        m.set("k", b"x", ttl=5, lease=lease_id)
    lease = etcd_client.lease_grant(60)
    leased: EtcdMap[bytes] = EtcdMap(etcd_client, etcd_prefix + "svc/", lease=lease)
    leased.set("a", b"1")
    leased.update({"b": b"2"})
    assert leased.setdefault("c", b"3") == b"3"
    leased.modify("a", lambda v: v + b"!")
    assert {(leased.entry(k)).lease for k in "abc"} == {lease.id}
    lease.revoke()
    assert leased.count() == 0 and m.count() == 2


def test_child_maps_share_the_client(etcd_client: Client, etcd_prefix: str) -> None:
    m: EtcdMap[int] = EtcdMap(etcd_client, etcd_prefix, codec=Json(int))
    db = m.child("db/")
    db.set("port", 5432)
    m.set("top", 1)
    assert m["db/port"] == 5432 and db.client is m.client
    names = m.child("names/", codec=Str())
    names.set("x", "text")
    assert names["x"] == "text"
    db.clear()
    assert [k for k in m] == ["names/x", "top"]


def test_transaction_is_serializable_with_retry(etcd_client: Client, etcd_prefix: str) -> None:
    m: EtcdMap[int] = EtcdMap(etcd_client, etcd_prefix, codec=Json(int))
    m.update({"alice": 100, "bob": 0})
    attempts = []

    def transfer(tx: Any) -> int:
        attempts.append(1)
        alice = tx["alice"]
        bob = tx.get("bob", 0)
        if len(attempts) == 1:  # another writer changes a key this attempt read
            etcd_client.put(etcd_prefix + "alice", "90")
        tx.set("alice", alice - 30)
        tx.set("bob", bob + 30)
        assert tx["alice"] == alice - 30 and tx.contains("bob")
        tx.delete("bob")
        assert tx.get("bob") is None
        tx.set("bob", bob + 30)
        return alice

    assert m.transaction(transfer) == 90
    assert len(attempts) == 2 and as_dict(m) == {"alice": 60, "bob": 30}

    def missing(tx: Any) -> None:
        tx.delete("nobody")

    with pytest.raises(KeyError):
        m.transaction(missing)

    def always_loses(tx: Any) -> None:
        tx["alice"]
        etcd_client.put(etcd_prefix + "alice", "1")
        tx.set("bob", 0)

    with pytest.raises(ConflictError, match="2 attempts"):
        m.transaction(always_loses, retries=1)


def test_a_read_only_transaction_is_one_snapshot_and_commits_nothing(
    etcd_server: object, etcd_prefix: str
) -> None:
    calls = KVCalls()
    with Client(etcd_server.endpoints, hooks=calls) as client:  # type: ignore[attr-defined]
        m: EtcdMap[int] = EtcdMap(client, etcd_prefix, codec=Json(int))
        m.update({"a": 1, "b": 2})
        calls.methods.clear()

        def total(tx: Any) -> int:
            a = tx["a"]
            client.put(etcd_prefix + "b", "20")  # after the snapshot: not seen
            return int(a + tx["b"])

        assert m.transaction(total) == 3
        assert calls.methods == ["KV/Txn", "KV/Put", "KV/Txn"]  # two reads, no commit


def test_a_transaction_whose_read_revision_is_compacted_starts_over(
    etcd_client: Client, etcd_prefix: str
) -> None:
    m: EtcdMap[int] = EtcdMap(etcd_client, etcd_prefix, codec=Json(int))
    m.update({"a": 1, "b": 2})
    attempts = []

    def move(tx: Any) -> int:
        attempts.append(1)
        a = tx["a"]
        if len(attempts) == 1:  # compaction overtakes the revision the attempt reads at
            revision = (etcd_client.put(etcd_prefix + "c", "0")).header.revision
            etcd_client.compact(revision)
        b = tx["b"]
        tx.set("a", 0)
        tx.set("b", a + b)
        return int(a + b)

    assert m.transaction(move) == 3
    assert len(attempts) == 2 and as_dict(m) == {"a": 0, "b": 3, "c": 0}


def test_reprs_do_no_io_and_preview_is_bounded(etcd_client: Client, etcd_prefix: str) -> None:
    m: EtcdMap[Server] = EtcdMap(etcd_client, etcd_prefix, value_type=Server)
    assert repr(m) == f"{type(m).__name__}({etcd_prefix!r}, codec=Json(Server))"
    m.update({f"s{i:02}": Server(f"host{i}") for i in range(30)})
    etcd_client.put(etcd_prefix + "zbad", "\x00")
    preview = m.preview(5)
    assert (preview.count, len(preview.rows), preview.revision) == (31, 5, m.revision)
    assert preview.rows[0].key == "s00" and "host0" in preview.rows[0].summary
    html = preview._repr_html_()
    assert "31 keys" in html and "<table>" in html and "and 26 more" in html
    assert "s04" in preview.text() and "s05" not in preview.text()
    assert "does not decode" in (m.child("z").preview()).rows[0].summary
    assert m.completion_keys() == [f"s{i:02}" for i in range(30)] + ["zbad"]
    assert repr(m.keys()) == f"EtcdKeysView({m!r})"
    assert repr(m.items()) == f"EtcdItemsView({m!r}, on_error='raise')"
