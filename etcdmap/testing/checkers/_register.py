"""The sequential model the linearizability search runs: registers (one per key) that hold
a value or nothing (``None``), and each operation kind compiled to a step function.

A state is a tuple with one value per key of a partition.  A step returns the state after
the operation, or ``None`` when the operation's recorded response is impossible from that
state.  ``UNKNOWN`` operations are compiled without their response (they cannot be
refuted, only take effect); their "never" is the search placing them last.

``TOP`` stands for "some value, not known yet": the state of a key at the start of a
sub-history cut out of a longer one (see ``_shrink``).  Steps from ``TOP`` accept whatever
some concrete value would accept, so a sub-history refuted from ``TOP`` is refuted from
every initial value.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final

from ..history import Operation, Outcome

__all__ = [
    "TOP", "Possible", "Role", "Step", "compile_step", "ends", "read_values", "role",
    "written_values",
]

State = tuple[Any, ...]
Step = Callable[[State], "State | None"]


class _Top:
    def __repr__(self) -> str:
        return "<unknown value>"


TOP: Final = _Top()


def ends(op: Operation) -> float:
    """When ``op`` returned, for the search: +infinity unless it answered (``OK``)."""
    return op.complete if op.outcome is Outcome.OK and op.complete is not None else math.inf


def written_values(op: Operation) -> list[tuple[str, Any]]:
    """The (key, value) pairs ``op`` may have written."""
    if op.kind == "put" or op.kind == "put_if_absent":
        return [(op.key, op.input)]
    if op.kind == "cas":
        return [(op.key, op.input["new"])]
    if op.kind == "txn":
        return [(o[1], o[2]) for b in ("then", "else") for o in op.input.get(b, ())
                if o[0] == "put"]
    return []


def read_values(op: Operation) -> list[tuple[str, Any]]:
    """The (key, value) pairs an ``OK`` ``op`` says were stored (values, not absences)."""
    if op.outcome is not Outcome.OK:
        return []
    if op.kind == "get":
        found = [(op.key, op.output)]
    elif op.kind == "cas" and op.output:
        found = [(op.key, op.input["expect"])]
    elif op.kind == "txn":
        branch = op.input.get("then" if op.output["succeeded"] else "else", ())
        gets = [o[1] for o in branch if o[0] == "get"]
        found = list(zip(gets, op.output.get("reads", ()), strict=False))
        if op.output["succeeded"]:
            found += [(g[0], g[1]) for g in op.input.get("guard", ())]
    else:
        found = []
    return [(key, value) for key, value in found if value is not None]


def _set(state: State, i: int, value: Any) -> State:
    return (*state[:i], value, *state[i + 1:])


#: The values each key (by position) may hold where it holds ``TOP``: those written before
#: the cut, ``None`` and the initial value (None: any value).
Possible = list[set[Any]] | None


def _may_hold(possible: Possible, i: int, value: Any) -> bool:
    return possible is None or value is None or value in possible[i]


def compile_step(op: Operation, index: dict[str, int], possible: Possible = None) -> Step | None:
    """``op``'s step on states indexed by ``index`` (key -> position); None if ``op`` has no
    effect on any state and refutes none (an unknown ``get``, a failed call)."""
    if op.outcome is Outcome.FAILED or (op.kind == "get" and op.outcome is not Outcome.OK):
        return None
    known = op.outcome is Outcome.OK
    if op.kind == "txn":
        return _txn(op, index, known, possible)
    i = index[op.key]
    return _STEPS[op.kind](i, op.input, op.output, known, possible)


def _get(i: int, _input: Any, want: Any, _known: bool, possible: Possible) -> Step:
    def step(s: State) -> State | None:
        current = s[i]
        if current == want:
            return s
        return _set(s, i, want) if current is TOP and _may_hold(possible, i, want) else None

    return step


def _put(i: int, value: Any, _output: Any, _known: bool, _possible: Possible) -> Step:
    return lambda s: _set(s, i, value)


def _delete(i: int, _input: Any, deleted: Any, known: bool, _possible: Possible) -> Step:
    def step(s: State) -> State | None:
        current = s[i]
        if known and (current is None) is bool(deleted) and current is not TOP:
            return None
        return s if current is None else _set(s, i, None)

    return step


def _cas(i: int, spec: Any, swapped: Any, known: bool, possible: Possible) -> Step:
    expect, new = spec["expect"], spec["new"]

    def step(s: State) -> State | None:
        current = s[i]
        if current is TOP:
            if known and swapped:
                return _set(s, i, new) if _may_hold(possible, i, expect) else None
            return s  # unknown, or failed: not ``expect`` -- some other value, still unknown
        equal = current == expect
        if known and equal != bool(swapped):
            return None
        return _set(s, i, new) if equal else s

    return step


def _put_if_absent(i: int, value: Any, created: Any, known: bool, _possible: Possible) -> Step:
    def step(s: State) -> State | None:
        current = s[i]
        if current is TOP:
            return _set(s, i, value) if known and created else s
        absent = current is None
        if known and absent != bool(created):
            return None
        return _set(s, i, value) if absent else s

    return step


_STEPS: dict[str, Callable[[int, Any, Any, bool, Possible], Step]] = {
    "get": _get, "put": _put, "delete": _delete, "cas": _cas,
    "put_if_absent": _put_if_absent,
}  # fmt: skip


def _txn(op: Operation, index: dict[str, int], known: bool, possible: Possible) -> Step:
    spec = op.input
    guard = [(index[key], want) for key, want in spec.get("guard", ())]
    branches = {
        taken: [(o[0], index[o[1]], o[2] if len(o) > 2 else None) for o in spec.get(name, ())]
        for taken, name in ((True, "then"), (False, "else"))
    }
    succeeded = bool(op.output["succeeded"]) if known else None
    reads = list(op.output.get("reads", ())) if known else None

    def run(s: State, taken: bool) -> State | None:
        """Run one branch; with ``reads`` its gets must read them."""
        n = 0
        for name, i, value in branches[taken]:
            if name == "get":
                if reads is not None:
                    if n >= len(reads):
                        return None
                    if s[i] is TOP and _may_hold(possible, i, reads[n]):
                        s = _set(s, i, reads[n])
                    elif s[i] != reads[n]:
                        return None
                n += 1
            else:
                s = _set(s, i, value if name == "put" else None)
        return None if reads is not None and n != len(reads) else s

    def step(s: State) -> State | None:
        if any(s[i] is not TOP and s[i] != want for i, want in guard):
            holds: bool | None = False
        else:
            holds = True if all(s[i] is not TOP for i, _ in guard) else None
        if holds is None:  # some compared key holds TOP
            if succeeded is None:  # unknown: either branch, so what it writes is unknown
                for taken in (True, False):
                    for name, i, _ in branches[taken]:
                        if name != "get":
                            s = _set(s, i, TOP)
                return s
            if succeeded:
                for i, want in guard:
                    if s[i] is TOP and not _may_hold(possible, i, want):
                        return None
                    s = _set(s, i, want)
            return run(s, succeeded)
        if succeeded is not None and holds != succeeded:
            return None
        return run(s, holds)

    return step


#: What an operation's revision tells: nothing, the revision of its write, or the revision
#: it read at.
Role = int
NONE: Final = 0
WRITE: Final = 1
READ: Final = 2


def role(op: Operation) -> Role:
    """Whether ``op``'s ``revision`` is the revision it wrote (``WRITE``), the one it read at
    (``READ``), or tells nothing the model can use (``NONE``)."""
    if op.outcome is not Outcome.OK or op.revision is None:
        return NONE
    if op.kind == "get":
        return READ
    if op.kind == "put":
        return WRITE
    if op.kind in ("delete", "cas", "put_if_absent"):
        return WRITE if op.output else READ
    branch = op.input.get("then" if op.output["succeeded"] else "else", ())
    names = {o[0] for o in branch}
    if "put" in names:
        return WRITE
    # A delete of a missing key writes nothing: its revision may be the one read at.
    return NONE if "delete" in names else READ
