"""Contention tests of the blocking client: threads, processes and etcdctl on one lock,
election or set of accounts (the async twins cover the single-task behaviour)."""

from __future__ import annotations

import functools
import random
import subprocess
import sys
import threading
import time

import pytest

from etcdmap import Client
from etcdmap.concurrency import STM, Election, Mutex, Session
from etcdmap.errors import NoLeaderError
from etcdmap.testing import EtcdServer, find_binary

#: One critical section: a marker key that must be absent on entry (else two holders) and a
#: counter incremented by a read and a later write (so overlap would lose increments).
CRITICAL = """
import sys, time
from etcdmap import Client, Compare, Op
def critical(client, prefix, who):
    entered = client.txn([Compare.version(prefix + "holder", "==", 0)],
                         [Op.put(prefix + "holder", who)])
    if not entered.succeeded:
        client.put(prefix + "overlap/" + who, "1")
    value = int(client.get(prefix + "counter").kvs[0].value)
    time.sleep(0.01)
    client.put(prefix + "counter", str(value + 1))
    client.delete(prefix + "holder")
"""

WORKER = CRITICAL + """
from etcdmap.concurrency import Mutex, Session
endpoint, prefix, rounds, who = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
with Client([endpoint]) as client, Session(client, ttl=5) as session:
    mutex = Mutex(session, prefix + "lock")
    for _ in range(rounds):
        with mutex:
            critical(client, prefix, who)
"""

ETCDCTL_SECTION = CRITICAL + """
endpoint, prefix = sys.argv[1], sys.argv[2]
with Client([endpoint]) as client:
    critical(client, prefix, "etcdctl")
    time.sleep(0.5)
"""

HOLDER = """
import sys, time
from etcdmap import Client
from etcdmap.concurrency import Mutex, Session, Election
endpoint, name, kind = sys.argv[1], sys.argv[2], sys.argv[3]
client = Client([endpoint])
session = Session(client, ttl=2).start()
if kind == "lock":
    Mutex(session, name).lock()
else:
    Election(session, name).campaign("process")
print("ready", flush=True)
time.sleep(60)
"""


