"""Recording what a workload did to etcd as a history the checkers can judge.

A :class:`Recorder` notes each operation's client, kind, key, input, output, invoke and
complete times (``time.monotonic()``), the revision of its response and its outcome:

- ``OK``: it returned;
- ``FAILED``: it raised an error that proves it was not applied -- a
  :class:`~etcdmap.errors.ConnectionFailedError` (never sent), a server's refusal or a
  validation error (any ``EtcdError`` that is not an ``OutcomeUnknownError``);
- ``UNKNOWN``: it raised :class:`~etcdmap.errors.OutcomeUnknownError` (a deadline, a
  connection lost after sending, etcd's request timeouts) or another ``TimeoutError``: it
  may or may not have taken effect.

:class:`RecordedMap` wraps an :class:`~etcdmap.EtcdMap` (values are ``str``) so that each
of its calls is recorded, writing values unique per write (``"<client>-<seq>"``) so that a
checker can tell writes apart; :func:`record_watch` records the deliveries of a watcher;
:func:`record_lock` the hold intervals of a :class:`~etcdmap.concurrency.Mutex`.

Examples
--------
>>> recorder = Recorder()                                      # doctest: +SKIP
>>> kv = RecordedMap(recorder, "c1", EtcdMap(client, "/test/", value_type=str))
>>> kv.set("a"); kv.get("a"); kv.compare_and_swap("a")
>>> recorder.history().save("history.jsonl")
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .._core.errors import EtcdError, OutcomeUnknownError
from .._core.kv import Compare, Op
from .._core.public import publish
from .._core.watch import EventType, WatchResponse
from .._sync.concurrency import Mutex, Session
from .._sync.mapping import EtcdMap, MapTransaction
from .._sync.watch import Watcher
from .history import History, LockHold, Operation, Outcome, WatchDelivery, WatchEvent, WatchStart

__all__ = [
    "Call",
    "RecordedMap",
    "Recorder",
    "delivery",
    "outcome_of",
    "record_lock",
    "record_watch",
]


def outcome_of(error: BaseException | None) -> Outcome:
    """The outcome of an operation that raised `error` (None: it returned).

    ``UNKNOWN`` for :class:`~etcdmap.errors.OutcomeUnknownError` and any other
    ``TimeoutError``; ``FAILED`` (provably not applied) for every other ``EtcdError``
    (``ConnectionFailedError``, a refusal of the server, ``ConflictError``) and for
    ``TypeError`` / ``ValueError`` (validation before anything is sent); ``OK`` for None.

    Raises
    ------
    TypeError
        For any other exception: no outcome of etcd, a bug of the workload.
    """
    if error is None:
        return Outcome.OK
    if isinstance(error, (OutcomeUnknownError, TimeoutError)):
        return Outcome.UNKNOWN
    if isinstance(error, (EtcdError, TypeError, ValueError)):
        return Outcome.FAILED
    raise TypeError(f"{type(error).__name__} is not an outcome of an etcd call") from error


class Call:
    """One call being recorded by :meth:`Recorder.call`: fill in what it did.

    ``kind``, ``key`` and ``input`` may still be changed in the block (a ``modify``
    learns only then which value it compared with).
    """

    __slots__ = ("error", "input", "key", "kind", "output", "revision")

    def __init__(self, kind: str, key: str, input: Any) -> None:
        self.kind = kind
        self.key = key
        self.input = input
        self.output: Any = None
        """What the call returned, as the history's table of kinds says."""
        self.revision: int | None = None
        """The revision of the call's response."""
        self.error: BaseException | None = None
        """The etcd error the call raised, if it did."""


class Recorder:
    """Records the calls, watch deliveries and lock holds of a workload into a
    :class:`~etcdmap.testing.history.History`; thread-safe.

    Parameters
    ----------
    history : History, optional
        Where the records go (a new one by default).
    """

    def __init__(self, history: History | None = None) -> None:
        self.history = history if history is not None else History()
        self._lock = threading.Lock()
        self._counters: dict[int, Iterator[int]] = {}

    def unique(self, client: int) -> str:
        """A value no other write of this recorder uses: ``"<client>-<seq>"``."""
        with self._lock:
            counter = self._counters.setdefault(client, itertools.count(1))
            return f"{client}-{next(counter)}"

    def call(self, client: int, kind: str, key: str, input: Any = None) -> _Recording:
        """A context manager recording the call its block makes.

        The invoke time is taken when the block starts, the complete time when it ends.
        An etcd error of the block is recorded (``FAILED`` or ``UNKNOWN``, see
        :func:`outcome_of`) and swallowed, so the workload goes on; any other exception
        propagates (the call is then recorded as ``UNKNOWN``).

        Parameters
        ----------
        client : int
            The sequential client (one thread) that makes the call.
        kind : str
            One of the history's kinds (``"get"``, ``"put"``, ``"delete"``, ``"cas"``,
            ``"put_if_absent"``, ``"txn"``).
        key : str
            The key (``""`` for a ``txn``).
        input : Any
            The call's input, as the history's table of kinds says.
        """
        return _Recording(self, client, Call(kind, key, input))


