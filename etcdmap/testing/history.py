"""Histories: what a workload did against etcd and what it saw, as plain records.

A history is what the checkers of :mod:`etcdmap.testing.checkers` judge: the KV
operations of every client with their invocation and completion times and outcomes, the
deliveries of every watcher, the hold intervals of locks and samples of mirrors.  It is
pure data (no I/O but :meth:`History.save` / :meth:`History.load`, JSON lines), so a
failing run can be kept and checked again.

Times are ``time.monotonic()`` seconds, all taken in the one process that runs the
workload.  Values are JSON scalars (``str``, ``int``, ``float``, ``bool``); ``None``
stands for "the key does not exist".  A recorder that writes bytes or structures stores
them encoded (say ``bytes.hex()``): the checkers only compare values for equality.

Operations
----------
One :class:`Operation` per call.  ``invoke`` is taken just before the call, ``complete``
just after it returned or raised (``None``: it never returned, e.g. the workload was
stopped).  ``outcome`` is ``OK``, ``FAILED`` (provably not applied: the checkers ignore
it) or ``UNKNOWN`` (may have been applied at any moment after ``invoke``, or never; its
``output`` and ``revision`` are ignored).  ``revision`` is the response header's
revision of an ``OK`` call: for a call that wrote, the revision of its write; for one that
did not, the revision it read at.  Only linearizable reads may be recorded (not
``serializable`` ones, which may be stale by design).  The kinds, with their ``input`` and
``output``:

============== ================================ =========================================
``kind``       ``input``                        ``output``
============== ================================ =========================================
``get``        ``None``                         the value read (``None``: absent)
``put``        the value written                ``None``
``delete``     ``None``                         ``True`` if a key was deleted
``cas``        ``{"expect": v, "new": w}``      ``True`` if it stored ``w`` (it compares
                                                the value with ``v``, which is not None)
``put_if_absent`` the value                     ``True`` if it stored it
``txn``        ``{"guard": [[key, v], ...],     ``{"succeeded": bool, "reads": [v, ...]}``:
               "then": [op, ...],               the branch taken and the values its
               "else": [op, ...]}``             ``get`` ops read, in order
============== ================================ =========================================

A ``txn`` has ``key=""``; its keys are those of its guard and ops (:attr:`Operation.keys`).
Its guard holds when every listed key's value equals ``v`` (``None``: the key is absent).
Its ops are ``["get", key]``, ``["put", key, value]`` and ``["delete", key]``.  A
compare on ``mod_revision`` that succeeded may be recorded as a compare on the value it
had (a weaker, still true, statement): ``EtcdMap.modify`` as a ``cas`` from the value it
read, an ``EtcdMap.transaction`` as a ``txn`` guarded by the values it read.

Watches, locks, mirrors
-----------------------
:class:`WatchStart` names a watcher and what it watches; each response it delivered is a
:class:`WatchDelivery` of :class:`WatchEvent` s.  ``History.committed`` holds the events
of every committed write under the watched prefixes with their revisions, read from etcd
at the end of the run (one watch from the first revision of the run): the truth the
watch deliveries are compared with, and from which the content at any revision follows
(:func:`etcdmap.testing.checkers.content_at`).  :class:`LockHold` is one holder's hold of
a lock; :class:`MirrorSample` one look at a mirror.

Examples
--------
>>> history = History()
>>> recorder = HistoryRecorder(history)
>>> with recorder.record(client=0, kind="put", key="k", input="v1") as call:
...     call.ok(revision=client.put("k", "v1").header.revision)        # doctest: +SKIP
>>> history.save("failing-run.jsonl")                                   # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import enum
import os
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

import msgspec

from .._core.errors import EtcdError, OutcomeUnknownError
from .._core.public import publish

__all__ = [
    "History",
    "HistoryRecorder",
    "LockHold",
    "MirrorSample",
    "Operation",
    "Outcome",
    "PendingCall",
    "WatchDelivery",
    "WatchEvent",
    "WatchStart",
]

#: The kinds of :class:`Operation` the checkers know.
KINDS = frozenset({"get", "put", "delete", "cas", "put_if_absent", "txn"})


class Outcome(enum.Enum):
    """How a call ended: ``OK`` (answered), ``FAILED`` (provably not applied) or
    ``UNKNOWN`` (may or may not have been applied)."""

    OK = "ok"
    FAILED = "failed"
    UNKNOWN = "unknown"


class Operation(msgspec.Struct, frozen=True, tag="op"):
    """One KV call of one client (see the module's table for ``kind``, ``input`` and
    ``output``); ``invoke`` and ``complete`` are ``time.monotonic()`` seconds
    (``complete`` None: never returned)."""

    client: int
    kind: str
    key: str
    input: Any
    output: Any
    invoke: float
    complete: float | None
    outcome: Outcome
    revision: int | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys the operation reads or writes (one, but for a ``txn``)."""
        if self.kind != "txn":
            return (self.key,)
        spec = self.input
        found = [g[0] for g in spec.get("guard", ())]
        found += [op[1] for branch in ("then", "else") for op in spec.get(branch, ())]
        return tuple(dict.fromkeys(found))

    def describe(self) -> str:
        """A short readable form: ``client 2: put('k', 'v') -> ok @rev 12 [1.200, 1.250]``."""
        if self.kind == "txn":
            call = f"txn({self.input!r})"
        elif self.kind in ("get", "delete"):
            call = f"{self.kind}({self.key!r})"
        else:
            call = f"{self.kind}({self.key!r}, {self.input!r})"
        if self.outcome is Outcome.OK:
            result = f"-> {self.output!r}" if self.kind != "put" else "-> ok"
            if self.revision is not None:
                result += f" @rev {self.revision}"
        else:
            result = f"-> {self.outcome.value}"
        end = "never" if self.complete is None else f"{self.complete:.3f}"
        return f"client {self.client}: {call} {result} [{self.invoke:.3f}, {end}]"


