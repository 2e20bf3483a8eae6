"""One robustness run: a workload on a proxied cluster, faults from a nemesis, a check."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from .._cluster import EtcdCluster
from .._etcdctl import EtcdctlRunner
from ..checkers import check_history, check_linearizability
from ..history import History
from ..nemeses import Link, compact, delayed, isolated, killed, paused, severed
from ..recorder import Recorder
from ._truth import TruthWatch
from ._workloads import DEGRADED_AFTER, WORKLOADS, WatchWorkload


@dataclass
class FaultContext:
    """What a fault of :data:`NEMESES` is given: the cluster, the run's random generator,
    and how to compact safely (after the run's independent record of committed events has
    seen the current revision, which compaction would otherwise take from it)."""

    cluster: EtcdCluster
    rng: random.Random
    compact: Callable[[EtcdctlRunner], int]


Fault = Callable[[FaultContext], AbstractContextManager[object]]


@contextlib.contextmanager
def _compaction(run: FaultContext) -> Iterator[int]:
    yield run.compact(run.cluster)


@contextlib.contextmanager
def _isolated_then_compacted(run: FaultContext) -> Iterator[int]:
    """Isolate a member, and compact (through another) just before healing: watchers and
    mirrors stuck on it must find that what they missed is gone."""
    cluster = run.cluster
    with isolated(cluster, _member(run)) as index:
        yield index
        run.compact(cluster.members[(index + 1) % len(cluster.members)])


def _member(run: FaultContext) -> int:
    return run.rng.randrange(len(run.cluster.members))


def _pair(run: FaultContext) -> tuple[int, int]:
    first, second = run.rng.sample(range(len(run.cluster.members)), 2)
    return first, second


#: Each nemesis: a fault (a context manager) made from a :class:`FaultContext`.
NEMESES: dict[str, Fault] = {
    "kill-leader": lambda run: killed(run.cluster, "leader"),
    "kill-follower": lambda run: killed(run.cluster, "follower"),
    "pause-leader": lambda run: paused(run.cluster, "leader"),
    "pause-follower": lambda run: paused(run.cluster, "follower"),
    "outage": lambda run: killed(run.cluster, _member(run)),
    "compact": _compaction,
    "isolate-leader": lambda run: isolated(run.cluster, "leader"),
    "isolate-follower": lambda run: isolated(run.cluster, "follower", Link.CUT),
    "sever": lambda run: severed(run.cluster, *_pair(run)),
    "delay": lambda run: delayed(run.cluster, _member(run), run.rng.uniform(0.02, 0.2)),
    "isolate-compact": _isolated_then_compacted,
}
#: How long each fault holds (s): a long outage holds for a good part of the run.
_HOLD = {"outage": (0.4, 0.5), "compact": (0.0, 0.0)}


@dataclass
class RunResult:
    """What one run did and what its check found."""

    workload: str
    nemesis: str
    seed: int
    operations: int = 0
    """Calls recorded, and lock holds."""
    deliveries: int = 0
    faults: int = 0
    anomalies: list[str] = field(default_factory=list)
    check_seconds: float = 0.0
    nemesis_errors: list[str] = field(default_factory=list)
    """Faults the nemesis could not inject (e.g. no leader to compact through): reported,
    not anomalies."""
    kept: Path | None = None
    """The directory of the kept history (failing runs only)."""


class _Nemesis:
    """A thread injecting faults of one nemesis until stopped; healing is each fault's."""

    def __init__(self, run: FaultContext, name: str, duration: float) -> None:
        self.run = run
        self.cluster = run.cluster
        self.names = sorted(NEMESES) if name == "all" else [name]
        self.rng = run.rng
        self.duration = duration
        self.faults = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nemesis", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.rng.uniform(0.5, 1.5)):
            name = self.rng.choice(self.names)
            low, high = _HOLD.get(name, (1.0, 3.0))
            if name in _HOLD and high:
                low, high = low * self.duration, high * self.duration
            hold = self.rng.uniform(low, high)
            try:
                with NEMESES[name](self.run):
                    self.faults += 1
                    self._stop.wait(hold)
            except Exception as exc:  # noqa: BLE001 - reported with the run
                self.errors.append(f"{name}: {type(exc).__name__}: {exc}")

    def __enter__(self) -> _Nemesis:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(120)
        heal(self.cluster)


def heal(cluster: EtcdCluster, timeout: float = 60.0) -> None:
    """Let every proxy pass, every member run (``SIGCONT``, restart), and wait for a leader."""
    cluster.heal_proxies()
    for member in cluster.members:
        if member.running:
            member.kill(signal.SIGCONT)
        else:
            member.restart()
    cluster.leader(timeout=timeout)


