"""Repository under contention, blocking flavour: threads and processes saving clashing
records at once, and a reader that must never see a moving record under two index values or
none (the async twin, tests/_async/test_repository.py, covers one task at a time)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import msgspec

from etcdmap import Client, Repository, UniqueViolationError
from etcdmap.testing import EtcdServer


class Service(msgspec.Struct):
    id: str
    name: str
    port: int
    region: str


def services(client: Client, prefix: str) -> Repository[Service]:
    return Repository(client, Service, prefix, key="id", indexes=("region",),
                      unique=("name", "port"))  # fmt: skip


def run_threads(count: int, target: Callable[[int], Any], timeout: float = 60) -> None:
    """Run ``target(i)`` on ``count`` threads; re-raise the first error any of them raised."""
    errors: list[BaseException] = []

    def guarded(i: int) -> None:
        try:
            target(i)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), "a thread did not finish in time"
    if errors:
        raise errors[0]


def test_unique_fields_hold_under_four_threads(etcd_server: EtcdServer, etcd_prefix: str) -> None:
    rounds, workers = 25, 4
    barrier = threading.Barrier(workers, timeout=30)
    won: dict[int, list[str]] = {n: [] for n in range(rounds)}
    lost: dict[int, list[tuple[str, str]]] = {n: [] for n in range(rounds)}

    def work(who: int) -> None:
        with Client(etcd_server.endpoints) as client:
            repo = services(client, etcd_prefix)
            for n in range(rounds):
                barrier.wait()
                ident = f"t{who}-{n}"
                # name and port clash with the other threads' records of this round
                record = Service(ident, f"svc{n}", 1000 + n, f"r{who}")
                try:
                    repo.save(record)
                    won[n].append(ident)
                except UniqueViolationError as error:
                    lost[n].append((ident, error.holder))
                # and all save one shared record at once: races on the record itself
                repo.save(Service("shared", "shared", 1, f"r{who}-{n}"))

    run_threads(workers, work)
    with Client(etcd_server.endpoints) as client:
        repo = services(client, etcd_prefix)
        for n in range(rounds):
            assert len(won[n]) == 1, (n, won[n], lost[n])
            assert sorted(holder for _, holder in lost[n]) == won[n] * (workers - 1)
            assert repo.find_one(port=1000 + n) == repo.get(won[n][0])
        assert repo.count() == rounds + 1
        report = repo.check()
        assert report.clean and report.records == rounds + 1, report


WORKER = """
import json, sys
import msgspec
from etcdmap import Client, Repository, UniqueViolationError

class Service(msgspec.Struct):
    id: str
    name: str
    port: int
    region: str

endpoint, prefix, who, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
outcomes = {}
with Client([endpoint]) as client:
    repo = Repository(client, Service, prefix, key="id", indexes=("region",),
                      unique=("name", "port"))
    print("ready", flush=True)
    sys.stdin.readline()  # start together
    for n in range(rounds):
        try:
            repo.save(Service(f"{who}-{n}", f"svc{n}", 2000 + n, who))
            outcomes[n] = "won"
        except UniqueViolationError as error:
            outcomes[n] = error.holder
print(json.dumps(outcomes), flush=True)
"""


def test_unique_fields_hold_across_two_processes(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    rounds = 40
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, etcd_server.endpoints[0], etcd_prefix, who,
             str(rounds)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        for who in ("a", "b")
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outcomes = []
        for proc in procs:
            out, _ = proc.communicate(timeout=60)
            assert proc.returncode == 0
            outcomes.append({int(n): v for n, v in json.loads(out.splitlines()[-1]).items()})
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    a, b = outcomes
    for n in range(rounds):
        assert sorted([a[n], b[n]]) in ([f"b-{n}", "won"], [f"a-{n}", "won"]), (n, a[n], b[n])
        winner = "a" if a[n] == "won" else "b"
        assert (b if winner == "a" else a)[n] == f"{winner}-{n}"
    with Client(etcd_server.endpoints) as client:
        repo = services(client, etcd_prefix)
        assert repo.count() == rounds
        assert repo.check().clean


def test_a_moving_record_is_under_exactly_one_index_value(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    moves = 150
    done = threading.Event()
    seen = {"finds": 0, "ranges": 0}
    index = etcd_prefix[:-1] + ".index/region/"

    def writer(_: int) -> None:
        with Client(etcd_server.endpoints) as client:
            repo = services(client, etcd_prefix)
            for i in range(moves):
                repo.save(Service("x", "x", 1, ("eu", "us", "ap")[i % 3]))
                if i == 0:  # a record that stays, after x is saved
                    repo.save(Service("other", "o", 2, "eu"))
        done.set()

    def reader(_: int) -> None:
        with Client(etcd_server.endpoints) as client:
            repo = services(client, etcd_prefix)
            while not done.is_set() or seen["finds"] < 3:
                entries = client.get(index, prefix=True, keys_only=True).kvs
                holders = [kv.key for kv in entries if kv.key.endswith(b"/x")]
                assert len(holders) <= 1, holders  # never under two regions at one revision
                assert holders or not entries, entries  # once saved, never under none
                seen["ranges"] += 1
                for region in ("eu", "us", "ap"):
                    found = repo.find(region=region)
                    assert all(s.region == region for s in found), (region, found)
                seen["finds"] += 1

    run_threads(2, lambda i: (writer if i == 0 else reader)(i))
    assert seen["finds"] >= 3 and seen["ranges"] >= 3
    with Client(etcd_server.endpoints) as client:
        repo = services(client, etcd_prefix)
        assert [s.id for s in repo.find(region=("eu", "us", "ap")[(moves - 1) % 3])] == ["x"]
        assert repo.check().clean