class WatchEvent(msgspec.Struct, frozen=True, tag="event"):
    """One event: ``kind`` ``"put"`` (``value`` the new value) or ``"delete"`` (``value``
    None) of ``key`` at ``mod_revision`` (for a delete: the revision of the delete)."""

    key: str
    kind: Literal["put", "delete"]
    value: Any
    mod_revision: int


class WatchStart(msgspec.Struct, frozen=True, tag="watch"):
    """Watcher ``watcher`` watches ``prefix`` (every key that starts with it) from
    ``start_revision`` (0: from the revision after the one current when it started,
    which is then ``current_revision``)."""

    watcher: int
    prefix: str
    start_revision: int
    time: float
    current_revision: int | None = None


class WatchDelivery(msgspec.Struct, frozen=True, tag="delivery"):
    """One response a watcher delivered: its ``events`` (none for a progress
    notification), the header ``revision``, whether it is the first after the watch's
    stream was re-established (``after_reconnect``) and when it arrived."""

    watcher: int
    revision: int
    events: tuple[WatchEvent, ...]
    time: float
    after_reconnect: bool = False


class LockHold(msgspec.Struct, frozen=True, tag="lock"):
    """One hold of lock ``name`` by ``client`` on session (lease) ``session``: from
    ``acquired`` (the acquire call returned) to ``released`` (the release call was
    invoked; None: never released).  ``expired_by`` is the earliest moment the session's
    lease may have expired (the last keep-alive request's time plus ``ttl``, or when the
    client learnt the session was gone); None when it never may have."""

    client: int
    name: str
    session: int
    acquired: float
    released: float | None
    ttl: float | None = None
    expired_by: float | None = None


class MirrorSample(msgspec.Struct, frozen=True, tag="mirror"):
    """One look at mirror ``mirror`` at ``time``: its ``revision``, ``state`` (a
    ``MirrorState`` value such as ``"ready"``), its ``content`` (key -> value) and since
    when its watch stream was known to be down (None: it was not)."""

    mirror: int
    time: float
    revision: int
    state: str
    content: dict[str, Any]
    stream_down_since: float | None = None


Record = Operation | WatchStart | WatchDelivery | LockHold | MirrorSample | WatchEvent
_DECODER = msgspec.json.Decoder(Record)
_ENCODER = msgspec.json.Encoder()