class _Recording:
    """The context manager of :meth:`Recorder.call`."""

    def __init__(self, recorder: Recorder, client: int, call: Call) -> None:
        self._recorder = recorder
        self._client = client
        self._call = call
        self._invoke = 0.0

    def __enter__(self) -> Call:
        self._invoke = time.monotonic()
        return self._call

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> bool:
        complete = time.monotonic()
        call = self._call
        try:
            outcome = outcome_of(exc)
            swallow = exc is not None
        except TypeError:
            outcome, swallow = Outcome.UNKNOWN, False
        ok = outcome is Outcome.OK
        call.error = exc
        self._recorder.history.append(
            Operation(
                client=self._client,
                kind=call.kind,
                key=call.key,
                input=call.input,
                output=call.output if ok else None,
                invoke=self._invoke,
                complete=complete,
                outcome=outcome,
                revision=call.revision if ok else None,
            )
        )
        return swallow


class RecordedMap:
    """An :class:`~etcdmap.EtcdMap` of ``str`` values whose calls are recorded.

    Each method makes one call of the map (its RPCs, at its consistency), records it with
    :meth:`Recorder.call` in the history's vocabulary, and returns the :class:`Call`
    (``output``, ``revision``, ``error``); etcd's errors are recorded, not raised.  Writes
    store values made by :meth:`Recorder.unique`.

    Parameters
    ----------
    recorder : Recorder
        Where the calls go.
    client : int
        This sequential client's number; use one ``RecordedMap`` per thread.
    target : EtcdMap
        The map (``value_type=str``); keys are recorded as the map names them.
    """

    def __init__(self, recorder: Recorder, client: int, target: EtcdMap[str]) -> None:
        self.recorder = recorder
        self.client = client
        self.target = target

    def _call(self, kind: str, key: str, input: Any = None) -> _Recording:
        return self.recorder.call(self.client, kind, key, input)

    def _new(self) -> str:
        return self.recorder.unique(self.client)

    def get(self, key: str) -> Call:
        """``map.get(key)`` (KV.Range, linearizable)."""
        with self._call("get", key) as call:
            call.output = self.target.get(key)
            call.revision = self.target.revision
        return call

    def set(self, key: str) -> Call:
        """``map.set(key, <unique>)`` (KV.Put), recorded as a ``put``."""
        with self._call("put", key, self._new()) as call:
            call.revision = self.target.set(key, call.input)
        return call

    def delete(self, key: str) -> Call:
        """``map.delete(key)`` (KV.DeleteRange); output: whether a key was deleted."""
        with self._call("delete", key) as call:
            try:
                call.revision = self.target.delete(key)
                call.output = True
            except KeyError:
                call.output = False
                call.revision = self.target.revision
        return call

    def compare_and_swap(self, key: str, expected: str) -> Call:
        """``map.compare_and_swap(key, expected, <unique>)`` (one KV.Txn), a ``cas``."""
        with self._call("cas", key, {"expect": expected, "new": self._new()}) as call:
            call.output = self.target.compare_and_swap(key, expected, call.input["new"])
            call.revision = self.target.revision
        return call

    def put_if_absent(self, key: str) -> Call:
        """``map.put_if_absent(key, <unique>)`` (one KV.Txn on the create revision)."""
        with self._call("put_if_absent", key, self._new()) as call:
            call.output = self.target.put_if_absent(key, call.input)
            call.revision = self.target.revision
        return call

    def modify(self, key: str) -> Call:
        """``map.modify(key, fn)`` (KV.Range, then KV.Txns on the mod_revision read), ``fn``
        replacing the value (or its absence) by a unique one.

        Recorded as the last attempt's write, the only one that may have been applied: a
        ``cas`` from the value it read (a successful compare on the mod_revision implies
        one on the value), or a ``put_if_absent`` when the key was absent.  A call that
        fails before any attempt is a failed ``get``.
        """
        new = self._new()
        with self._call("get", key) as call:

            def replace(old: str) -> str:
                if old == "":  # the default: absent (no write stores "")
                    call.kind, call.input = "put_if_absent", new
                else:
                    call.kind, call.input = "cas", {"expect": old, "new": new}
                return new

            self.target.modify(key, replace, default="")
            call.output = True
            call.revision = self.target.revision
        return call

    def transaction(self, keys: Sequence[str]) -> Call:
        """``map.transaction(fn)`` (an STM at serializable isolation): ``fn`` reads every
        key and writes a unique value to each.

        Recorded as the commit of its last attempt: a ``txn`` guarded by the values that
        attempt read (the commit compares their mod_revisions) whose ``then`` puts the new
        values; one with no attempt is a failed ``get`` of the first key.
        """
        new = {key: self._new() for key in keys}
        puts = [["put", key, value] for key, value in new.items()]
        with self._call("get", keys[0]) as call:

            def body(tx: MapTransaction[str]) -> None:
                guard = [[key, tx.get(key)] for key in keys]
                call.kind, call.key = "txn", ""
                call.input = {"guard": guard, "then": puts, "else": []}
                for key, value in new.items():
                    tx.set(key, value)

            self.target.transaction(body)
            call.output = {"succeeded": True, "reads": []}
            call.revision = self.target.revision
        return call

    def txn(self, key: str, expected: str | None) -> Call:
        """A client Txn (KV.Txn): if `key` holds `expected` (absent: None) put a unique
        value, else get the key."""
        keyspace = self.target.keyspace
        full = keyspace.full(key)
        new = self._new()
        compare = (
            Compare.create_revision(full, "==", 0)
            if expected is None
            else Compare.value(full, "==", keyspace.encode(key, expected))
        )
        spec = {"guard": [[key, expected]], "then": [["put", key, new]], "else": [["get", key]]}
        with self._call("txn", "", spec) as call:
            response = self.target.client.txn(
                [compare], [Op.put(full, keyspace.encode(key, new))], [Op.get(full)]
            )
            reads: list[str | None] = []
            if not response.succeeded:
                kvs = response.responses[0].kvs  # type: ignore[union-attr]  # an Op.get's
                reads.append(keyspace.decode(key, kvs[0]) if kvs else None)
            call.output = {"succeeded": response.succeeded, "reads": reads}
            call.revision = response.header.revision
        return call


