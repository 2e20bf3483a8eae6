"""Checkers of histories (:mod:`etcdmap.testing.history`): each takes records and returns a
typed result with ``ok`` and an explanation in words.  Pure Python, no server.

One module per checker, the public names re-exported here:

- ``_linearizability``: :func:`check_linearizability`, KV operations against per-key
  registers (Wing--Gong search with memoisation, per partition of keys, response revisions
  as constraints); ``_register`` is its model, ``_search`` the search, ``_timeline`` the
  HTML timeline of an anomaly.
- ``_watch``: :func:`check_watches`, each watcher's deliveries against the committed events.
- ``_mirror``: :func:`check_mirrors`, mirror samples against the content at their revision.
- ``_lock``: :func:`check_locks`, lock holds that overlap.
- ``_replay``: :func:`content_at`, the content of a prefix replayed from committed events.
- ``_report``: :func:`check_history`, all of them on one :class:`History`.
"""

from ..._core.public import publish
from ._linearizability import LinearizabilityResult, Violation, check_linearizability
from ._lock import check_locks
from ._mirror import check_mirrors
from ._replay import content_at
from ._report import HistoryReport, check_history
from ._result import CheckResult, Finding
from ._watch import check_watches

__all__ = [
    "CheckResult",
    "Finding",
    "HistoryReport",
    "LinearizabilityResult",
    "Violation",
    "check_history",
    "check_linearizability",
    "check_locks",
    "check_mirrors",
    "check_watches",
    "content_at",
]

publish(__name__)