class History:
    """The records of one run, in the order appended; thread-safe ``append``.

    ``operations``, ``watches``, ``deliveries``, ``locks`` and ``mirrors`` hold the
    records of each type; ``committed`` the events of every committed write read from etcd
    at the end (see the module's doc).
    """

    def __init__(self, records: Iterable[Record] = ()) -> None:
        self._lock = threading.Lock()
        self.operations: list[Operation] = []
        self.watches: list[WatchStart] = []
        self.deliveries: list[WatchDelivery] = []
        self.locks: list[LockHold] = []
        self.mirrors: list[MirrorSample] = []
        self.committed: list[WatchEvent] = []
        for record in records:
            self.append(record)

    def __repr__(self) -> str:
        return (
            f"History({len(self.operations)} operations, {len(self.deliveries)} deliveries,"
            f" {len(self.locks)} lock holds, {len(self.mirrors)} mirror samples)"
        )

    def _list(self, record: Record) -> list[Any]:
        lists: dict[type, list[Any]] = {
            Operation: self.operations, WatchStart: self.watches,
            WatchDelivery: self.deliveries, LockHold: self.locks,
            MirrorSample: self.mirrors, WatchEvent: self.committed,
        }  # fmt: skip
        try:
            return lists[type(record)]
        except KeyError:
            raise TypeError(f"record={record!r} is no history record") from None

    def append(self, record: Record) -> None:
        """Add one record (``WatchEvent``: one committed event)."""
        if isinstance(record, Operation) and record.kind not in KINDS:
            raise ValueError(f"record.kind={record.kind!r} is not one of {sorted(KINDS)}")
        target = self._list(record)
        with self._lock:
            target.append(record)

    def records(self) -> list[Record]:
        """Every record, by type (watches before their deliveries)."""
        with self._lock:
            return [
                *self.operations, *self.watches, *self.deliveries, *self.locks,
                *self.mirrors, *self.committed,
            ]  # fmt: skip

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the history as JSON lines (one record a line) to ``path``; return it."""
        target = Path(path)
        with target.open("wb") as out:
            for record in self.records():
                out.write(_ENCODER.encode(record) + b"\n")
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> History:
        """Read a history written by :meth:`save`; ``ValueError`` names a bad line."""
        history = cls()
        with Path(path).open("rb") as lines:
            for number, line in enumerate(lines, 1):
                if line.strip():
                    try:
                        history.append(_DECODER.decode(line))
                    except msgspec.DecodeError as error:
                        raise ValueError(f"{path}:{number}: {error}") from None
        return history


class PendingCall:
    """The call a :meth:`HistoryRecorder.record` block makes; say how it ended with
    :meth:`ok` (else the block's exception decides)."""

    __slots__ = ("answer", "revision")

    def __init__(self) -> None:
        self.answer: tuple[Any] | None = None
        self.revision: int | None = None

    def ok(self, output: Any = None, revision: int | None = None) -> None:
        """The call answered ``output`` at response revision ``revision``."""
        self.answer = (output,)
        self.revision = revision


class HistoryRecorder:
    """Records :class:`Operation` s into ``history`` around the calls of a workload.

    ``record`` is a context manager: the invocation time is taken when the block starts,
    the completion time when it ends.  The block calls ``call.ok(output, revision)`` once
    the call answered.  If the block raises an ``OutcomeUnknownError`` the operation is
    ``UNKNOWN``; any other ``EtcdError`` (``ConnectionFailedError``, a validation error,
    ``ConflictError`` ...) is ``FAILED``: both are recorded and swallowed, so that the
    workload goes on.  Any other exception is recorded as ``UNKNOWN`` and propagates.
    """

    def __init__(self, history: History | None = None) -> None:
        self.history = history if history is not None else History()

    @contextlib.contextmanager
    def record(self, client: int, kind: str, key: str, input: Any = None) -> Iterator[PendingCall]:
        """Record one call of ``client``: ``kind``, ``key`` and ``input`` as in the
        :class:`Operation` table."""
        call = PendingCall()
        invoke = time.monotonic()
        outcome = Outcome.UNKNOWN
        try:
            yield call
            if call.answer is None:
                raise RuntimeError(f"the {kind} call of client {client} ended without call.ok()")
            outcome = Outcome.OK
        except OutcomeUnknownError:
            pass
        except EtcdError:
            outcome = Outcome.FAILED
        finally:
            complete = time.monotonic()
            ok = outcome is Outcome.OK
            self.history.append(Operation(
                client=client, kind=kind, key=key, input=input,
                output=call.answer[0] if ok and call.answer else None,
                invoke=invoke, complete=complete, outcome=outcome,
                revision=call.revision if ok else None,
            ))  # fmt: skip


publish(__name__)
