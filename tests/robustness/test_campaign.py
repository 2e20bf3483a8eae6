"""The CI robustness set: each nemesis x the KV and the watch workload (and the lock
workload under two), checked.

One proxied 3-member cluster for the module; each case is a few seconds of traffic with a
fixed seed, and fails with the checker's explanation (the history is kept in tmp_path).
Deselect with ``-m 'not robustness'``; longer campaigns: ``python -m
etcdmap.testing.robustness``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from etcdmap.testing import EtcdCluster
from etcdmap.testing.robustness import NEMESES, heal, recheck, run_once, summary

pytestmark = [pytest.mark.cluster, pytest.mark.robustness]

DURATION = 5.0
PAIRS = [(workload, nemesis) for nemesis in sorted(NEMESES) for workload in ("kv", "watch")]
PAIRS += [("lock", "kill-leader"), ("lock", "isolate-leader")]
CASES = [(workload, nemesis, seed) for seed, (workload, nemesis) in enumerate(PAIRS)]


@pytest.fixture(scope="module")
def cluster() -> Iterator[EtcdCluster]:
    with EtcdCluster(3, proxied=True) as started:
        yield started


@pytest.mark.parametrize(("workload", "nemesis", "seed"), CASES)
def test_history_under_nemesis_is_correct(
    cluster: EtcdCluster, workload: str, nemesis: str, seed: int, tmp_path: Path
) -> None:
    heal(cluster)
    result = run_once(cluster, workload, nemesis, seed, DURATION, tmp_path)
    assert result.faults >= 1, f"{nemesis} injected no fault in {DURATION} s"
    assert result.operations > 20, result
    if workload == "watch":
        assert result.deliveries > 0, result
    assert not result.anomalies, (
        f"kept in {result.kept}:\n" + "\n\n".join(result.anomalies)
    )


def test_summary_table_and_recheck_of_kept_histories(
    cluster: EtcdCluster, tmp_path: Path
) -> None:
    heal(cluster)
    result = run_once(cluster, "kv", "none", 0, 1.0, tmp_path, keep_all=True)
    (again,) = recheck(tmp_path)
    assert (again.workload, again.nemesis, again.seed) == ("kv", "none", 0)
    assert (again.operations, again.anomalies) == (result.operations, [])
    assert again.kept == result.kept and result.kept is not None
    out = tmp_path / "summary.txt"
    with out.open("w") as stream:
        summary([result], stream)
    lines = out.read_text().splitlines()
    assert lines[0].split()[:3] == ["workload", "nemesis", "runs"]
    assert lines[2].split()[:4] == ["kv", "none", "1", str(result.operations)]
    assert lines[-1].split()[:2] == ["total", "1"]
