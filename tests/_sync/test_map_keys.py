# Generated from tests/_async/test_map_keys.py by scripts/unasync: do not edit.
"""The rules for a map's keys against a real etcd (README.md, "Keys"): the empty key, keys
starting with the separator the prefix ends with, and a map over the whole keyspace.

Written for AsyncEtcdMap; tests/_sync/test_map_keys.py is generated from it by
scripts/unasync.
"""

from __future__ import annotations

import pytest

from etcdmap import WHOLE_KEYSPACE, Client, EtcdMap, Mirror
from etcdmap.codecs import Str


def test_the_empty_key_is_not_part_of_the_map(
    etcd_client: Client, etcd_prefix: str
) -> None:
    c = etcd_client
    c.put(etcd_prefix, "marker")  # a "directory" key another tool wrote
    m: EtcdMap[str] = EtcdMap(c, etcd_prefix, codec=Str())
    m.set("a", "1")
    with pytest.raises(ValueError, match="empty key would be the prefix key itself"):
        m.set("", "x")
    with pytest.raises(ValueError, match="empty key"):
        m[""]
    assert not m.contains("")
    assert [key for key in m] == ["a"] and m.count() == 1
    assert (m.stats()).total.keys == 1
    assert m.clear() == 1
    assert (c.get(etcd_prefix)).kvs[0].value == b"marker"  # not the map's to delete


def test_a_key_that_doubles_the_separator_is_refused_on_write(
    etcd_client: Client, etcd_prefix: str
) -> None:
    c = etcd_client
    m: EtcdMap[str] = EtcdMap(c, etcd_prefix, codec=Str())
    with pytest.raises(ValueError, match="starts with '/', which the prefix ends with"):
        m.set("/lead", "x")
    with pytest.raises(ValueError, match="give the key without the leading '/'"):
        m.update({"ok": "1", "/lead": "x"})
    assert m.count() == 0  # nothing of the update was written
    c.put(etcd_prefix + "/lead", "old")  # another tool wrote one: still readable
    assert [key for key in m] == ["/lead"] and m["/lead"] == "old"
    m.delete("/lead")
    bare: EtcdMap[str] = EtcdMap(c, etcd_prefix.rstrip("/"), codec=Str())
    bare.set("/lead", "y")  # a prefix without the separator: the key brings it
    assert m["lead"] == "y"


def test_the_whole_keyspace_must_be_asked_for(
    etcd_client: Client, etcd_prefix: str
) -> None:
    c = etcd_client
    for empty in ("", b""):
        with pytest.raises(ValueError, match="pass etcdmap.WHOLE_KEYSPACE"):
            EtcdMap(c, empty)
        with pytest.raises(ValueError, match="whole keyspace"):
            Mirror(c, empty)
    c.put(etcd_prefix + "k", "v")
    everything: EtcdMap[str] = EtcdMap(c, WHOLE_KEYSPACE, codec=Str())
    assert everything[etcd_prefix + "k"] == "v"
    assert (everything.snapshot()).get(etcd_prefix + "k") == "v"
    with Mirror.of_map(everything) as mirror:
        assert mirror[etcd_prefix + "k"] == "v" and mirror.prefix == ""
