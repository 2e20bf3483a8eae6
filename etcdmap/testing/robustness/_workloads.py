"""The workloads of a robustness run: client threads whose calls are recorded."""

from __future__ import annotations

import abc
import contextlib
import functools
import random
import threading
import time
from collections.abc import Callable, Sequence

from ..._core.errors import CompactedError, EtcdError
from ..._sync.client import Client
from ..._sync.concurrency import Session
from ..._sync.mapping import EtcdMap
from ..._sync.mirror import Mirror
from ..._sync.watch import Watcher
from ...codecs import Str
from ..history import MirrorSample
from ..recorder import RecordedMap, Recorder, record_lock, record_watch

#: Per-call timeout of the workloads' clients: a call stuck on a partitioned member ends
#: as UNKNOWN soon, and the client tries another endpoint.
CALL_TIMEOUT = 2.0
KEYS = ("a", "b", "c", "d")
#: The keys of multi-key transactions: always the same two, so that the checker's search
#: still splits the history into three independent partitions.
TXN_KEYS = ("c", "d")
#: The ``degraded_after`` of the watch workload's mirror.
DEGRADED_AFTER = 3.0


class Workload(abc.ABC):
    """Threads making recorded calls until :meth:`stop`; a context manager.

    Parameters
    ----------
    recorder : Recorder
        Where the calls go.
    endpoints : sequence of str
        The cluster's client endpoints.
    prefix : str
        The run's private key prefix.
    seed : int
        Seeds each thread's choice of calls.
    """

    def __init__(
        self, recorder: Recorder, endpoints: Sequence[str], prefix: str, seed: int
    ) -> None:
        self.recorder = recorder
        self.endpoints = list(endpoints)
        self.prefix = prefix
        self.seed = seed
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._clients: list[Client] = []
        self.errors: list[BaseException] = []

    def client(self) -> Client:
        """A new client of the cluster, closed by :meth:`stop`."""
        client = Client(self.endpoints, timeout=CALL_TIMEOUT)
        self._clients.append(client)
        return client

    def spawn(self, name: str, target: Callable[[], None]) -> None:
        """Run `target` in a thread; an exception it raises is kept in :attr:`errors`."""

        def run() -> None:
            try:
                target()
            except BaseException as exc:  # noqa: BLE001 - reported by the runner
                self.errors.append(exc)

        thread = threading.Thread(target=run, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    @abc.abstractmethod
    def start(self) -> None:
        """Start the threads."""

    def finish(self) -> None:  # noqa: B027 - an optional hook: nothing to do by default
        """After the writers stopped and the cluster healed: let readers catch up."""

    def stop(self, timeout: float = 20.0) -> None:
        """Stop every thread (within `timeout` s) and close the clients."""
        self.stopping.set()
        self.finish()
        for thread in self._threads:
            thread.join(timeout)
        stuck = [t.name for t in self._threads if t.is_alive()]
        for client in self._clients:
            client.close()
        if stuck:
            raise TimeoutError(f"workload threads {stuck} did not stop within {timeout} s")

    def __enter__(self) -> Workload:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class KVWorkload(Workload):
    """Four clients calling get, set, delete, compare_and_swap, put_if_absent, modify,
    transaction and client txns at random on four keys (each its own thread and client)."""

    clients = 4

    def start(self) -> None:
        for number in range(self.clients):
            kv = RecordedMap(
                self.recorder, number, EtcdMap(self.client(), self.prefix, codec=Str())
            )
            rng = random.Random(self.seed * 1000 + number)
            self.spawn(f"kv-{number}", functools.partial(self._loop, kv, rng))

    def _loop(self, kv: RecordedMap, rng: random.Random) -> None:
        last: dict[str, str | None] = {}
        while not self.stopping.is_set():
            key = rng.choice(KEYS)
            roll = rng.random()
            if roll < 0.30:
                call = kv.get(key)
                if call.error is None:
                    last[key] = call.output
            elif roll < 0.50:
                kv.set(key)
            elif roll < 0.58:
                kv.delete(key)
            elif roll < 0.70:
                expected = last.get(key)
                if expected is None:
                    kv.put_if_absent(key)
                else:
                    kv.compare_and_swap(key, expected)
            elif roll < 0.80:
                kv.modify(key)
            elif roll < 0.88:
                kv.transaction(TXN_KEYS)
            else:
                kv.txn(key, last.get(key))


class WatchWorkload(Workload):
    """Two writers putting unique values on the keys; two watchers of the prefix, each on
    its own client, recording what they deliver across reconnects (a watch that ends on
    an error is started again from where it was, as a new watcher of the history); and a
    :class:`~etcdmap.Mirror` of the prefix, sampled every 0.2 s."""

    writers = 2
    watchers = 2

    def __init__(
        self, recorder: Recorder, endpoints: Sequence[str], prefix: str, seed: int
    ) -> None:
        super().__init__(recorder, endpoints, prefix, seed)
        self.caught_up = threading.Event()
        self.final_revision = 0
        self._live: list[Watcher] = []
        self._numbers = iter(range(1_000_000))
        self._lock = threading.Lock()

    def start(self) -> None:
        for number in range(self.writers):
            kv = RecordedMap(
                self.recorder, number, EtcdMap(self.client(), self.prefix, codec=Str())
            )
            rng = random.Random(self.seed * 1000 + number)
            self.spawn(f"writer-{number}", functools.partial(self._write, kv, rng))
        for number in range(self.watchers):
            self.spawn(f"watcher-{number}", functools.partial(self._watch, self.client()))
        self.spawn("mirror-sampler", functools.partial(self._sample, self.client()))

    def _write(self, kv: RecordedMap, rng: random.Random) -> None:
        while not self.stopping.is_set():
            key = rng.choice(KEYS)
            if rng.random() < 0.85:
                kv.set(key)
            else:
                kv.delete(key)

    def _watch(self, client: Client) -> None:
        """Watch the prefix until :meth:`finish`; a watch that ends on an error is started
        again where it stopped, or from now if that revision was compacted."""
        next_revision = 0
        while True:
            with self._lock:
                if self.caught_up.is_set():
                    return
                number = next(self._numbers)
            watcher = client.watch(self.prefix, prefix=True, start_revision=next_revision)
            try:
                watcher.start(timeout=CALL_TIMEOUT)
            except EtcdError as exc:
                watcher.cancel()
                if isinstance(exc, CompactedError):
                    next_revision = 0
                self.caught_up.wait(0.2)
                continue
            with self._lock:
                self._live.append(watcher)
            try:
                record_watch(
                    self.recorder, number, watcher, self.prefix, next_revision, len(self.prefix)
                )
                next_revision = watcher.next_revision
            except CompactedError:
                next_revision = 0
            except EtcdError:
                next_revision = watcher.next_revision
            finally:
                with self._lock:
                    self._live.remove(watcher)

    def _sample(self, client: Client) -> None:
        """Sample a mirror of the prefix every 0.2 s: its content and revision (one
        ``local_snapshot()``), its state, and since when its watch confirmed nothing."""
        mirror = Mirror(client, self.prefix, codec=Str(), degraded_after=DEGRADED_AFTER)
        with mirror:
            while not self.caught_up.wait(0.2):
                snapshot = mirror.local_snapshot()
                state = mirror.state
                confirmed = mirror.last_confirmed  # time.time(): made monotonic below
                now = time.monotonic()
                self.recorder.history.append(
                    MirrorSample(
                        mirror=0,
                        time=now,
                        revision=snapshot.revision,
                        state=state.value,
                        content=dict(snapshot.data),
                        stream_down_since=None if confirmed is None
                        else now - max(0.0, time.time() - confirmed),
                    )
                )

    def finish(self, timeout: float = 15.0) -> None:
        """Wait (up to `timeout` s) until every watcher has delivered up to
        :attr:`final_revision` (set by the runner), then cancel them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                behind = len(self._live) < self.watchers or any(
                    w.next_revision <= self.final_revision for w in self._live
                )
            if not behind:
                break
            time.sleep(0.05)
        self.caught_up.set()
        with self._lock:
            live = list(self._live)
        for watcher in live:
            watcher.cancel()


class LockWorkload(Workload):
    """Three clients, each with a session (lease TTL 10 s, longer than any fault), taking
    turns on one :class:`~etcdmap.concurrency.Mutex` and holding it a few milliseconds;
    every hold is recorded with its session.  A session found lost is replaced."""

    clients = 3
    ttl = 10

    def start(self) -> None:
        for number in range(self.clients):
            rng = random.Random(self.seed * 1000 + number)
            self.spawn(f"lock-{number}", functools.partial(self._loop, number, rng))

    def _loop(self, number: int, rng: random.Random) -> None:
        client = self.client()
        name = self.prefix + "lock"
        session: Session | None = None
        try:
            while not self.stopping.is_set():
                try:
                    if session is None or session.done.is_set():
                        session = Session(client, ttl=self.ttl).start(timeout=CALL_TIMEOUT)
                    pause = rng.uniform(0.0, 0.02)
                    record_lock(
                        self.recorder, number, session, name,
                        functools.partial(time.sleep, pause), CALL_TIMEOUT,
                    )  # fmt: skip
                except EtcdError:
                    self.stopping.wait(0.05)
        finally:
            if session is not None:
                with contextlib.suppress(EtcdError):
                    session.close()  # revokes the lease: its key goes at once


WORKLOADS: dict[str, type[Workload]] = {
    "kv": KVWorkload,
    "lock": LockWorkload,
    "watch": WatchWorkload,
}
