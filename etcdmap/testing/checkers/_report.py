"""Every checker on one history."""

from __future__ import annotations

from dataclasses import dataclass

from ..history import History
from ._linearizability import LinearizabilityResult, check_linearizability
from ._lock import check_locks
from ._mirror import check_mirrors
from ._result import CheckResult
from ._watch import check_watches

__all__ = ["HistoryReport", "check_history"]


@dataclass(frozen=True)
class HistoryReport:
    """The verdicts of every checker on one history (``mirror`` None when not checked)."""

    linearizability: LinearizabilityResult
    watch: CheckResult
    lock: CheckResult
    mirror: CheckResult | None

    @property
    def ok(self) -> bool:
        """Whether every checker found the history correct."""
        results = (self.linearizability, self.watch, self.lock, self.mirror)
        return all(result.ok for result in results if result is not None)

    def explain(self) -> str:
        """Each checker's verdict, in words."""
        results = (self.linearizability, self.watch, self.lock, self.mirror)
        return "\n".join(result.explain() for result in results if result is not None)


def check_history(
    history: History, *, timeout: float = 60.0, degraded_after: float | None = None,
    mirror_prefix: str = "",
) -> HistoryReport:  # fmt: skip
    """Run every checker on ``history``: linearizability of its operations (search
    ``timeout`` seconds), its watches against ``committed``, its lock holds, and with
    ``degraded_after`` (the mirrors' setting) its mirror samples against ``committed``
    under ``mirror_prefix``."""
    mirror = None
    if degraded_after is not None:
        mirror = check_mirrors(history.mirrors, history.committed,
                               degraded_after=degraded_after, prefix=mirror_prefix)
    return HistoryReport(
        linearizability=check_linearizability(history.operations, timeout=timeout),
        watch=check_watches(history.watches, history.deliveries, history.committed),
        lock=check_locks(history.locks),
        mirror=mirror,
    )
