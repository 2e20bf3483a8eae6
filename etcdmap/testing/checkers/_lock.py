"""Mutual exclusion: no two holds of one lock overlap, unless the earlier holder's session
may have expired before the later one acquired it (then etcd rightly gave the lock away,
and the overlap is reported as a note: the earlier holder kept working without a lock)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

from ..history import LockHold
from ._result import CheckResult, Finding

__all__ = ["check_locks"]


def check_locks(holds: Iterable[LockHold]) -> CheckResult:
    """Check the lock holds of a history (``History.locks``): a hold runs from its
    ``acquired`` to its ``released`` (+infinity when None)."""
    by_name: dict[str, list[LockHold]] = defaultdict(list)
    for hold in holds:
        by_name[hold.name].append(hold)
    problems: list[Finding] = []
    notes: list[Finding] = []
    for name, group in sorted(by_name.items()):
        group.sort(key=lambda h: h.acquired)
        active: list[LockHold] = []
        for hold in group:
            active = [a for a in active if _end(a) > hold.acquired]
            for earlier in active:
                text = (f"lock {name!r}: client {hold.client} (session {hold.session:x}) "
                        f"acquired it at {hold.acquired:.3f} while client {earlier.client} "
                        f"(session {earlier.session:x}) held it since {earlier.acquired:.3f}"
                        f" ({_show(earlier.released)})")  # fmt: skip
                expiry = earlier.expired_by
                if expiry is not None and expiry <= hold.acquired:
                    notes.append(Finding("expired session", text + f"; excused: its session "
                                         f"may have expired at {expiry:.3f}", (earlier, hold)))
                else:
                    problems.append(Finding("overlap", text, (earlier, hold)))
            active.append(hold)
    summary = f"{sum(map(len, by_name.values()))} holds of {len(by_name)} locks"
    return CheckResult("lock", summary, tuple(problems), tuple(notes))


def _end(hold: LockHold) -> float:
    return math.inf if hold.released is None else hold.released


def _show(moment: float | None) -> str:
    return "never released" if moment is None else f"released at {moment:.3f}"