def python(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_mutual_exclusion_among_threads_processes_and_etcdctl(
    etcd_server: EtcdServer, etcd_client: Client, etcd_prefix: str
) -> None:
    rounds = 5
    etcd_client.put(etcd_prefix + "counter", "0")
    namespace: dict[str, object] = {}
    exec(CRITICAL, namespace)  # noqa: S102 - the same critical section as the processes
    critical = namespace["critical"]
    processes = [
        python(WORKER, etcd_server.endpoint, etcd_prefix, str(rounds), f"process-{i}")
        for i in range(2)
    ]
    etcdctl = subprocess.Popen(
        [find_binary("etcdctl"), f"--endpoints={etcd_server.endpoint}", "lock",
         etcd_prefix + "lock", "--", sys.executable, "-c", ETCDCTL_SECTION, etcd_server.endpoint,
         etcd_prefix],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )

    def thread_worker(who: str) -> None:
        with Session(etcd_client, ttl=5) as session:
            mutex = Mutex(session, etcd_prefix + "lock")
            for _ in range(rounds):
                with mutex:
                    critical(etcd_client, etcd_prefix, who)  # type: ignore[operator]

    threads = [threading.Thread(target=thread_worker, args=(f"thread-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for proc in [*processes, etcdctl]:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    counter = etcd_client.get(etcd_prefix + "counter").kvs[0].value
    assert int(counter) == 6 * rounds + 1
    assert etcd_client.get(etcd_prefix + "overlap/", prefix=True).count == 0
    assert etcd_client.get(etcd_prefix + "lock/", prefix=True).count == 0


def test_waiters_are_served_in_queue_order(etcd_client: Client, etcd_prefix: str) -> None:
    name = etcd_prefix + "lock"
    order: list[int] = []
    with Session(etcd_client, ttl=5) as session:
        holder = Mutex(session, name)
        holder.lock()
        sessions = [Session(etcd_client, ttl=5).start() for _ in range(4)]

        def wait(i: int) -> None:
            with Mutex(sessions[i], name):
                order.append(i)

        threads = []
        for i in range(4):
            threads.append(threading.Thread(target=wait, args=(i,)))
            threads[-1].start()
            deadline = time.monotonic() + 10
            while etcd_client.get(name + "/", prefix=True, count_only=True).count < i + 2:
                assert time.monotonic() < deadline
                time.sleep(0.02)
        holder.release()
        for thread in threads:
            thread.join(timeout=20)
        for other in sessions:
            other.close()
    assert order == [0, 1, 2, 3]


@pytest.mark.parametrize("kind", ["lock", "election"])
def test_a_killed_holder_hands_over_when_its_lease_expires(
    etcd_server: EtcdServer, etcd_client: Client, etcd_prefix: str, kind: str
) -> None:
    name = etcd_prefix + kind
    proc = python(HOLDER, etcd_server.endpoint, name, kind)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        with Session(etcd_client, ttl=5) as session:
            if kind == "lock":
                mutex = Mutex(session, name)
                assert not mutex.try_lock()
                proc.kill()
                started = time.monotonic()
                assert mutex.acquire(timeout=15)
                mutex.release()
            else:
                election = Election(session, name)
                assert election.leader().kvs[0].value == b"process"
                proc.kill()
                started = time.monotonic()
                election.campaign("us", timeout=15)
                assert election.leader().kvs[0].value == b"us"
                election.resign()
            assert 0.5 < time.monotonic() - started < 10  # about the holder's 2 s TTL
    finally:
        proc.kill()
        proc.communicate()


def test_one_leader_at_a_time_among_three_campaigners(
    etcd_server: EtcdServer, etcd_client: Client, etcd_prefix: str
) -> None:
    name = etcd_prefix + "election"
    elect = subprocess.Popen(
        [find_binary("etcdctl"), f"--endpoints={etcd_server.endpoint}", "elect", name, "etcdctl"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    leaders: list[str] = []
    lock = threading.Lock()
    try:
        deadline = time.monotonic() + 10
        while etcd_client.get(name + "/", prefix=True, count_only=True).count < 1:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        with Session(etcd_client, ttl=5) as observer_session:
            observer = Election(observer_session, name).observe()
            assert next(observer).kvs[0].value == b"etcdctl"

            def campaign(who: str) -> None:
                with Session(etcd_client, ttl=5) as session:
                    election = Election(session, name)
                    election.campaign(who, timeout=20)
                    with lock:
                        leaders.append(who)
                        # Nobody else leads while we do.
                        assert election.leader().kvs[0].value == who.encode()
                    time.sleep(0.2)
                    election.proclaim(who + "-again")
                    election.resign()

            seen: list[bytes] = []

            def watch() -> None:
                for response in observer:  # ends when cancelled below
                    seen.append(response.kvs[0].value)

            watching = threading.Thread(target=watch)
            watching.start()
            threads = [threading.Thread(target=campaign, args=(w,)) for w in ("a", "b")]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 10
            while etcd_client.get(name + "/", prefix=True, count_only=True).count < 3:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            elect.terminate()  # etcdctl resigns: the next campaigner in line leads
            elect.wait(timeout=10)
            for thread in threads:
                thread.join(timeout=30)
            deadline = time.monotonic() + 5
            while len(seen) < 4 and time.monotonic() < deadline:
                time.sleep(0.02)
            observer.cancel()
            watching.join(timeout=10)
    finally:
        if elect.poll() is None:
            elect.kill()
        elect.communicate()
    assert sorted(leaders) == ["a", "b"]
    first, second = leaders
    assert seen == [v.encode() for v in (first, first + "-again", second, second + "-again")]


@pytest.mark.parametrize("isolation", ["serializable_snapshot", "serializable", "repeatable_reads"])
def test_concurrent_bank_transfers_conserve_the_total(
    etcd_client: Client, etcd_prefix: str, isolation: str
) -> None:
    accounts = [f"{etcd_prefix}acct/{i}" for i in range(5)]
    for account in accounts:
        etcd_client.put(account, "100")

    def move(source: str, target: str, amount: int, stm: STM) -> None:
        balance = int(stm.get(source) or 0)
        if balance >= amount:
            stm.put(source, str(balance - amount))
            stm.put(target, str(int(stm.get(target) or 0) + amount))

    def transfers(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(10):
            source, target = rng.sample(accounts, 2)
            etcd_client.stm(
                functools.partial(move, source, target, rng.randint(1, 30)),
                isolation=isolation,  # type: ignore[arg-type]
            )

    threads = [threading.Thread(target=transfers, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    balances = [int(etcd_client.get(account).kvs[0].value) for account in accounts]
    assert sum(balances) == 500 and min(balances) >= 0


def test_sessions_leak_no_lease(etcd_client: Client, etcd_prefix: str) -> None:
    before = {status.id for status in etcd_client.leases()}
    for _ in range(3):
        with Session(etcd_client, ttl=5) as session, Mutex(session, etcd_prefix + "lock"):
            pass
    assert {status.id for status in etcd_client.leases()} == before


@pytest.mark.cluster
def test_an_observe_stream_ends_when_its_member_loses_the_leader(
    etcd_cluster: object, etcd_prefix: str
) -> None:
    # the stream requires a leader, as watches do: a member that loses quorum ends it with
    # NoLeaderError instead of leaving the observer on a leader it can no longer vouch for
    cluster = etcd_cluster
    follower = cluster.follower()  # type: ignore[attr-defined]
    name = etcd_prefix + "election"
    with Client([cluster.endpoints[follower]]) as client:  # type: ignore[attr-defined]
        lease = client.lease_grant(60)
        client.election_campaign(name, "me", lease)
        stream = client.election_observe(name)
        give_up = threading.Timer(30, stream.cancel)  # without hasleader the stream stays open
        give_up.start()
        try:
            assert next(stream).kv.value == b"me"
            with cluster.alone(follower), pytest.raises(NoLeaderError):  # type: ignore[attr-defined]
                next(stream)
        finally:
            give_up.cancel()
            stream.cancel()
