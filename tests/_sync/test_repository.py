# Generated from tests/_async/test_repository.py by scripts/unasync: do not edit.
"""Repository against a real etcd: the storage layout, requests per save, unique clashes,
moving and deleting records, expect_revision, reindex after raw writes, the mirror's find,
bad input before any I/O. (Threads and processes saving at once: tests/test_repository_sync.py.)

Written for AsyncRepository; tests/_sync/test_repository.py is generated from it by scripts/unasync.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from etcdmap import Client, Repository, ConflictError, UniqueViolationError
from etcdmap.testing import EtcdServer

from .helpers import KVCalls


class Service(msgspec.Struct):
    id: str
    name: str
    port: int
    region: str
    labels: list[str] = []


def services(client: Any, prefix: str, **options: Any) -> Repository[Service]:
    return Repository(
        client, Service, prefix, key="id", indexes=("region", ("label", labels_of)),
        unique=("name", "port"), **options,
    )  # fmt: skip


def labels_of(service: Service) -> list[str]:
    return service.labels


def raw_keys(client: Client, prefix: str) -> list[str]:
    """Every key of the repository at ``prefix`` (records, index, claims) as text."""
    root = prefix[:-1]
    found = []
    for start in (prefix, root + ".index/", root + ".unique/"):
        found += [kv.key.decode() for kv in (client.get(start, prefix=True)).kvs]
    return found


def test_save_lays_out_records_index_and_claims_and_find_reads_them(
    etcd_client: Client, etcd_prefix: str
) -> None:
    c, p = etcd_client, etcd_prefix
    repo = services(c, p)
    web = Service("w1", "web", 80, "eu", ["http", "a/b%"])
    repo.save(web)
    repo.save(Service("d1", "db", 5432, "us", ["sql"]))
    repo.save(Service("w2", "web2", 8080, "eu"))
    root = p[:-1]
    assert sorted(raw_keys(c, p)) == sorted([
        f"{p}d1", f"{p}w1", f"{p}w2",
        f"{root}.index/label/s:a%2Fb%25/w1", f"{root}.index/label/s:http/w1",
        f"{root}.index/label/s:sql/d1",
        f"{root}.index/region/s:eu/w1", f"{root}.index/region/s:eu/w2",
        f"{root}.index/region/s:us/d1",
        f"{root}.unique/name/s:db", f"{root}.unique/name/s:web", f"{root}.unique/name/s:web2",
        f"{root}.unique/port/i:5432", f"{root}.unique/port/i:80", f"{root}.unique/port/i:8080",
    ])  # fmt: skip
    assert (c.get(f"{root}.unique/port/i:80")).kvs[0].value == b"w1"
    assert repo.get("w1") == web
    assert [s.id for s in repo.find(region="eu")] == ["w1", "w2"]
    assert [s.id for s in repo.find(region="eu", label="http")] == ["w1"]
    assert [s.id for s in repo.find(label="a/b%")] == ["w1"]
    assert repo.find(region="mars") == []
    assert repo.find_one(port=5432) == Service("d1", "db", 5432, "us", ["sql"])
    assert repo.find_one(name="nope") is None
    assert [s.id for s in repo] == ["d1", "w1", "w2"]
    assert repo.count() == 3
    entry = repo.entry("w1")
    assert entry.value == web and entry.version == 1
    with pytest.raises(KeyError):
        repo.get("zz")
    assert (repo.check()).clean


def test_save_sends_one_range_and_one_txn_or_the_txn_alone(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    calls = KVCalls()
    with Client(etcd_server.endpoints, hooks=calls) as c:
        repo = services(c, etcd_prefix)
        first = repo.save(Service("a", "a", 1, "eu"))
        assert calls.methods == ["KV/Range", "KV/Txn"]
        calls.methods.clear()
        repo.save(Service("b", "b", 2, "eu"), expect_revision=0)
        assert calls.methods == ["KV/Txn"]
        # a revision this repository did not read or write itself: it reads the record
        written = services(c, etcd_prefix).save(Service("c", "c", 6, "eu"))
        calls.methods.clear()
        repo.save(Service("c", "c", 7, "us"), expect_revision=written)
        assert calls.methods == ["KV/Range", "KV/Txn"]
        calls.methods.clear()
        # its own save told it the record's revision and index values: no read needed
        revision = repo.save(Service("a", "a", 3, "us"), expect_revision=first)
        repo.save(Service("a", "a", 4, "us"), expect_revision=revision)
        entry = repo.entry("b")
        repo.save(Service("b", "b", 5, "us"), expect_revision=entry.mod_revision)
        assert calls.methods == ["KV/Txn", "KV/Txn", "KV/Range", "KV/Txn"]
        assert [s.id for s in repo.find(region="us")] == ["a", "b", "c"]
        assert (repo.check()).clean


def test_unique_clash_raises_with_the_holder_and_writes_nothing(
    etcd_client: Client, etcd_prefix: str
) -> None:
    c, p = etcd_client, etcd_prefix
    repo = services(c, p)
    repo.save(Service("a", "api", 443, "eu"))
    before = (c.get(p)).header.revision
    with pytest.raises(UniqueViolationError) as caught:
        repo.save(Service("b", "other", 443, "us"))
    error = caught.value
    assert isinstance(error, ConflictError)
    assert (error.field, error.value, error.holder, error.key) == ("port", 443, "a", "b")
    assert (c.get(p)).header.revision == before
    with pytest.raises(UniqueViolationError, match="name='api'"):
        repo.save(Service("b", "api", 1, "us"))
    # a record keeps its own values, and a value freed by a change is free at once
    repo.save(Service("a", "api", 444, "us"))
    repo.save(Service("b", "other", 443, "us"))
    assert (repo.find_one(port=443)) == Service("b", "other", 443, "us")
    assert (repo.check()).clean


def test_changing_an_indexed_field_moves_the_record(
    etcd_client: Client, etcd_prefix: str
) -> None:
    repo = services(etcd_client, etcd_prefix)
    repo.save(Service("a", "a", 1, "eu", ["x", "y"]))
    repo.save(Service("a", "a", 1, "us", ["y", "z"]))
    assert repo.find(region="eu") == [] and repo.find(label="x") == []
    assert [s.region for s in repo.find(region="us", label="z")] == ["us"]
    root = etcd_prefix[:-1]
    entries = raw_keys(etcd_client, etcd_prefix)
    assert [k for k in entries if ".index/" in k] == [
        f"{root}.index/label/s:y/a", f"{root}.index/label/s:z/a", f"{root}.index/region/s:us/a"
    ]


def test_delete_leaves_no_index_entry_nor_claim(
    etcd_client: Client, etcd_prefix: str
) -> None:
    c, p = etcd_client, etcd_prefix
    repo = services(c, p)
    repo.save(Service("a", "a", 1, "eu", ["x"]))
    repo.save(Service("b", "b", 2, "eu", ["x"]))
    repo.delete("a")
    assert [k for k in raw_keys(c, p) if k.endswith(("a", ":1"))] == []
    with pytest.raises(KeyError):
        repo.delete("a")
    repo.save(Service("c", "a", 1, "us"))  # its name and port are free again
    assert (repo.check()).clean


def test_expect_revision_conflicts(etcd_client: Client, etcd_prefix: str) -> None:
    c, p = etcd_client, etcd_prefix
    repo, other = services(c, p), services(c, p)
    first = repo.save(Service("a", "a", 1, "eu"))
    with pytest.raises(ConflictError):
        repo.save(Service("a", "a", 1, "us"), expect_revision=0)
    other.save(Service("a", "a", 2, "us"))
    with pytest.raises(ConflictError) as caught:
        repo.save(Service("a", "a", 3, "eu"), expect_revision=first)
    assert not isinstance(caught.value, UniqueViolationError)
    assert caught.value.key == "a" and caught.value.revision != first
    with pytest.raises(ConflictError):
        repo.delete("a", expect_revision=first)
    assert repo.get("a") == Service("a", "a", 2, "us")
    assert (repo.check()).clean
    entry = repo.entry("a")
    repo.delete("a", expect_revision=entry.mod_revision)
    assert repo.count() == 0


def test_reindex_repairs_a_prefix_damaged_by_raw_writes(
    etcd_client: Client, etcd_prefix: str
) -> None:
    c, p = etcd_client, etcd_prefix
    root = p[:-1]
    repo = services(c, p, page_size=3, max_txn_ops=4)
    for i in range(8):
        repo.save(Service(f"s{i}", f"n{i}", i, "eu" if i % 2 else "us", [f"l{i}"]))
    # raw writes that bypass the repository
    c.put(f"{p}s0", msgspec.json.encode(Service("s0", "n0", 0, "mars", ["l0"])))  # moved
    c.put(f"{p}raw", msgspec.json.encode(Service("raw", "r", 100, "eu")))  # new
    c.delete(f"{root}.index/region/s:eu/s1")  # lost entry
    c.put(f"{root}.index/region/s:eu/ghost", "")  # entry of no record
    c.delete(f"{root}.unique/port/i:3")  # lost claim
    c.put(f"{root}.unique/port/i:5", "s7")  # claim held by the wrong record
    c.put(f"{root}.unique/name/s:gone", "ghost")  # claim of no record
    report = repo.check()
    assert not report.clean and report.records == 9
    assert report.missing_entries == [
        f"{root}.index/region/s:eu/raw", f"{root}.index/region/s:eu/s1",
        f"{root}.index/region/s:mars/s0",
    ]
    assert report.stale_entries == [
        f"{root}.index/region/s:eu/ghost", f"{root}.index/region/s:us/s0"
    ]
    assert report.missing_claims == [
        f"{root}.unique/name/s:r", f"{root}.unique/port/i:100", f"{root}.unique/port/i:3"
    ]
    assert report.stale_claims == [f"{root}.unique/name/s:gone", f"{root}.unique/port/i:5"]
    assert report.clashes == [] and report.undecodable == []
    fixed = repo.reindex()
    assert fixed.repaired == 6 and fixed.skipped == 0
    assert (repo.check()).clean
    assert [s.id for s in repo.find(region="eu")] == ["raw", "s1", "s3", "s5", "s7"]
    assert (repo.find_one(port=5)) == repo.get("s5")
    again = repo.reindex()
    assert again.clean and again.repaired == 0
    # a unique value two records hold is reported, not resolved
    c.put(f"{p}dup", msgspec.json.encode(Service("dup", "n2", 2, "eu")))
    clash = repo.check()
    assert clash.clashes == [("name", "n2", ["dup", "s2"]), ("port", 2, ["dup", "s2"])]


def test_the_mirrors_find_agrees_with_the_servers(
    etcd_client: Client, etcd_prefix: str
) -> None:
    repo = services(etcd_client, etcd_prefix)
    for i in range(20):
        repo.save(Service(f"s{i:02}", f"n{i}", i, f"r{i % 3}", [f"l{i % 4}", "all"]))
    with repo.mirror() as mirror:
        for round in range(2):
            for region in ("r0", "r1", "r2", "r9"):
                assert mirror.find(region=region) == repo.find(region=region)
            for label in ("l0", "l3", "all"):
                assert mirror.find(label=label, region="r1") == repo.find(
                    label=label, region="r1"
                )
            assert mirror.find_one(port=7) == repo.find_one(port=7) == mirror.get("s07")
            # move, delete and add records, then compare again once the mirror has them
            repo.save(Service("s01", "n1", 1, "r0", ["l3"]))
            repo.delete(f"s{round + 2:02}")
            last = repo.save(Service(f"new{round}", "x" * (round + 1), 99 + round, "r2"))
            mirror.mirror.wait_for(last)
        assert mirror.revision >= last
        with pytest.raises(ValueError, match="'port2'"):
            mirror.find(port2=1)


def test_bad_input_is_refused_before_any_io(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    calls = KVCalls()
    with Client(etcd_server.endpoints, hooks=calls) as c:
        p = etcd_prefix
        with pytest.raises(ValueError, match="'zone'"):
            Repository(c, Service, p, key="id", indexes=("zone",))
        with pytest.raises(ValueError, match="'ident'"):
            Repository(c, Service, p, key="ident")
        with pytest.raises(ValueError, match="'x'"):
            Repository(c, Service, p, key="id", unique=("x",))
        with pytest.raises(ValueError, match="prefix"):
            Repository(c, Service, p[:-1], key="id")
        with pytest.raises(ValueError, match="both"):
            Repository(c, Service, p, key="id", indexes=("port",), unique=("port",))
        with pytest.raises(TypeError, match="one str"):
            Repository(c, Service, p, key="id", indexes="region")
        repo = services(c, p)
        with pytest.raises(ValueError, match="key field 'id'"):
            repo.save(Service("", "a", 1, "eu"))
        with pytest.raises(ValueError, match="'/'"):
            repo.save(Service("a/b", "a", 1, "eu"))
        with pytest.raises(TypeError):
            repo.save({"id": "a"})  # type: ignore[arg-type]
        with pytest.raises(TypeError):  # the codec refuses a label that is not a str
            repo.save(Service("a", "a", 1, "eu", [{"x": 1}]))  # type: ignore[list-item]
        odd = Repository(c, Service, p, key="id", indexes=(("odd", lambda s: object()),))
        with pytest.raises(TypeError, match="field 'odd' must be str"):
            odd.save(Service("a", "a", 1, "eu"))
        with pytest.raises(ValueError, match="'color'"):
            repo.find(color="red")
        with pytest.raises(ValueError, match="at least one"):
            repo.find()
        with pytest.raises(TypeError, match="region"):
            repo.find(region=["eu"])
        with pytest.raises(ValueError, match="'/'"):
            repo.get("a/b")
        with pytest.raises(ValueError, match="expect_revision"):
            repo.delete("a", expect_revision=-1)
        assert calls.methods == []
