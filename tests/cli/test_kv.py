"""The ``etcdmap`` command's key commands (get, put, rm, ls, edit, dump, load, history,
restore, search) and its connection settings, run as a subprocess against real etcd."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from etcdmap import Client

from .support import COMMAND, Cli, environment


def test_get_and_put_print_every_format_bytes_safe(cli: Cli, etcd_client: Client,
                                                   etcd_prefix: str) -> None:
    p = etcd_prefix
    assert cli("put", f"{p}text", "héllo").out.strip().isdigit()
    cli("put", f"{p}doc", '{"a": 1}')
    cli("put", f"{p}bin", "-", input=b"\xff\x00\n")
    # -o value: the exact bytes of one key (no newline when not on a terminal)
    assert cli("get", f"{p}bin").stdout == b"\xff\x00\n"
    assert cli("get", f"{p}text", "-o", "value").stdout == "héllo".encode()
    one = json.loads(cli("get", f"{p}doc", "-o", "json").out)
    kv = etcd_client.get(f"{p}doc").kvs[0]
    assert one == {"key": f"{p}doc", "value": '{"a": 1}', "mod_revision": kv.mod_revision,
                   "create_revision": kv.create_revision, "version": 1, "lease": 0}
    lines = [json.loads(line) for line in cli("get", p, "--prefix", "-o", "jsonl").out.split(
        "\n") if line]
    assert [line["key"] for line in lines] == [f"{p}bin", f"{p}doc", f"{p}text"]
    assert lines[0]["value_base64"] is True and lines[0]["value"] == "/wAK"
    assert "value_base64" not in lines[2] and lines[2]["value"] == "héllo"
    assert json.loads(cli("get", p, "--prefix", "-o", "json").out) == lines
    assert yaml.safe_load(cli("get", p, "--prefix", "-o", "yaml").out) == lines
    table = cli("get", p, "--prefix", "-o", "table").out
    assert f"{p}text" in table and "héllo" in table and "\x1b[" not in table  # no colours
    keys = json.loads(cli("get", p, "--prefix", "--keys-only", "-o", "json").out)
    assert all("value" not in item for item in keys)
    old = cli("get", f"{p}text", "--rev", str(lines[2]["mod_revision"]), "-o", "value")
    cli("put", f"{p}text", "new")
    assert old.out == "héllo"
    # a missing key: exit 1 naming it, no traceback; a usage error: exit 2
    missing = cli("get", f"{p}nope", code=1)
    assert f"{p}nope" in missing.err and "Traceback" not in missing.err
    assert "no such option" in cli("get", f"{p}nope", "--bogus", code=2).err.lower()


def test_put_conditions_exit_3_and_leases(cli: Cli, etcd_client: Client,
                                          etcd_prefix: str) -> None:
    key = f"{etcd_prefix}k"
    cli("put", key, "1", "--if-absent")
    failed = cli("put", key, "2", "--if-absent", code=3)
    assert key in failed.err
    revision = etcd_client.get(key).kvs[0].mod_revision
    cli("put", key, "3", "--if-mod-revision", str(revision + 100), code=3)
    cli("put", key, "4", "--if-mod-revision", str(revision))
    assert etcd_client.get(key).kvs[0].value == b"4"
    cli("put", key, "5", "--ttl", "30")
    lease = etcd_client.get(key).kvs[0].lease
    assert lease and etcd_client.lease_time_to_live(lease).ttl > 0
    cli("put", f"{key}2", "6", "--lease", str(lease))
    assert etcd_client.get(f"{key}2").kvs[0].lease == lease
    cli("put", key, "7", "--lease", "1", "--ttl", "3", code=2)


def test_connection_settings_come_from_etcdctl_env_flags_and_config(
    cli: Cli, etcd_client: Client, etcd_prefix: str, tmp_path: Path
) -> None:
    key = f"{etcd_prefix}k"
    etcd_client.put(key, "v")
    endpoint = ",".join(cli.endpoints)
    # etcdctl's variable alone is enough
    assert cli("get", key, env=environment(None, ETCDCTL_ENDPOINTS=endpoint)).out == "v"
    # ETCDMAP_* wins over ETCDCTL_*, --endpoints over both, and names the endpoint it tried
    dead = "127.0.0.1:1"
    env = environment(None, ETCDCTL_ENDPOINTS=endpoint, ETCDMAP_ENDPOINTS=dead)
    failed = cli("get", key, "--timeout", "2", env=env, code=1)
    assert dead in failed.err and "Traceback" not in failed.err
    assert cli("get", key, "--endpoints", endpoint, env=env).out == "v"
    debug = cli("get", key, "--timeout", "2", "--debug", env=env, code=1)
    assert "Traceback" in debug.err
    config = tmp_path / "etcd.yaml"
    config.write_text(f"endpoints: [{endpoint}]\nrequest-timeout: 5s\n")
    assert cli("get", key, "--config", str(config), env=env).out == "v"
    bad = tmp_path / "bad.yaml"
    bad.write_text("endpointz: [x]\n")
    assert "endpointz" in cli("get", key, "--config", str(bad), code=2).err


def test_rm_counts_and_asks(cli: Cli, etcd_client: Client, etcd_prefix: str) -> None:
    for name in "abc":
        etcd_client.put(f"{etcd_prefix}{name}", name)
    refused = cli("rm", etcd_prefix, "--prefix", code=2)  # no terminal to ask: needs --yes
    assert "3 keys" in refused.err and etcd_client.get_prefix(etcd_prefix).count == 3
    assert "deleted 1 key" in cli("rm", f"{etcd_prefix}a").err
    cli("rm", f"{etcd_prefix}a", code=1)
    assert "deleted 2 keys" in cli("rm", etcd_prefix, "--prefix", "--yes").err
    assert etcd_client.get_prefix(etcd_prefix).count == 0


def test_dump_then_load_into_an_empty_prefix_reproduces_it(
    cli: Cli, etcd_client: Client, etcd_prefix: str, tmp_path: Path
) -> None:
    src, dst = f"{etcd_prefix}src/", f"{etcd_prefix}dst/"
    data = {b"plain": b"text", b"bin\xfe": bytes(range(256)), b"empty": b"",
            "ü/nested".encode(): "é".encode(), b"big": b"x" * 300_000}
    for key, value in data.items():
        etcd_client.put(src.encode() + key, value)
    dump = tmp_path / "dump.jsonl"
    dumped = cli("dump", src, "-o", str(dump))
    revision = etcd_client.get(src, prefix=True, count_only=True).header.revision
    assert f"revision {revision}" in dumped.err
    records = [json.loads(line) for line in dump.read_text().splitlines()]
    assert len(records) == len(data) and records[0]["key"] == "big"
    assert {"key", "value", "mod_revision", "create_revision", "version", "lease"} <= set(
        records[0])
    loaded = cli("load", str(dump), "--prefix", dst)
    assert f"{len(data)} added, 0 changed, 0 removed" in loaded.err
    copied = {kv.key[len(dst):]: kv.value for kv in etcd_client.get_prefix(dst).kvs}
    assert copied == data
    assert cli("dump", dst).stdout.replace(b"", b"") and [
        {k: v for k, v in json.loads(line).items() if k in ("key", "value", "key_base64",
                                                             "value_base64")}
        for line in cli("dump", dst).out.splitlines()
    ] == [{k: v for k, v in item.items() if k in ("key", "value", "key_base64",
                                                  "value_base64")} for item in records]
    # a second load writes nothing
    before = etcd_client.get(dst, prefix=True, count_only=True).header.revision
    assert "0 added, 0 changed, 0 removed" in cli("load", str(dump), "--prefix", dst).err
    assert etcd_client.get(dst, prefix=True, count_only=True).header.revision == before
    # a plan: --dry-run shows it and writes nothing; --prune removes; --atomic in one Txn
    etcd_client.put(f"{dst}plain", "changed")
    etcd_client.put(f"{dst}extra", "x")
    plan = cli("load", str(dump), "--prefix", dst, "--prune", "--dry-run")
    assert "0 added, 1 changed, 1 removed" in plan.err
    assert "~ plain" in plan.out and "- extra" in plan.out
    assert etcd_client.get(f"{dst}extra").kvs
    cli("load", str(dump), "--prefix", dst, "--prune", "--atomic")
    assert {kv.key[len(dst):]: kv.value for kv in etcd_client.get_prefix(dst).kvs} == data
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"key": "a", "value": "b"}\nnot json\n')
    assert "bad.jsonl:2" in cli("load", str(bad), "--prefix", dst, code=2).err


def test_ls_counts_keys_and_bytes_per_node(cli: Cli, etcd_client: Client,
                                           etcd_prefix: str) -> None:
    base = f"{etcd_prefix}tree/"
    for name, value in [("a/x", "1"), ("a/y", "22"), ("a/z/deep", "333"), ("b", "4444")]:
        etcd_client.put(base + name, value)
    tree: dict[str, Any] = json.loads(cli("ls", base, "-o", "json", "--depth", "1").out)
    size = sum(len(base + k) + len(v) for k, v in
               [("a/x", "1"), ("a/y", "22"), ("a/z/deep", "333"), ("b", "4444")])
    assert (tree["keys"], tree["bytes"]) == (4, size)
    children = {child["name"]: child for child in tree["children"]}
    assert children["a"]["keys"] == 3 and "children" not in children["a"]
    assert children["b"]["bytes"] == len(base + "b") + 4
    capped = json.loads(cli("ls", base, "-o", "json", "--max-children", "1").out)
    assert capped["more"] == {"nodes": 1, "keys": 1, "bytes": len(base + "b") + 4}
    shown = cli("ls", base).out
    assert "a  3 keys" in shown and "z  1 keys" in shown


EDITOR = """\
import json, os, subprocess, sys
path = sys.argv[1]
text = open(path).read()
with open(os.environ["EDITOR_LOG"], "a") as log:
    log.write(text + "\\0")
