"""The command's pieces that need no server: settings, records, ls's tree, load's chunks."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from etcdmap import KeyValue, Plan
from etcdmap.cli._app import Settings
from etcdmap.cli._dump import chunks
from etcdmap.cli._output import AnyKey, from_record, record
from etcdmap.cli._tree import Node


def test_settings_take_flags_then_file_then_etcdmap_then_etcdctl(tmp_path: Path) -> None:
    etcdctl = {"ETCDCTL_ENDPOINTS": "a:1", "ETCDCTL_USER": "bob:pw", "ETCDCTL_COMMAND_TIMEOUT":
               "7s"}
    config = Settings().client_config(etcdctl)
    assert (config.endpoints, config.username, config.password, config.timeout) == (
        ("a:1",), "bob", "pw", 7.0)
    assert Settings().client_config({}).endpoints == ("127.0.0.1:2379",)
    both = {**etcdctl, "ETCDMAP_ENDPOINTS": "b:2"}
    assert Settings().client_config(both).endpoints == ("b:2",)
    file = tmp_path / "c.json"
    file.write_text('{"endpoints": ["c:3"]}')
    assert Settings(config=str(file)).client_config(both).endpoints == ("c:3",)
    flags = Settings(config=str(file), endpoints="d:4,e:5", user="al:secret", timeout=2.5)
    chosen = flags.client_config(both)
    assert (chosen.endpoints, chosen.username, chosen.password, chosen.timeout) == (
        ("d:4", "e:5"), "al", "secret", 2.5)
    with pytest.raises(click.UsageError, match="key_file"):
        Settings(cert="c.pem").client_config({})


def test_records_keep_any_bytes() -> None:
    kv = KeyValue(key=b"/p/\xffk", value=b"\x00\xfe", mod_revision=3, create_revision=2,
                  version=1, lease=0)
    item = record(kv, b"/p/")
    assert item["key_base64"] and item["value_base64"]
    assert (from_record(item, "key"), from_record(item, "value")) == (b"\xffk", b"\x00\xfe")
    text = record(KeyValue(key=b"k", value="é".encode()))
    assert text["value"] == "é" and "value_base64" not in text
    keys = AnyKey()
    assert keys.encode(keys.decode(b"\xff/x")) == b"\xff/x"


def test_ls_tree_caps_children_and_sums_the_rest() -> None:
    root = Node("/")
    for parts, size in [(["a", "x"], 10), (["a", "y"], 20), (["b"], 5), (["c"], 7), (["c"], 1)]:
        root.add(parts, size, max_children=2)
    assert (root.keys, root.size) == (5, 43)
    assert list(root.children) == ["a", "b"] and root.children["a"].size == 30
    assert (root.more_nodes, root.more_keys, root.more_bytes) == (1, 2, 8)


def test_chunks_cut_a_plan_by_bytes_keeping_its_revision() -> None:
    plan = Plan(prefix="/p/", added={f"k{n}": b"v" * 100 for n in range(10)},
                removed={"old": b"x"}, changed={"c": (b"1", b"2")}, unchanged=5, revision=9)
    parts = list(chunks(plan, limit=300))
    assert sum(part.writes for part in parts) == plan.writes
    assert all(part.revision == 9 and part.writes <= 3 for part in parts)
    assert parts[-1].removed == {"old": b"x"}
