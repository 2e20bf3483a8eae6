"""The Wing--Gong search of one partition, with memoisation (as porcupine, Lowe's variant).

The operations' call and return events are one time-ordered doubly linked list.  The
search walks it: at a call it tries to take the operation's effect now (its step accepts
the state, the revision constraints allow it, and the pair (set of operations taken,
state) was not seen before), removes the operation's two events and starts again from the
front; at a return whose operation could not be taken it backtracks.  It succeeds when the
list is empty.  An ``UNKNOWN`` operation's return is at +infinity, so it may take effect at
any moment after its call, or at the very end -- the same as never, as nothing follows.

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

from ..history import Operation
from ._register import READ, WRITE, State, Step, compile_step, ends, role

__all__ = ["SearchBudgetExceededError", "SearchResult", "search"]

#: How many steps between two looks at the clock.
_CLOCK_EVERY = 4096


class SearchBudgetExceededError(Exception):
    """The search did not finish within its time budget."""


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
    ops: Sequence[Operation], keys: Sequence[str], initial: State, deadline: float
) -> SearchResult:
    """Whether ``ops`` (all on ``keys``, whose values start as ``initial``) are
    linearizable; ``SearchBudgetExceededError`` once ``time.monotonic()`` passes ``deadline``."""
    index = {key: i for i, key in enumerate(keys)}
    steps: list[Step] = []
    live: list[Operation] = []
    for op in ops:
        step = compile_step(op, index)
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

    state = initial
    linearized = 0
    written = 0  # writes with a known revision taken so far
    seen: set[tuple[int, State]] = set()
    stack: list[tuple[int, State]] = []
    result = SearchResult(ok=False)
    deepest = -1
    count = 0
    j = nxt[head]
    while nxt[head] != -1:
        count += 1
        if count % _CLOCK_EVERY == 0 and time.monotonic() > deadline:
            raise SearchBudgetExceededError
        i = ev_op[j]
        if is_call[j]:
            kind = order[i]
            if (kind == 0 or (kind == READ and slot[i] == written)
                    or (kind == WRITE and slot[i] == written and pending[written] == 0)):
                new = steps[i](state)
                if new is not None:
                    taken = linearized | bit[i]
                    if (taken, new) not in seen:
                        seen.add((taken, new))
                        stack.append((j, state))
                        state, linearized = new, taken
                        if kind == WRITE:
                            written += 1
                        elif kind == READ:
                            pending[slot[i]] -= 1
                        lift(j)
                        j = nxt[head]
                        continue
            j = nxt[j]
            continue
        # A return whose operation was not taken: a dead end.
        result.latest_dead_end = max(result.latest_dead_end, events[j][0])
        if len(stack) > deepest:
            deepest = len(stack)
            result.taken = [live[ev_op[c]] for c, _ in stack]
            result.state, result.stuck = state, live[i]
        if not stack:
            result.steps = count
            return result
        j, state = stack.pop()
        i = ev_op[j]
        linearized ^= bit[i]
        if order[i] == WRITE:
            written -= 1
        elif order[i] == READ:
            pending[slot[i]] += 1
        unlift(j)
        j = nxt[j]
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
