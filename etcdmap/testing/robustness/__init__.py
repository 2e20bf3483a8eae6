"""Robustness campaigns: workloads recorded under faults, and their histories checked.

A run starts a workload (:data:`WORKLOADS`: ``"kv"``, ``"watch"``) on a proxied
3-member :class:`~etcdmap.testing.EtcdCluster`, lets a nemesis (:data:`NEMESES`, or
``"all"``: a random one per fault) inject faults for the run's duration, heals the
cluster, and checks the recorded history with :mod:`etcdmap.testing.checkers`.  A failing
run's history (JSON lines) and timeline (HTML) are kept.

From the command line::

    python -m etcdmap.testing.robustness --seeds 50 --duration 60 --nemesis all \\
        --workload kv,watch --out robustness-out

Each seed makes one run; the workloads take turns.  See ``docs/robustness.md``.
"""

from ..._core.public import publish
from ._campaign import campaign, recheck, summary
from ._runner import NEMESES, RunResult, heal, run_once
from ._workloads import WORKLOADS, KVWorkload, WatchWorkload, Workload

__all__ = [
    "KVWorkload",
    "NEMESES",
    "RunResult",
    "WORKLOADS",
    "WatchWorkload",
    "Workload",
    "campaign",
    "heal",
    "recheck",
    "run_once",
    "summary",
]

publish(__name__)