def record_watch(
    recorder: Recorder,
    number: int,
    watcher: Watcher,
    prefix: str,
    start_revision: int = 0,
    strip: int = 0,
) -> None:
    """Record the :class:`~etcdmap.testing.history.WatchStart` of a started `watcher` and
    each response it delivers (the first since its stream reconnected marked
    ``after_reconnect``), until the watch ends (``watcher.cancel()`` from another thread,
    or an error, which propagates).

    Parameters
    ----------
    recorder : Recorder
        Where the records go.
    number : int
        The watcher's number in the history.
    watcher : Watcher
        A started watcher (``client.watch(...).start()``) of `prefix`; iterate it nowhere
        else.
    prefix : str
        What it watches, as recorded (keys are recorded from their ``strip``-th character).
    start_revision : int
        The ``start_revision`` it was started with (0: the one after the current one).
    strip : int
        How many leading characters of each key (and of `prefix`) to leave out, e.g. the
        length of a run's private prefix.
    """
    recorder.history.append(
        WatchStart(
            watcher=number,
            prefix=prefix[strip:],
            start_revision=start_revision,
            time=time.monotonic(),
            current_revision=None if start_revision else watcher.next_revision - 1,
        )
    )
    # no public counter of the shared stream's (re)connections: read the stream's own
    connects = watcher._stream.connects
    for response in watcher:
        now = watcher._stream.connects
        recorder.history.append(delivery(number, response, strip, now != connects))
        connects = now


def delivery(
    number: int, response: WatchResponse, strip: int = 0, after_reconnect: bool = False
) -> WatchDelivery:
    """The :class:`~etcdmap.testing.history.WatchDelivery` of one response of watcher
    `number`, received now (keys from their `strip`-th character); `after_reconnect`:
    the first since the watch's stream was opened again."""
    events = tuple(
        WatchEvent(
            key=event.kv.key.decode()[strip:],
            kind="put" if event.type is EventType.PUT else "delete",
            value=event.kv.value.decode() if event.type is EventType.PUT else None,
            mod_revision=event.kv.mod_revision,
        )
        for event in response.events
    )
    return WatchDelivery(
        watcher=number,
        revision=response.header.revision,
        events=events,
        time=time.monotonic(),
        after_reconnect=after_reconnect,
    )


def record_lock(
    recorder: Recorder,
    client: int,
    session: Session,
    name: str,
    work: Callable[[], object],
    timeout: float | None = None,
) -> bool:
    """Acquire the :class:`~etcdmap.concurrency.Mutex` `name` on `session`, run `work`
    holding it, release it, and record the hold as a
    :class:`~etcdmap.testing.history.LockHold`.

    Parameters
    ----------
    recorder : Recorder
        Where the hold goes.
    client : int
        The holder's number.
    session : Session
        A started session; its lease id is recorded.
    name : str
        The lock's key prefix.
    work : callable
        Runs while the lock is held.
    timeout : float, optional
        How long to wait for the lock.

    Returns
    -------
    bool
        Whether the lock was acquired (and `work` ran).  etcd's errors propagate.  The
        hold ends when the release is invoked (the holder relies on the lock no more),
        also if the release then fails; a hold whose `work` raised is never released.
    """
    mutex = Mutex(session, name)
    if not mutex.acquire(timeout=timeout):
        return False
    acquired = time.monotonic()
    released: float | None = None
    try:
        work()
        released = time.monotonic()
        mutex.release(timeout=timeout)
    finally:
        # when the client learnt the session was gone (a conservative bound)
        lost = time.monotonic() if session.lost else None
        recorder.history.append(
            LockHold(
                client=client,
                name=name,
                session=session.lease_id,
                acquired=acquired,
                released=released,
                ttl=float(session.ttl),
                expired_by=lost,
            )
        )
    return True


publish(__name__)
