"""Two leasing clients and a plain client, in three processes, write and read the same five
keys at random against one real etcd; none may read a key older than what it wrote or read
before, and at the end every process reads what a plain linearizable get reads.

Each process checks itself: after its own write at revision W, reading the key back through
its own KV must give a version modified at W or later (or, after its delete, no key or a
newer one), and the mod revisions it reads of a key never go down (a missing key is dated
by the response's header revision). The parent then checks the histories together: a read
that began after a leasing client's write had returned sees it or something newer. The
processes are this file run as a script (``python test_leasing_processes.py ROLE ENDPOINT PREFIX SEED``).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from typing import Any

from etcdmap import Client, LeasingKV
from etcdmap.testing import EtcdServer

KEYS = 5
OPS = 200


def run(role: str, endpoint: str, prefix: str, seed: int) -> None:
    rng = random.Random(seed)
    keys = [f"{prefix}k{i}" for i in range(KEYS)]
    with Client([endpoint], timeout=20) as client:
        kv: Any = client if role == "plain" else LeasingKV(client, prefix + "leasing/")
        if role != "plain":
            kv.start()
        floor = dict.fromkeys(keys, 0)  # the newest mod revision this process knows of
        history: list[tuple[str, str, float, float, int]] = []

        def check_read(key: str, deleted: int = 0) -> None:
            start = time.monotonic()
            response = kv.get(key)
            seen = response.kvs[0].mod_revision if response.kvs else response.header.revision
            history.append((key, "read", start, time.monotonic(), seen))
            if response.kvs:
                rev = response.kvs[0].mod_revision
                assert rev >= floor[key], f"{role}: stale {key}: {response.kvs[0]} < {floor[key]}"
                assert rev > deleted, f"{role}: {key} read back after delete at {deleted}"
                floor[key] = rev
            else:  # absent as of the header's revision (a cached answer: when it was cached)
                revision = response.header.revision
                assert revision >= floor[key], f"{role}: stale absent {key} @{revision}"
                floor[key] = revision

        for counter in range(OPS):
            key = rng.choice(keys)
            action = rng.random()
            if action < 0.4:
                start = time.monotonic()
                written = kv.put(key, f"{role}:{counter}").header.revision
                history.append((key, "write", start, time.monotonic(), written))
                floor[key] = max(floor[key], written)
                check_read(key)
            elif action < 0.5:
                start = time.monotonic()
                revision = kv.delete(key).header.revision
                history.append((key, "write", start, time.monotonic(), revision))
                floor[key] = max(floor[key], revision)
                check_read(key, deleted=revision)
            else:
                check_read(key)
        print("done", flush=True)
        assert sys.stdin.readline().strip() == "go"
        # Everyone has stopped writing: every read must agree with the server, once the
        # watch has delivered the plain client's last writes.
        deadline = time.monotonic() + 10
        for key in keys:
            while True:
                mine, truth = kv.get(key).kvs, client.get(key).kvs
                if list(mine) == list(truth) or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert list(mine) == list(truth), f"{role}: {key}: {mine} != {truth}"
        if role != "plain":
            kv.close()
    print(json.dumps(history), flush=True)


def test_three_processes_never_read_stale(etcd_server: EtcdServer, etcd_prefix: str) -> None:
    roles = ["leasing-a", "leasing-b", "plain"]
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, role, etcd_server.endpoint, etcd_prefix, str(seed)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for seed, role in enumerate(roles)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if line.strip() != "done":
                proc.wait(30)
                raise AssertionError(proc.stderr.read() if proc.stderr else line)
        outputs = [proc.communicate("go\n", timeout=60) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    histories = {}
    for role, proc, (out, err) in zip(roles, procs, outputs, strict=True):
        assert proc.returncode == 0, err
        histories[role] = json.loads(out)
    assert_linearizable_for_leasing_writes(histories)


def assert_linearizable_for_leasing_writes(histories: dict[str, list[Any]]) -> None:
    """A read that started after a write by a leasing client (or by the reader) had returned
    sees that write or a newer state: its key's mod revision, or for a missing key the
    response's revision, is at least the write's. (The monotonic clock is shared by the
    processes.) Plain writes reach other processes' caches by watch, so they are left out
    for readers other than the writer."""
    checked = 0
    for reader, ops in histories.items():
        for key, kind, start, _, seen in ops:
            if kind != "read":
                continue
            for writer, writes in histories.items():
                if writer == "plain" and reader != "plain":
                    continue
                for wkey, wkind, _, end, revision in writes:
                    if wkind == "write" and wkey == key and end < start:
                        checked += 1
                        assert seen >= revision, (
                            f"{reader} read {key} at {seen} after {writer} wrote it at {revision}"
                        )
    assert checked > OPS


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
