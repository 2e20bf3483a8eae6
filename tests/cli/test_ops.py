"""The ``etcdmap`` command's long-running and cluster commands (watch, status, members,
health, snapshot save, copy, lock, elect, dev), run as subprocesses against real etcd."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from etcdmap import Client
from etcdmap.admin import verify_snapshot
from etcdmap.testing import EtcdServer, find_binary
from etcdmap.testing.nemeses import outage

from .support import Cli, environment, interrupt, read_line, stop, wait_until


def test_watch_prints_changes_resumes_runs_commands_and_stops_on_ctrl_c(
    cli: Cli, etcd_server: EtcdServer, etcd_client: Client, etcd_prefix: str, tmp_path: Path
) -> None:
    watch = cli.start("watch", etcd_prefix, "-o", "jsonl", "--prev")
    try:
        assert read_line(watch.stderr).startswith(b"watching")
        etcd_client.put(f"{etcd_prefix}a", "1")
        etcd_client.put(f"{etcd_prefix}a", b"\xff")
        first = json.loads(read_line(watch.stdout))
        second = json.loads(read_line(watch.stdout))
        assert (first["type"], first["key"], first["value"]) == ("PUT", f"{etcd_prefix}a", "1")
        assert second["value_base64"] and second["prev"]["value"] == "1"
        assert second["value"] == "/w=="  # base64 of b"\xff"
        # an outage: said on stderr, and no change lost
        with outage(etcd_server):
            failed = read_line(watch.stderr)
            assert b"watch stream" in failed and b"failed" in failed, failed
        last = etcd_client.put(f"{etcd_prefix}a", "after").header.revision
        assert json.loads(read_line(watch.stdout))["value"] == "after"
        assert b"works again" in read_line(watch.stderr)
        code, _, err = interrupt(watch)
        assert code == 130 and f"last revision delivered: {last}" in err
        assert "Traceback" not in err
    finally:
        stop(watch)
    # -- CMD: run per change with etcdctl's variables (history replayed from --rev)
    etcd_client.delete(f"{etcd_prefix}a")
    log = tmp_path / "events"
    script = ("import os; open(os.environ['LOG'], 'ab').write(b' '.join(os.environb[n] for n "
              "in (b'ETCD_WATCH_EVENT_TYPE', b'ETCD_WATCH_KEY', b'ETCD_WATCH_VALUE', "
              "b'ETCD_WATCH_REVISION')) + b'\\n')")
    runner = cli.start("watch", etcd_prefix, "--rev", str(last), "--", sys.executable, "-c",
                       script, env=cli.env(LOG=str(log)))
    try:
        lines = wait_until(lambda: log.exists() and len(log.read_bytes().splitlines()) == 2
                           and log.read_bytes().splitlines())
        assert lines[0] == b"PUT %s after %d" % (f"{etcd_prefix}a".encode(), last)
        assert lines[1].startswith(f"DELETE {etcd_prefix}a".encode())
        assert interrupt(runner)[0] == 130
    finally:
        stop(runner)


def test_status_members_health_and_snapshot(cli: Cli, tmp_path: Path) -> None:
    status = json.loads(cli("status", "-o", "json").out)
    assert [row["endpoint"] for row in status] == cli.endpoints
    assert status[0]["leader"] is True and status[0]["version"].startswith("3.")
    members = json.loads(cli("members", "-o", "json").out)
    assert len(members) == 1 and members[0]["client_urls"]
    assert json.loads(cli("health", "-o", "json").out)[0]["healthy"] is True
    table = cli("status").out
    assert "raft_term" in table and cli.endpoints[0] in table
    dead = cli("health", "--endpoints", f"{cli.endpoints[0]},127.0.0.1:1", "--timeout", "2",
               code=1)
    assert "127.0.0.1:1" in dead.err
    saved = cli("snapshot", "save", str(tmp_path / "snap.db"))
    size = verify_snapshot(tmp_path / "snap.db")
    assert f"saved {size} bytes" in saved.out


def test_copy_once_and_follow(cli: Cli, etcd_client: Client, etcd_prefix: str) -> None:
    src, dst = f"{etcd_prefix}src/", f"{etcd_prefix}dst/"
    for n in range(5):
        etcd_client.put(f"{src}{n}", str(n))
    etcd_client.put(f"{dst}stale", "x")
    done = cli("copy", src, "--to", ",".join(cli.endpoints), "--dest-prefix", dst)
    assert "copied 5 keys" in done.err
    assert [kv.value for kv in etcd_client.get_prefix(dst).kvs] == [b"0", b"1", b"2", b"3",
                                                                    b"4"]
    follow = cli.start("copy", src, "--to", ",".join(cli.endpoints), "--dest-prefix", dst,
                       "--follow")
    try:
        revision = etcd_client.put(f"{src}new", "fresh").header.revision
        wait_until(lambda: etcd_client.get(f"{dst}new").kvs, what="the change copied")
        code, _, err = interrupt(follow)
        assert code == 130
        held = int(re.findall(r"holds source revision (\d+)", err)[-1])
        assert held >= revision, err
    finally:
        stop(follow)


def test_lock_waits_for_an_etcdctl_holder_and_elect_interoperates(
    cli: Cli, etcd_client: Client, etcd_prefix: str
) -> None:
    name = f"{etcd_prefix}lock"
    etcdctl = find_binary("etcdctl")
    env = environment(None, ETCDCTL_API="3")
    holder = subprocess.Popen([etcdctl, "--endpoints", ",".join(cli.endpoints), "lock", name],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    ours = None
    try:
        assert read_line(holder.stdout).startswith(name.encode())  # etcdctl holds it
        ours = cli.start("lock", name, "--", sys.executable, "-c",
                         "import os; print('got', os.environ['ETCD_LOCK_KEY'])")
        # our session queues behind etcdctl's: two keys, and our command has not run
        wait_until(lambda: etcd_client.get_prefix(f"{name}/").count == 2, what="queued")
        assert ours.poll() is None
        holder.send_signal(2)
        holder.communicate(timeout=30)
        out, err = ours.communicate(timeout=30)
        assert ours.returncode == 0, err
        assert out.decode().startswith(f"got {name}/")
        assert etcd_client.get_prefix(f"{name}/").count == 0  # released
    finally:
        stop(holder)
        if ours is not None:
            stop(ours)
    election = f"{etcd_prefix}elect"
    leader = cli.start("elect", election, "proposal-1")
    try:
        assert read_line(leader.stdout).startswith(election.encode())
        theirs = subprocess.Popen([etcdctl, "--endpoints", ",".join(cli.endpoints), "elect",
                                   "-l", election], stdout=subprocess.PIPE, env=env)
        try:  # etcdctl sees our leader
            assert read_line(theirs.stdout).startswith(election.encode())
            assert read_line(theirs.stdout) == b"proposal-1\n"
        finally:
            stop(theirs)
        observer = cli.start("elect", election)
        try:
            assert read_line(observer.stdout).startswith(election.encode())
            assert read_line(observer.stdout) == b"proposal-1\n"
        finally:
            assert interrupt(observer)[0] == 130
        assert interrupt(leader)[0] == 130
        assert etcd_client.get_prefix(f"{election}/").count == 0  # resigned
    finally:
        stop(leader)


def test_dev_runs_a_local_etcd_until_ctrl_c(cli: Cli) -> None:
    dev = cli.start("dev", env=environment(None))
    try:
        read_line(dev.stdout)
        export = read_line(dev.stdout).decode()
        assert export.startswith("export ETCDMAP_ENDPOINTS=")
        endpoint = export.strip().split("=", 1)[1]
        env = environment([endpoint])
        cli("put", "dev-key", "v", env=env)
        assert cli("get", "dev-key", env=env).out == "v"
        assert interrupt(dev)[0] == 130
    finally:
        stop(dev)