race = os.environ.get("EDITOR_RACE", "")
if os.path.exists(race + ".once"):  # someone else writes the key meanwhile, once
    os.unlink(race + ".once")
    subprocess.run(open(race).read().split("\\t"), check=True, capture_output=True)
if os.environ.get("EDITOR_SET"):
    doc = json.loads(text)
    doc.update(json.loads(os.environ["EDITOR_SET"]))
    text = json.dumps(doc, indent=2)
open(path, "w").write(text)
"""


def test_edit_writes_back_with_compare_and_swap(
    cli: Cli, etcd_client: Client, etcd_prefix: str, tmp_path: Path
) -> None:
    key = f"{etcd_prefix}cfg"
    etcd_client.put(key, '{"mode":"slow","n":1}')
    editor = tmp_path / "editor.py"
    editor.write_text(EDITOR)
    log = tmp_path / "log"
    env = cli.env(EDITOR=f"{sys.executable} {editor}", EDITOR_LOG=str(log))
    # no change: no write
    before = etcd_client.get(key).kvs[0].mod_revision
    assert "no change" in cli("edit", key, env=env).err
    assert etcd_client.get(key).kvs[0].mod_revision == before
    assert log.read_text().split("\0")[0] == '{\n  "mode": "slow",\n  "n": 1\n}\n'  # pretty
    # a change: written compact, as the value was
    cli("edit", key, env={**env, "EDITOR_SET": '{"mode": "fast"}'})
    assert etcd_client.get(key).kvs[0].value == b'{"mode":"fast","n":1}'
    # a concurrent put while editing: diff, then abort (exit 3) or overwrite
    race = tmp_path / "race"
    race.write_text("\t".join([*COMMAND, "put", key, '{"mode":"theirs","n":1}']))
    raced = {**env, "EDITOR_SET": '{"mode": "mine"}', "EDITOR_RACE": str(race)}
    once = tmp_path / "race.once"
    once.touch()
    aborted = cli("edit", key, env=raced, input="a\n", code=3)
    assert '-  "mode": "theirs"' in aborted.err and '+  "mode": "mine"' in aborted.err
    assert etcd_client.get(key).kvs[0].value == b'{"mode":"theirs","n":1}'
    once.touch()
    cli("edit", key, env=raced, input="o\n")
    assert etcd_client.get(key).kvs[0].value == b'{"mode":"mine","n":1}'
    # retry: the editor opens again on top of theirs
    once.touch()
    retried = cli("edit", key, env={**raced, "EDITOR_SET": '{"n": 2}'}, input="r\n")
    assert etcd_client.get(key).kvs[0].value == b'{"mode":"mine","n":2}', retried
    assert log.read_text().count("\0") == 6


def test_history_restore_and_search(cli: Cli, etcd_client: Client, etcd_prefix: str) -> None:
    key = f"{etcd_prefix}h"
    first = etcd_client.put(key, "v1").header.revision
    etcd_client.put(key, "v2")
    etcd_client.delete(key)
    etcd_client.put(key, "v3")
    changes = [json.loads(line) for line in cli("history", key, "-o", "jsonl").out.splitlines()]
    assert [(c["type"], c.get("value")) for c in changes] == [
        ("PUT", "v1"), ("PUT", "v2"), ("DELETE", None), ("PUT", "v3")]
    assert "v2" in cli("history", key).out
    assert cli("restore", key, str(first)).out.strip().isdigit()
    assert etcd_client.get(key).kvs[0].value == b"v1"
    etcd_client.put(f"{etcd_prefix}needle/x", "hay")
    etcd_client.put(f"{etcd_prefix}other", "a needle inside")
    assert cli("search", "needle", "--prefix", etcd_prefix).out.splitlines() == [
        f"{etcd_prefix}needle/x"]
    assert len(cli("search", "needle", "--prefix", etcd_prefix, "--values").out.splitlines()
               ) == 2
    assert cli("search", "ne+dle/[xy]$", "--regex", "--prefix", etcd_prefix).out.strip() == (
        f"{etcd_prefix}needle/x")
    cli("search", "absent-thing", "--prefix", etcd_prefix, code=1)
