"""The Wing--Gong search of one partition, with memoisation (as porcupine, Lowe's variant).

The operations' call and return events are one time-ordered doubly linked list.  At each
step the candidates are the calls before the first return; the search takes one (its step
accepts the state, the revision constraints allow it, and the configuration was not seen),
removes its two events and looks again; when none can be taken before that return, it
backtracks.  It succeeds once every ``OK`` operation is taken.  An ``UNKNOWN`` operation's
return is at +infinity: it may take effect at any moment after its call, or never.

Memoisation, as porcupine's with one refinement for unknown operations: a configuration is
(known operations taken, unknown operations taken, state), and one is pruned when a
configuration seen had the same known operations and state and a subset of its unknown
operations -- with those still pending, that one could do everything this one can.

Candidates are tried in time order: fast on linearizable histories (an unknown write that
did happen is best taken soon after its call), but a refutation must rule out every
subset of the unknown operations at every point.  Trying known operations first
(``known_first``) lets the memo prune those subsets: the caller runs that second, when the
first search takes long.

Revision constraints: the operations that wrote with a known revision take effect in the
order of their revisions; one that read at revision ``r`` takes effect after every write
with a revision <= ``r`` and before the others.
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..history import Operation, Outcome
from ._register import (
    READ,
    WRITE,
    Possible,
    State,
    Step,
    compile_step,
    ends,
    role,
)

__all__ = ["SearchBudgetExceededError", "SearchResult", "search"]

#: How many sets of unknown operations a (known operations, state) pair keeps to prune by
#: inclusion; later ones are only matched exactly (looking through long lists costs more
#: than it saves).
_DOMINANCE = 16
#: How many steps between two looks at the clock.
_CLOCK_EVERY = 4096


class SearchBudgetExceededError(Exception):
    """The search did not finish within its time budget; ``partial`` tells its deepest
    dead end so far."""

    def __init__(self, partial: SearchResult) -> None:
        super().__init__("the linearizability search ran out of time")
        self.partial = partial


@dataclass
class SearchResult:
    """``ok``; for a refuted history, the deepest dead end: the operations taken in order
    (``taken``), the state then, the operation that could not be taken before it returned
    (``stuck``), and ``latest_dead_end``, the latest return time of any dead end (no
    operation called after it matters)."""

    ok: bool
    steps: int = 0
    taken: list[Operation] = field(default_factory=list)
    state: State = ()
    stuck: Operation | None = None
    latest_dead_end: float = -math.inf


def search(
    ops: Sequence[Operation], keys: Sequence[str], initial: State, deadline: float,
    *, max_steps: float = math.inf, known_first: bool = False, possible: Possible = None,
) -> SearchResult:  # fmt: skip
    """Whether ``ops`` (all on ``keys``, whose values start as ``initial``) are
    linearizable; ``SearchBudgetExceededError`` once ``time.monotonic()`` passes ``deadline``
    or after ``max_steps``.  ``known_first`` tries known operations before unknown ones;
    ``possible`` are the values a key that starts as ``TOP`` may hold."""
    index = {key: i for i, key in enumerate(keys)}
    steps: list[Step] = []
    live: list[Operation] = []
    for op in ops:
        step = compile_step(op, index, possible)
        if step is not None:
            steps.append(step)
            live.append(op)
    n = len(live)
    # Events: (time, 0 for a call / 1 for a return, op). Calls before returns at equal
    # times, so that touching operations count as concurrent.
    events = sorted(
        [(op.invoke, 0, i) for i, op in enumerate(live)]
        + [(ends(op), 1, i) for i, op in enumerate(live)]
    )
    head = len(events)
    nxt = list(range(1, head + 1)) + [0]
    nxt[head - 1] = -1
    prv = [head, *range(head - 1)] + [-1]
    nxt[head] = 0 if events else -1
    ev_op = [e[2] for e in events]
    is_call = [e[1] == 0 for e in events]
    match = [0] * head
    where = {(e[1], e[2]): j for j, e in enumerate(events)}
    for j, e in enumerate(events):
        if e[1] == 0:
            match[j] = where[(1, e[2])]
    slot, order, pending = _revision_constraints(live)
    bit = [1 << i for i in range(n)]

    def lift(j: int) -> None:
        for x in (j, match[j]):
            after = nxt[x]
            nxt[prv[x]] = after
            if after != -1:
                prv[after] = prv[x]

    def unlift(j: int) -> None:
        for x in (match[j], j):
            after = nxt[x]
            nxt[prv[x]] = x
            if after != -1:
                prv[after] = x

    unknown = [op.outcome is not Outcome.OK for op in live]
    late = [u and known_first for u in unknown]
    remaining = n - sum(unknown)  # known operations not taken yet

    def candidates() -> tuple[list[int], int]:
        """The calls before the first return, in time order or known ones first; and that
        return."""
        calls: list[int] = []
        later: list[int] = []
        j = nxt[head]
        while j != -1 and is_call[j]:
            (later if late[ev_op[j]] else calls).append(j)
            j = nxt[j]
        return calls + later, j

    state = initial
    taken_known = taken_unknown = 0  # the operations taken, as bit sets
    written = 0  # writes with a known revision taken so far
    # (known operations taken, state) -> the sets of unknown operations taken with them.
    # A configuration is pruned when one seen had the same known operations and state and
    # a subset of its unknown ones: with those still to come, it could do all it can.
    seen: dict[tuple[int, State], list[int]] = {}
    exact: set[tuple[int, State, int]] = set()  # configurations past the lists' length
    stack: list[tuple[list[int], int, State, int]] = []
    result = SearchResult(ok=False)
    deepest = -1
    count = 0
    cands, stuck = candidates()
    at = 0
    while remaining:
        count += 1
        if count % _CLOCK_EVERY == 0 and (time.monotonic() > deadline or count > max_steps):
            result.steps = count
            raise SearchBudgetExceededError(result)
        while at < len(cands):
            j = cands[at]
            at += 1
            i = ev_op[j]
            kind = order[i]
            if kind and (slot[i] != written or (kind == WRITE and pending[written])):
                continue
            new = steps[i](state)
            if new is None:
                continue
            if unknown[i]:
                known_bits, unknown_bits = taken_known, taken_unknown | bit[i]
            else:
                known_bits, unknown_bits = taken_known | bit[i], taken_unknown
            sets = seen.setdefault((known_bits, new), [])
            if not unknown_bits:
                if sets and not sets[0]:
                    continue
                sets.insert(0, 0)
            elif (known_bits, new, unknown_bits) in exact or any(
                    u & ~unknown_bits == 0 for u in sets[:_DOMINANCE]):  # fmt: skip
                continue
            elif len(sets) < _DOMINANCE:
                sets.append(unknown_bits)
            else:
                exact.add((known_bits, new, unknown_bits))
            stack.append((cands, at, state, j))
            state, taken_known, taken_unknown = new, known_bits, unknown_bits
            if kind == WRITE:
                written += 1
            elif kind == READ:
                pending[slot[i]] -= 1
            remaining -= not unknown[i]
            lift(j)
            cands, stuck = candidates()
            at = 0
            break
        else:
            # A return whose operation could not be taken: a dead end.
            result.latest_dead_end = max(result.latest_dead_end, events[stuck][0])
            if len(stack) > deepest:
                deepest = len(stack)
                result.taken = [live[ev_op[c[3]]] for c in stack]
                result.state, result.stuck = state, live[ev_op[stuck]]
            if not stack:
                result.steps = count
                return result
            cands, at, state, j = stack.pop()
            i = ev_op[j]
            if unknown[i]:
                taken_unknown ^= bit[i]
            else:
                taken_known ^= bit[i]
                remaining += 1
            if order[i] == WRITE:
                written -= 1
            elif order[i] == READ:
                pending[slot[i]] += 1
            unlift(j)
    return SearchResult(ok=True, steps=count)


def _revision_constraints(ops: Sequence[Operation]) -> tuple[list[int], list[int], list[int]]:
    """Per operation its slot (a write: its place among the writes with a known revision; a
    read: how many of them it follows) and its role (0: none); and per slot how many reads
    wait in it.  Without constraints (two writes with one revision: reported elsewhere)
    when the writes' revisions are not distinct."""
    roles = [role(op) for op in ops]
    revisions = sorted(op.revision or 0 for op, r in zip(ops, roles, strict=True) if r == WRITE)
    if len(set(revisions)) != len(revisions):
        return [0] * len(ops), [0] * len(ops), [0]
    slot = [0] * len(ops)
    pending = [0] * (len(revisions) + 1)
    for i, (op, r) in enumerate(zip(ops, roles, strict=True)):
        rev: Any = op.revision
        if r == WRITE:
            slot[i] = bisect.bisect_left(revisions, rev)
        elif r == READ:
            slot[i] = bisect.bisect_right(revisions, rev)
            pending[slot[i]] += 1
    return slot, roles, pending
