# Generated from tests/_async/test_map_history.py by scripts/unasync: do not edit.
"""EtcdMap history against a real etcd: a key's changes across deletions and
re-creations, after a compaction, past values, and restores of a key or the whole map.

tests/_sync/test_map_history.py is generated from this file by scripts/unasync.
"""

from __future__ import annotations

import time

import pytest

from etcdmap import (
    Client,
    EtcdMap,
    Mirror,
    CompactedError,
    ConflictError,
    EventType,
)
from etcdmap.codecs import Json

from .helpers import Intruder


def test_history_across_a_delete_and_a_re_creation(
    etcd_client: Client, etcd_prefix: str
) -> None:
    m: EtcdMap[int] = EtcdMap(etcd_client, etcd_prefix, value_type=int)
    first = m.set("a", 1)
    m.set("b", 7)  # another key: not in a's history
    second = m.set("a", 2)
    gone = m.delete("a")
    again = m.set("a", 3)
    etcd_client.put(etcd_prefix + "a", b"not json")
    found = m.history("a")
    assert found.complete and found.earliest == 1 and found.revision == again + 1
    assert [(v.revision, v.kind, v.value, v.version) for v in found] == [
        (first, EventType.PUT, 1, 1),
        (second, EventType.PUT, 2, 2),
        (gone, EventType.DELETE, None, 0),
        (again, EventType.PUT, 3, 1),
        (again + 1, EventType.PUT, None, 2),
    ]
    assert [v.create_revision for v in found] == [first, first, first, again, again]
    assert found[-1].error is not None and found[-1].data == b"not json"
    assert found.pages == 1  # one watch response, not a request per version
    assert "deleted" in found.text() and "<table>" in found._repr_html_()
    later = m.history("a", since=gone)
    assert [v.revision for v in later] == [gone, again, again + 1]
    assert len(m.history("a", since=again + 2)) == 0


def test_history_of_a_key_missing_now_ends_with_its_deletion(
    etcd_client: Client, etcd_prefix: str
) -> None:
    m: EtcdMap[int] = EtcdMap(etcd_client, etcd_prefix, value_type=int)
    assert len(m.history("never")) == 0
    m.set("gone", 1)
    deleted = m.delete("gone")
    m.set("other", 1)  # the store moves on
    started = time.monotonic()
    found = m.history("gone")
    assert [v.kind for v in found] == [EventType.PUT, EventType.DELETE]
    assert found[-1].revision == deleted and time.monotonic() - started < 5


def test_a_long_history_comes_in_pages_of_a_thousand_changes(
    etcd_client: Client, etcd_prefix: str
) -> None:
    m: EtcdMap[int] = EtcdMap(etcd_client, etcd_prefix, value_type=int)
    for value in range(1200):
        etcd_client.put(etcd_prefix + "k", str(value))
    m.delete("k")
    found = m.history("k")
    assert [v.value for v in found][:-1] == list(range(1200)) and found.pages == 2
    assert found[-1].kind is EventType.DELETE and found[-1].create_revision == found[0].revision


def test_history_after_a_compaction(etcd_client: Client, etcd_prefix: str) -> None:
    m: EtcdMap[int] = EtcdMap(etcd_client, etcd_prefix, value_type=int)
    m.set("k", 1)
    kept = m.set("k", 2)
    compacted = m.set("other", 0)
    last = m.set("k", 3)
    etcd_client.compact(compacted)
    found = m.history("k")
    assert not found.complete and found.earliest == compacted
    assert [(v.revision, v.value) for v in found] == [(kept, 2), (last, 3)]
    with pytest.raises(CompactedError) as info:
        m.history("k", since=kept)
    assert info.value.compact_revision == compacted and "'k'" in str(info.value)
    assert [v.value for v in m.history("k", since=compacted)] == [3]


def test_value_at_and_restore(etcd_client: Client, etcd_prefix: str) -> None:
    m: EtcdMap[int] = EtcdMap(etcd_client, etcd_prefix, value_type=int)
    before = m.set("k", 1)
    m.set("k", 2)
    assert m.value_at("k", before) == 1
    with pytest.raises(KeyError):
        m.value_at("k", before - 1)
    assert m.value_at("k", before - 1, None) is None
    written = m.restore("k", before)
    assert m["k"] == 1 and (m.entry("k")).mod_revision == written
    assert m.restore("k", before) == written  # already as it was: nothing written
    m.restore("k", before - 1)  # it did not exist then
    assert not m.contains("k")


def test_restore_raises_conflict_when_the_key_changes_meanwhile(
    etcd_client: Client, etcd_prefix: str
) -> None:
    def other_writer() -> None:
        etcd_client.put(etcd_prefix + "k", "3")

    m: EtcdMap[int] = EtcdMap(
        Intruder(etcd_client, other_writer), etcd_prefix, value_type=int
    )
    before = m.set("k", 1)
    m.set("k", 2)
    with pytest.raises(ConflictError) as info:
        m.restore("k", before)
    assert info.value.key == "k"
    assert m["k"] == 3  # the other writer's value stays


def test_restore_prefix_plans_and_writes_the_old_content(
    etcd_client: Client, etcd_prefix: str
) -> None:
    m: EtcdMap[int] = EtcdMap(etcd_client, etcd_prefix, value_type=int)
    m.update({"a": 1, "b": 2, "c": 3})
    then = m.revision
    m.set("a", 10)
    m.delete("b")
    m.set("d", 4)
    preview = m.restore_prefix(then, dry_run=True)
    assert preview.changed == {"a": (10, 1)} and preview.added == {"b": 2}
    assert preview.removed == {"d": 4} and preview.unchanged == 1
    assert m.count() == 3 and m["a"] == 10  # a dry run writes nothing
    m.restore_prefix(then)
    assert {k: v for k, v in m.items()} == {"a": 1, "b": 2, "c": 3}


def test_a_mirror_has_the_history_of_its_map(
    etcd_client: Client, etcd_prefix: str
) -> None:
    with Mirror(etcd_client, etcd_prefix, codec=Json(int)) as mirror:
        before = mirror.set("k", 1)
        mirror.set("k", 2)
        assert [v.value for v in mirror.history("k")] == [1, 2]
        assert mirror.value_at("k", before) == 1
        mirror.restore("k", before)
        assert mirror.local_get("k") == 1  # the mirror has applied it when restore returns
        mirror.set("k", 5)
        plan = mirror.restore_prefix(before)
        assert plan.changed == {"k": (5, 1)} and mirror.local_get("k") == 1
