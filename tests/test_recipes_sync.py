"""Contention tests of the blocking recipes: threads on one RWMutex, Barrier, DoubleBarrier or
Queue (the async twins in tests/_async/test_recipes.py cover the single-task behaviour)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from etcdmap import Client
from etcdmap.concurrency import Barrier, DoubleBarrier, Queue, RWMutex, Session


def run_threads(*targets: Callable[[], None]) -> None:
    """Run each target in a thread of its own; re-raise the first failure."""
    failures: list[BaseException] = []

    def guarded(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=guarded, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hangs"
    if failures:
        raise failures[0]


class Occupancy:
    """Who is inside the critical section: fails on a writer next to anybody."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.readers = 0
        self.writers = 0
        self.max_readers = 0
        self.writes = 0

    def enter(self, write: bool) -> None:
        with self._lock:
            if write:
                assert self.readers == 0 and self.writers == 0, "a writer next to others"
                self.writers += 1
                self.writes += 1
            else:
                assert self.writers == 0, "a reader next to a writer"
                self.readers += 1
                self.max_readers = max(self.max_readers, self.readers)

    def leave(self, write: bool) -> None:
        with self._lock:
            if write:
                self.writers -= 1
            else:
                self.readers -= 1


def test_rwmutex_readers_overlap_and_writers_exclude_all(
    etcd_client: Client, etcd_prefix: str
) -> None:
    name = etcd_prefix + "rw"
    inside = Occupancy()
    all_readers_in = threading.Barrier(3)

    def overlapping_reader() -> None:
        with Session(etcd_client, ttl=5) as session:
            rw = RWMutex(session, name)
            rw.read_lock(timeout=10)
            inside.enter(False)
            all_readers_in.wait(timeout=10)  # only passes if the three hold it together
            inside.leave(False)
            rw.read_unlock()

    run_threads(*[overlapping_reader] * 3)
    assert inside.max_readers == 3

    def worker(write: bool, rounds: int) -> Callable[[], None]:
        def run() -> None:
            with Session(etcd_client, ttl=5) as session:
                rw = RWMutex(session, name)
                for _ in range(rounds):
                    if write:
                        rw.lock(timeout=20)
                    else:
                        rw.read_lock(timeout=20)
                    inside.enter(write)
                    time.sleep(0.02)
                    inside.leave(write)
                    if write:
                        rw.unlock()
                    else:
                        rw.read_unlock()

        return run

    run_threads(worker(True, 4), worker(True, 4), worker(False, 6), worker(False, 6),
                worker(False, 6))
    assert inside.writes == 8
    assert etcd_client.get(name + "/", prefix=True).count == 0


def test_barrier_releases_every_waiter(etcd_client: Client, etcd_prefix: str) -> None:
    barrier = Barrier(etcd_client, etcd_prefix + "barrier")
    assert barrier.hold()
    released: list[float] = []
    lock = threading.Lock()

    def waiter() -> None:
        Barrier(etcd_client, etcd_prefix + "barrier").wait(timeout=10)
        with lock:
            released.append(time.monotonic())

    def releaser() -> None:
        time.sleep(0.5)
        assert not released  # everybody still waits
        with lock:
            released.append(0.0)  # marks the release; waiters come after
        assert barrier.release()

    run_threads(waiter, waiter, waiter, releaser)
    assert released[0] == 0.0 and len(released) == 4


def test_double_barrier_with_three_threads(etcd_client: Client, etcd_prefix: str) -> None:
    key = etcd_prefix + "double"
    log: list[tuple[str, int]] = []
    lock = threading.Lock()

    def note(what: str, who: int) -> None:
        with lock:
            log.append((what, who))

    def participant(who: int) -> Callable[[], None]:
        def run() -> None:
            with Session(etcd_client, ttl=5) as session:
                barrier = DoubleBarrier(session, key, 3)
                time.sleep(0.2 * who)  # arrive one after the other
                note("enter", who)
                barrier.enter(timeout=10)
                note("entered", who)
                time.sleep(0.2 * (2 - who))  # leave in the other order
                note("leave", who)
                barrier.leave(timeout=10)
                note("left", who)

        return run

    run_threads(participant(0), participant(1), participant(2))
    at = {what: [i for i, (kind, _) in enumerate(log) if kind == what] for what, _ in log}
    assert all(len(indexes) == 3 for indexes in at.values())
    # Nobody got in before all three arrived, nor out before all three were leaving.
    assert max(at["enter"]) < min(at["entered"])
    assert max(at["leave"]) < min(at["left"])
    assert etcd_client.get(key + "/", prefix=True).count == 0  # ready deleted by the last


def test_queue_two_consumers_get_every_item_once_in_order(
    etcd_client: Client, etcd_prefix: str
) -> None:
    name = etcd_prefix + "queue"
    items = 200
    taken: dict[int, list[int]] = {0: [], 1: []}

    def producer() -> None:
        queue = Queue(etcd_client, name)
        for i in range(items):
            queue.enqueue(str(i))
        for _ in taken:
            queue.enqueue("stop")

    def consumer(who: int) -> Callable[[], None]:
        def run() -> None:
            queue = Queue(etcd_client, name)
            while (value := queue.dequeue(timeout=20)) != b"stop":
                taken[who].append(int(value))

        return run

    run_threads(producer, consumer(0), consumer(1))
    both = taken[0] + taken[1]
    assert sorted(both) == list(range(items))  # every item, none twice
    assert taken[0] == sorted(taken[0]) and taken[1] == sorted(taken[1])  # FIFO
    assert taken[0] and taken[1]
    assert etcd_client.get(name + "/", prefix=True).count == 0