def _compact(truth: TruthWatch, target: EtcdctlRunner) -> int:
    """Compact at the current revision once `truth` has seen it (else raise)."""
    revision = _revision(target)
    truth.events(revision, timeout=10.0)
    return compact(target, revision)


def _revision(cluster: EtcdctlRunner) -> int:
    statuses = json.loads(cluster.etcdctl("endpoint", "status", "-w", "json", timeout=10))
    return max(int(status["Status"]["header"]["revision"]) for status in statuses)


def run_once(
    cluster: EtcdCluster,
    workload: str,
    nemesis: str,
    seed: int,
    duration: float,
    out_dir: str | os.PathLike[str] | None = None,
    keep_all: bool = False,
) -> RunResult:
    """Run `workload` for `duration` s on `cluster` while `nemesis` injects faults, then
    check the history; keep it in `out_dir` if the check finds anomalies (or always, with
    `keep_all`).

    Parameters
    ----------
    cluster : EtcdCluster
        A running cluster (``proxied=True`` for the partition nemeses), healed after.
    workload : str
        A name of :data:`WORKLOADS` (``"kv"``, ``"watch"``, ``"lock"``).
    nemesis : str
        A name of :data:`NEMESES`, ``"all"`` (a random one per fault) or ``"none"``.
    seed : int
        Seeds the workload's choices and the nemesis's.
    duration : float
        Seconds of traffic.
    out_dir : path, optional
        Where a failing run's history (JSON lines) and timeline (HTML) go.
    keep_all : bool
        Keep every run's history in `out_dir`, to check it again later.

    Returns
    -------
    RunResult
        Counts, anomalies and the time the check took.
    """
    if workload not in WORKLOADS:
        raise ValueError(f"workload={workload!r} is none of {sorted(WORKLOADS)}")
    if nemesis not in NEMESES and nemesis not in ("all", "none"):
        raise ValueError(f"nemesis={nemesis!r} is none of {sorted(NEMESES)}, 'all', 'none'")
    result = RunResult(workload, nemesis, seed)
    run_id = f"{workload}-{nemesis}-{seed}-{uuid.uuid4().hex[:6]}"
    prefix = f"/robustness/{run_id}/"
    recorder = Recorder()
    start = _revision(cluster) + 1
    truth_path = os.path.join(cluster.data_dir, f"{run_id}.truth.jsonl")
    with TruthWatch(cluster._etcdctl_endpoints(), prefix, start, truth_path) as truth:
        load = WORKLOADS[workload](recorder, cluster.endpoints, prefix, seed)
        rng = random.Random(seed)
        errors: list[str] = []
        with contextlib.ExitStack() as stack:
            stack.callback(load.stop)
            load.start()
            if nemesis != "none":
                run = FaultContext(cluster, rng, functools.partial(_compact, truth))
                faults = stack.enter_context(_Nemesis(run, nemesis, duration))
            else:
                faults = None
            time.sleep(duration)
            if faults is not None:
                stack.close()  # heal first, then stop the workload
                result.faults = faults.faults
                result.nemesis_errors = faults.errors
            # a last write under the prefix that every watcher and the truth must reach
            out = cluster.etcdctl("put", f"{prefix}~end", "end", "-w", "json", timeout=10)
            final = int(json.loads(out)["header"]["revision"])
            if isinstance(load, WatchWorkload):
                load.final_revision = final
        errors += [f"workload: {type(e).__name__}: {e}" for e in load.errors]
        history = recorder.history
        if workload == "watch":
            for event in truth.events(final):
                history.append(event)
    result.operations = len(history.operations) + len(history.locks)
    result.deliveries = len(history.deliveries)
    began = time.monotonic()
    result.anomalies = errors + check(history)
    result.check_seconds = time.monotonic() - began
    if (result.anomalies or keep_all) and out_dir is not None:
        result.kept = keep(history, result, Path(out_dir) / run_id)
    return result


def check(history: History) -> list[str]:
    """The anomalies every checker finds in `history` (empty: none), in words."""
    report = check_history(history, degraded_after=DEGRADED_AFTER)
    return [] if report.ok else [report.explain()]


def keep(history: History, result: RunResult, directory: Path) -> Path:
    """Save a run's history (``history.jsonl``) in `directory`, and for a failing run its
    anomalies in words (``anomalies.txt``) and the linearizability checker's timeline
    (``timeline.html``)."""
    directory.mkdir(parents=True, exist_ok=True)
    history.save(directory / "history.jsonl")
    if result.anomalies:
        (directory / "anomalies.txt").write_text("\n\n".join(result.anomalies) + "\n")
        kv = check_linearizability(history.operations)
        if kv.violations:
            kv.write_timeline_html(directory / "timeline.html")
    return directory
