"""Many runs on one cluster, and the summary table of their results."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from .._cluster import EtcdCluster
from ..history import History
from ._runner import RunResult, check, heal, run_once


def campaign(
    seeds: Sequence[int],
    duration: float,
    nemeses: Sequence[str],
    workloads: Sequence[str],
    out_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[RunResult], None] | None = None,
    keep_all: bool = False,
) -> list[RunResult]:
    """Run every seed on one proxied 3-member cluster: seed ``i`` runs workload
    ``workloads[i % len(workloads)]`` under each of `nemeses` in turn.

    Parameters
    ----------
    seeds : sequence of int
        One run per seed and nemesis.
    duration : float
        Seconds of traffic per run.
    nemeses : sequence of str
        Names of :data:`NEMESES`, ``"all"`` or ``"none"``.
    workloads : sequence of str
        Names of :data:`WORKLOADS`, taking turns.
    out_dir : path, optional
        Where failing runs are kept.
    progress : callable, optional
        Called with each run's result as it ends.
    keep_all : bool
        Keep every run's history in `out_dir`, not only the failing ones'.

    Returns
    -------
    list of RunResult
        One per run.
    """
    results: list[RunResult] = []
    with EtcdCluster(3, proxied=True) as cluster:
        for index, seed in enumerate(seeds):
            workload = workloads[index % len(workloads)]
            for nemesis in nemeses:
                result = run_once(
                    cluster, workload, nemesis, seed, duration, out_dir, keep_all
                )
                heal(cluster)
                results.append(result)
                if progress is not None:
                    progress(result)
    return results


def recheck(directory: str | os.PathLike[str]) -> list[RunResult]:
    """Check again every history kept in `directory` (``<run>/history.jsonl``, as a
    campaign keeps them), e.g. with newer checkers; ``faults`` is not known then (0)."""
    results = []
    for path in sorted(Path(directory).glob("*/history.jsonl")):
        name, seed, _ = path.parent.name.rsplit("-", 2)
        workload, _, nemesis = name.partition("-")
        history = History.load(path)
        result = RunResult(workload, nemesis, int(seed), kept=path.parent)
        result.operations = len(history.operations) + len(history.locks)
        result.deliveries = len(history.deliveries)
        began = time.monotonic()
        result.anomalies = check(history)
        result.check_seconds = time.monotonic() - began
        results.append(result)
    return results


_COLUMNS = ("workload", "nemesis", "runs", "operations", "deliveries", "faults",
            "anomalies", "check s", "check s/10k ops")  # fmt: skip


def summary(results: Sequence[RunResult], out: TextIO = sys.stdout) -> None:
    """Print one line per (workload, nemesis) and a total: runs, operations, watch
    deliveries, faults injected, runs with anomalies, time to check."""
    groups: dict[tuple[str, str], list[RunResult]] = {}
    for result in results:
        groups.setdefault((result.workload, result.nemesis), []).append(result)
    rows = [_row(w, n, group) for (w, n), group in sorted(groups.items())]
    rows.append(_row("total", "", list(results)))
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(_COLUMNS)]
    line = "  ".join(c.rjust(w) for c, w in zip(_COLUMNS, widths, strict=True))
    print(line, file=out)
    print("-" * len(line), file=out)
    for row in rows:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)), file=out)


def _row(workload: str, nemesis: str, group: list[RunResult]) -> list[str]:
    operations = sum(r.operations for r in group)
    seconds = sum(r.check_seconds for r in group)
    per = seconds / operations * 10_000 if operations else 0.0
    return [
        workload, nemesis, str(len(group)), str(operations),
        str(sum(r.deliveries for r in group)), str(sum(r.faults for r in group)),
        str(sum(1 for r in group if r.anomalies)), f"{seconds:.1f}", f"{per:.2f}",
    ]  # fmt: skip
