"""Linearizability of a KV history: prechecks on revisions and values, then a Wing--Gong
search per partition of keys, and for a refuted partition a small failing sub-history.

Partitions (P-compositionality): a history is linearizable when each key's sub-history is;
a ``txn`` joins the partitions of its keys.  Prechecks, across all keys, give short proofs
of the commonest anomalies: a value read that no write wrote, two writes at one revision, a
revision older than one already seen by an operation that completed before (revisions of
linearizable calls grow with real time).  A partition with such an anomaly is not searched.

Shrinking a refuted partition keeps every step sound (the smaller history is refuted only
if the larger one is): it cuts a prefix (values before the cut become "some unknown value",
the operations running across the cut become ``UNKNOWN``), trying ever longer windows that
end where the search got stuck; drops the operations called after the last dead end of
the window's search (it never reached them); and drops reads (which change no state) one
chunk at a time.  The same windows refute a partition whose full search runs out of time:
an anomaly is found in seconds even when refuting the whole partition would take hours.
"""

from __future__ import annotations

import bisect
import math
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..history import Operation, Outcome
from ._register import (
    TOP,
    WRITE,
    Possible,
    compile_step,
    ends,
    read_values,
    role,
    written_values,
)
from ._search import SearchBudgetExceededError, SearchResult, search
from ._timeline import write_timeline

__all__ = ["LinearizabilityResult", "Violation", "check_linearizability"]


@dataclass(frozen=True)
class Violation:
    """One anomaly: its ``kind`` (``"not linearizable"``, ``"value never written"``,
    ``"revision written twice"``, ``"revision against real time"``), the ``keys`` it is
    about, the ``operations`` that show it (a small failing sub-history), the
    ``offending`` ones among them, and an ``explanation`` in words."""

    kind: str
    keys: tuple[str, ...]
    operations: tuple[Operation, ...]
    offending: tuple[Operation, ...]
    explanation: str


@dataclass(frozen=True)
class LinearizabilityResult:
    """The verdict: ``ok`` when no anomaly was found and every partition was decided.

    ``operations``: how many operations were checked (``FAILED`` ones are not);
    ``partitions``: how many independent key sets; ``seconds``: the checker's time;
    ``undecided``: the key sets whose search ran out of time (then ``ok`` is False).
    """

    ok: bool
    operations: int
    partitions: int
    seconds: float
    violations: tuple[Violation, ...]
    undecided: tuple[tuple[str, ...], ...]
    history: tuple[Operation, ...]

    def explain(self) -> str:
        """The verdict in words, each anomaly with its operations."""
        head = (
            f"{self.operations} operations on {self.partitions} key sets checked in "
            f"{self.seconds:.2f} s: "
        )
        if self.ok:
            return head + "linearizable"
        lines = [head + f"{len(self.violations)} anomalies, {len(self.undecided)} undecided"]
        for v in self.violations:
            lines.append(f"- {v.kind} on {', '.join(map(repr, v.keys))}: {v.explanation}")
            lines.extend(f"    {'*' if op in v.offending else ' '} {op.describe()}"
                         for op in v.operations)
        for keys in self.undecided:
            lines.append(f"- undecided: the search on {', '.join(map(repr, keys))} ran out "
                         "of time (raise timeout, or shorten the run)")
        return "\n".join(lines)

    def write_timeline_html(self, path: str | os.PathLike[str]) -> Path:
        """Write a self-contained HTML timeline of each anomaly to ``path``: one row per
        client, each operation a bar from call to return, the sub-history that shows the
        anomaly in orange and its offending operations in red."""
        sections = [
            (f"{v.kind} on {', '.join(map(repr, v.keys))}", v.explanation,
             _window(self.history, v), v.operations, v.offending)
            for v in self.violations
        ]  # fmt: skip
        return write_timeline(Path(path), "Linearizability anomalies", sections)


def check_linearizability(
    operations: Iterable[Operation],
    *,
    initial: Mapping[str, Any] | None = None,
    timeout: float = 60.0,
    shrink_timeout: float = 5.0,
) -> LinearizabilityResult:
    """Check that a KV history is linearizable on per-key registers.

    Parameters
    ----------
    operations : iterable of Operation
        The history (see :mod:`etcdmap.testing.history`): ``OK``, ``FAILED`` (ignored) and
        ``UNKNOWN`` (may take effect at any moment after its call, or never) operations.
    initial : mapping, optional
        Each key's value before the history; keys not in it do not exist.
    timeout : float
        Seconds the whole search may take; a partition not decided by then is reported
        ``undecided`` (and ``ok`` is False).
    shrink_timeout : float
        Seconds spent on each refuted partition to find a small sub-history that shows the
        anomaly; and for a partition whose search ran out of time, to refute a window around
        the point where the search got stuck (else it is ``undecided``).
    """
    started = time.monotonic()
    ops = [op for op in operations if op.outcome is not Outcome.FAILED]
    start = dict(initial or {})
    violations = [*_never_written(ops, start), *_revision_anomalies(ops)]
    undecided: list[tuple[str, ...]] = []
    partitions = _partitions(ops)
    deadline = started + timeout
    refuted = {key for v in violations for key in v.keys}
    for keys, part in sorted(partitions, key=lambda p: len(p[1])):
        if refuted.intersection(keys):
            continue  # refuted already, by a shorter proof
        state = tuple(start.get(key) for key in keys)
        try:
            found, complete = _search_twice(part, keys, state, deadline), True
        except SearchBudgetExceededError as exceeded:
            found, complete = exceeded.partial, False
        if not found.ok:
            violation = _shrink(part, keys, state, found, complete, shrink_timeout)
            if violation is None:
                undecided.append(keys)
            else:
                violations.append(violation)
    return LinearizabilityResult(
        ok=not violations and not undecided, operations=len(ops),
        partitions=len(partitions), seconds=time.monotonic() - started,
        violations=tuple(violations), undecided=tuple(undecided), history=tuple(ops),
    )  # fmt: skip


