"""The blocking backend: its bounded queue (what each sync watcher buffers responses in) and
``uninterruptible`` (Ctrl-C held back while the watch stream's shared state changes)."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from etcdmap._backends.threads import Queue, SharedReader, uninterruptible


def test_a_full_queue_holds_the_producer_until_the_consumer_takes_half(monkeypatch: pytest.MonkeyPatch) -> None:
    # No timed re-check to fall back on: only the consumer's taking can wake the producer.
    monkeypatch.setattr(Queue, "RECHECK", 60.0)
    q: Queue[int] = Queue(maxsize=4)
    produced: list[int] = []

    def produce() -> None:
        for i in range(200):
            q.put(i)
            produced.append(i)

    producer = threading.Thread(target=produce)
    producer.start()
    time.sleep(0.2)
    assert produced == [0, 1, 2, 3] and q.qsize() == 4  # the fifth put waits
    taken: list[int] = []
    deadline = time.monotonic() + 10
    while len(taken) < 200 and time.monotonic() < deadline:
        assert q.qsize() <= 4
        try:
            taken.append(q.get_nowait())  # how SharedReader takes items
        except queue.Empty:
            time.sleep(0.0005)
    producer.join(5)
    assert not producer.is_alive()
    assert taken == list(range(200))


def test_put_nowait_passes_the_bound_and_get_nowait_does_not_wait() -> None:
    q: Queue[str] = Queue(maxsize=1)
    q.put("a")
    q.put_nowait("end")  # ending a consumer never blocks
    assert [q.get_nowait(), q.get_nowait()] == ["a", "end"]
    assert q.empty()
    with pytest.raises(queue.Empty):
        q.get_nowait()


class Interrupted(Exception):  # noqa: N818 - it stands for KeyboardInterrupt
    pass


def test_uninterruptible_holds_ctrl_c_back_until_the_block_has_ended() -> None:
    def interrupt(signum: int, frame: object) -> None:
        raise Interrupted

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        steps = []
        with pytest.raises(Interrupted):
            with uninterruptible():
                signal.raise_signal(signal.SIGINT)
                steps.append("the block ran to its end")
            steps.append("not reached: the held-back Ctrl-C is raised here")
        assert steps == ["the block ran to its end"]
        assert signal.getsignal(signal.SIGINT) is interrupt  # the handler is back
        with pytest.raises(Interrupted):  # and outside a block Ctrl-C interrupts at once
            signal.raise_signal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, previous)


class _LooksFreeOnce:
    """A lock whose first ``locked()`` answers False although it is held: the moment a
    consumer looks at the turn just before another one takes it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lied = False

    def acquire(self, blocking: bool = True) -> bool:
        return self._lock.acquire(blocking)

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        if not self._lied and self._lock.locked():
            self._lied = True
            return False
        return self._lock.locked()

    __enter__ = acquire

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def test_a_consumer_that_misses_the_turn_is_woken_for_its_item() -> None:
    # A reads for both; B comes while A holds the turn. B must wait where the reader wakes
    # it (not on the turn's lock), so it gets its item while A still reads.
    mine: Queue[str] = Queue(maxsize=8)
    theirs: Queue[str] = Queue(maxsize=8)
    got_theirs = threading.Event()

    def step() -> None:
        deadline = time.monotonic() + 2
        while not reader._waiting and time.monotonic() < deadline:
            time.sleep(0.01)
        theirs.put("for-b")
        reader.wake()
        served.append(got_theirs.wait(2))  # while this consumer still holds the turn
        mine.put("for-a")

    served: list[bool] = []
    reader = SharedReader(step, lambda: True, end=None)
    reader._turn = _LooksFreeOnce()  # type: ignore[assignment]
    a = threading.Thread(target=reader.next, args=(mine,))
    a.start()
    while not reader._turn._lock.locked():  # A holds the turn (asked past the lie)
        time.sleep(0.001)
    assert reader.next(theirs) == "for-b"
    got_theirs.set()
    a.join(5)
    assert served == [True]


def test_freed_tells_whether_a_consumer_still_reads_for_its_queue() -> None:
    # The step blocks as a read of a frozen server does, until the test lets it return.
    release, reading = threading.Event(), threading.Event()
    end = object()

    def step() -> None:
        reading.set()
        release.wait(10)

    reader = SharedReader(step, lambda: True, end)
    mine: Queue[object] = Queue()
    consumer = threading.Thread(target=reader.next, args=(mine,))
    consumer.start()
    assert reading.wait(5)
    mine.put_nowait(end)  # its owner ended the queue, but the read goes on
    started = time.monotonic()
    assert reader.freed(mine, 0.2) is False
    assert 0.2 <= time.monotonic() - started < 1.0
    assert reader.freed(Queue(), 0.2) is True  # no one reads for another queue
    threading.Timer(0.1, release.set).start()
    assert reader.freed(mine, 5) is True  # the read returned: the consumer has its item
    consumer.join(5)
    assert not consumer.is_alive()


def test_freed_ignores_the_helper_reading_for_a_consumer_with_a_deadline() -> None:
    release, reading = threading.Event(), threading.Event()

    def step() -> None:
        reading.set()
        release.wait(10)

    reader = SharedReader(step, lambda: not release.is_set(), object())
    mine: Queue[object] = Queue()
    with pytest.raises(TimeoutError):
        reader.next(mine, 0.3)  # the helper thread reads for it meanwhile
    assert reading.is_set()
    assert reader.freed(mine, 0.0) is True  # no one waits for the helper
    release.set()
    reader.close()



#: Opens and closes polled channels in a fresh interpreter (pytest's own thread-exception hook
#: hides some of the poller's deaths) and prints how many threads died.
POLLED_CHANNELS = """
import sys, threading, time
from etcdmap._backends import threads
threads._POLL_CONNECTIVITY = True
died = []
threading.excepthook = lambda args: died.append(args.exc_value)
for i in range(40):
    channel = threads.open_channel(sys.argv[1], [])
    time.sleep(0.01 * (i % 7))
    started = time.monotonic()
    threads.close_channel_now(channel)
    assert time.monotonic() - started < 1.0, "close took a second"
time.sleep(0.5)
print(len(died), died[:1])
"""


def test_closing_a_polled_channel_leaves_no_thread_dying(etcd_server: Any) -> None:
    """On grpcio < 1.76 every blocking channel has a connectivity subscriber, whose gRPC poller
    thread died with "Channel closed!" when the channel closed under it (forced here on any
    grpcio; about 1 channel in 15 before the fix)."""
    target = etcd_server.endpoints[0].split("://")[-1]
    result = subprocess.run(
        [sys.executable, "-c", POLLED_CHANNELS, target], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("0 "), result.stdout