#: Steps per operation the search in time order may take before the search that tries
#: known operations first takes over (linearizable histories need one or two).
_STEPS_IN_ORDER = 20


def _search_twice(
    ops: list[Operation], keys: tuple[str, ...], initial: tuple[Any, ...], deadline: float,
    possible: Possible = None,
) -> SearchResult:  # fmt: skip
    """The search in time order, and if it takes long the one with known operations first
    (see ``_search``)."""
    steps = _STEPS_IN_ORDER * len(ops) + 10_000
    try:
        return search(ops, keys, initial, deadline, max_steps=steps, possible=possible)
    except SearchBudgetExceededError:
        return search(ops, keys, initial, deadline, known_first=True, possible=possible)


def _partitions(ops: Sequence[Operation]) -> list[tuple[tuple[str, ...], list[Operation]]]:
    """The operations by connected key set (union-find over the keys of each operation)."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        root = parent.setdefault(key, key)
        while root != parent[root]:
            parent[root] = parent[parent[root]]
            root = parent[root]
        return root

    for op in ops:
        root, *others = map(find, op.keys)
        for other in others:
            parent[other] = root
    groups: dict[str, list[Operation]] = {}
    members: dict[str, list[str]] = {}
    for key in parent:
        members.setdefault(find(key), []).append(key)
    for op in ops:
        groups.setdefault(find(op.keys[0]), []).append(op)
    return [(tuple(sorted(members[root])), part) for root, part in groups.items()]


def _never_written(ops: Sequence[Operation], initial: dict[str, Any]) -> list[Violation]:
    written = {(key, value) for op in ops for key, value in written_values(op)}
    written.update(initial.items())
    violations = []
    for op in ops:
        for key, value in read_values(op):
            if (key, value) not in written:
                violations.append(Violation(
                    "value never written", (key,), (op,), (op,),
                    f"it read {value!r} from {key!r}, which no operation wrote "
                    "(nor the initial values)",
                ))  # fmt: skip
    return violations


def _revision_anomalies(ops: Sequence[Operation]) -> list[Violation]:
    """Two writes at one revision; a revision below one seen by an operation that
    completed before this one was called (all keys: revisions are global)."""
    known = [op for op in ops if op.outcome is Outcome.OK and op.revision is not None]
    violations = []
    writers: dict[int, Operation] = {}
    for op in known:
        if role(op) == WRITE:
            rev: int = op.revision  # type: ignore[assignment]  # known has revisions
            if (other := writers.setdefault(rev, op)) is not op:
                violations.append(Violation(
                    "revision written twice", tuple(dict.fromkeys(other.keys + op.keys)),
                    (other, op), (other, op), f"both wrote at revision {rev}",
                ))  # fmt: skip
    by_complete = sorted(known, key=lambda o: o.complete or 0.0)
    ends = [o.complete or 0.0 for o in by_complete]
    best: Operation | None = None
    done = 0
    for op in sorted(known, key=lambda o: o.invoke):
        upto = bisect.bisect_left(ends, op.invoke)  # those completed strictly before
        for earlier in by_complete[done:upto]:
            if best is None or (earlier.revision or 0) > (best.revision or 0):
                best = earlier
        done = max(done, upto)
        if best is None:
            continue
        seen, rev = best.revision or 0, op.revision or 0
        if rev < seen or (rev == seen and role(op) == WRITE):
            violations.append(Violation(
                "revision against real time", tuple(dict.fromkeys(best.keys + op.keys)),
                (best, op), (op,),
                f"it was called after an operation at revision {seen} had completed, yet "
                f"{'wrote' if role(op) == WRITE else 'read'} at revision {rev}",
            ))  # fmt: skip
    return violations


def _shrink(
    ops: list[Operation], keys: tuple[str, ...], initial: tuple[Any, ...],
    found: SearchResult, complete: bool, budget: float,
) -> Violation | None:  # fmt: skip
    """A small refuted sub-history of ``ops`` around ``found``'s deepest dead end, and why,
    within ``budget`` seconds.  ``found`` is a refutation of ``ops`` if ``complete``, else
    the partial result of a search that ran out of time: then None if no window around its
    dead end is refuted either."""
    deadline = time.monotonic() + budget

    def refuted(candidate: list[Operation], top: Possible | bool) -> SearchResult | None:
        """``candidate`` refuted from ``initial`` (``top`` False) or from ``TOP`` values
        (``top`` the values they may be)."""
        state = initial if top is False else tuple(TOP for _ in keys)
        possible = None if isinstance(top, bool) else top
        try:
            result = _search_twice(candidate, keys, state, deadline, possible)
        except SearchBudgetExceededError:
            return None
        return None if result.ok else result

    window: tuple[list[Operation], Possible | bool, SearchResult] | None = None
    if found.stuck is not None:
        # Windows that end at the stuck operation and start ever earlier (1, 2, 4 ...
        # returns before its call), values before them unknown but written before.
        cuts = sorted({ends(op) for op in ops if ends(op) < found.stuck.invoke}, reverse=True)
        back = 1
        while back <= len(cuts) and time.monotonic() < deadline:
            at = cuts[back - 1]
            candidate, possible = _cut(ops, at), _possible(ops, keys, initial, at)
            if (result := refuted(candidate, possible)) is not None:
                window = (candidate, possible, result)
                break
            back *= 2
    if window is None:
        if not complete:
            return None
        window = (ops, False, found)
    best, top, result = window
    best = [op for op in best if op.invoke <= result.latest_dead_end]
    reads = [op for op in best if _pure_read(op)]
    size = max(len(reads) // 2, 1)
    while reads and time.monotonic() < deadline:
        for start in range(0, len(reads), size):
            chunk = set(map(id, reads[start:start + size]))
            candidate = [op for op in best if id(op) not in chunk]
            if refuted(candidate, top) is not None:
                best = candidate
        reads = [op for op in best if _pure_read(op)]
        if size == 1:
            break
        size = max(size // 2, 1)
    final = refuted(best, top) or result
    return Violation(
        "not linearizable", keys, tuple(best),
        (final.stuck,) if final.stuck is not None else (),
        _why(best, keys, final, top is not False),
    )  # fmt: skip


def _cut(ops: list[Operation], at: float) -> list[Operation]:
    """The sub-history after ``at``: the operations that returned by ``at`` dropped, those
    running across it made ``UNKNOWN`` (reads among them dropped)."""
    kept = []
    for op in ops:
        if ends(op) <= at:
            continue
        if op.invoke <= at:
            if _pure_read(op):
                continue
            op = Operation(op.client, op.kind, op.key, op.input, None, op.invoke, op.complete,
                           Outcome.UNKNOWN)
        kept.append(op)
    return kept


def _possible(
    ops: list[Operation], keys: tuple[str, ...], initial: tuple[Any, ...], at: float
) -> list[set[Any]]:
    """The values each key may hold at ``at``: its initial one, or one written by an
    operation called by then."""
    index = {key: i for i, key in enumerate(keys)}
    possible = [{value} for value in initial]
    for op in ops:
        if op.invoke <= at:
            for key, value in written_values(op):
                possible[index[key]].add(value)
    return possible


def _pure_read(op: Operation) -> bool:
    """Whether ``op`` changed no state (removing it from a history only weakens it)."""
    if op.outcome is not Outcome.OK:
        return False
    if op.kind == "get":
        return True
    if op.kind in ("cas", "put_if_absent", "delete"):
        return not op.output
    if op.kind == "txn":
        branch = op.input.get("then" if op.output["succeeded"] else "else", ())
        return all(o[0] == "get" for o in branch)
    return False


def _why(ops: list[Operation], keys: tuple[str, ...], found: SearchResult, top: bool) -> str:
    values = ", ".join(f"{k!r} = {_show(v)}" for k, v in zip(keys, found.state, strict=True))
    start = ("from any values written before them (the earlier history is cut off)" if top
             else "from the initial values")
    text = f"no order of these {len(ops)} operations, {start}, explains every response."
    if found.stuck is None:
        return text
    taken = found.taken
    shown = "; ".join(op.describe() for op in taken[-3:])
    text += (f" The longest order that does ({len(taken)} operation{'s' * (len(taken) != 1)}"
             f"{', ending: ' + shown if shown else ''}) leaves {values}, and then")
    step = compile_step(found.stuck, {k: i for i, k in enumerate(keys)})
    if step is not None and step(found.state) is None:
        return text + f" {found.stuck.describe()} cannot have answered what it did."
    return text + (f" {found.stuck.describe()} returned before it could take effect: every"
                   " order that lets it take effect contradicts a response or a revision.")


def _show(value: Any) -> str:
    return "absent" if value is None else repr(value) if value is not TOP else "unknown"


def _window(history: Sequence[Operation], violation: Violation) -> list[Operation]:
    """The history's operations on the violation's keys during its sub-history."""
    first = min(op.invoke for op in violation.operations)
    last = max(min(ends(op), op.invoke + 1.0) for op in violation.operations)
    keys = set(violation.keys)
    return [op for op in history if keys & set(op.keys)
            and op.invoke <= last and min(ends(op), math.inf) >= first]
