"""Linearizability checker benchmark: generated histories of N operations, checked.

    python bench/checker.py                       # 10,000 ops, 3 seeds per scenario
    python bench/checker.py --ops 50000 --seeds 1 --clients 16

Each history comes from a sequential model run by concurrent clients (overlapping calls,
5 % unknown and 5 % failed outcomes; see etcdmap/testing/checkers/_simulate.py).  Scenarios:
single-key operations, with 2 % two-key txns (which join the keys into one partition), each
with and without response revisions, and a refuted history (one read of a value written
later), whose time includes shrinking it to a small sub-history.  Prints a table (median
seconds per scenario, wall and CPU, operations per second, seconds per 10,000 operations)
and writes JSON to bench/results/checker.json.  On a loaded machine the CPU column is the
one to read.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from etcdmap.testing.checkers import check_linearizability  # noqa: E402
from etcdmap.testing.checkers._simulate import simulate  # noqa: E402
from etcdmap.testing.history import Operation, Outcome  # noqa: E402

SCENARIOS: dict[str, dict[str, Any]] = {
    "kv": {"txn": 0.0, "revisions": True},
    "kv, no revisions": {"txn": 0.0, "revisions": False},
    "kv + 2% txn": {"txn": 0.02, "revisions": True},
    "kv + 2% txn, no revisions": {"txn": 0.02, "revisions": False},
    "kv, refuted": {"txn": 0.0, "revisions": True, "refute": True},
}


def history(seed: int, args: argparse.Namespace, txn: float, revisions: bool,
            refute: bool = False) -> list[Operation]:  # fmt: skip
    rng = random.Random(seed)
    ops = simulate(rng, args.ops, clients=args.clients, keys=args.keys, txn=txn,
                   unknown=0.05, failed=0.05)  # fmt: skip
    if not revisions:
        ops = [msgspec.structs.replace(op, revision=None) for op in ops]
    if refute:  # the middle read returns the value of a put called after it returned
        reads = [i for i, op in enumerate(ops) if op.kind == "get" and op.outcome is Outcome.OK]
        i = reads[len(reads) // 2]
        later = next(op for op in ops if op.kind == "put" and op.key == ops[i].key
                     and op.invoke > (ops[i].complete or 0.0))  # fmt: skip
        ops[i] = msgspec.structs.replace(ops[i], output=later.input)
    return ops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--keys", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0, help="per check, seconds")
    parser.add_argument("--out", type=Path, default=Path("bench/results/checker.json"))
    args = parser.parse_args()
    rows = []
    print(f"{'scenario':28} {'ops':>7} {'median s':>9} {'cpu s':>9} {'ops/s':>9} "
          f"{'s / 10k ops':>12}")
    for name, scenario in SCENARIOS.items():
        times: list[float] = []
        cpus: list[float] = []
        verdicts: list[str] = []
        for seed in range(args.seeds):
            ops = history(seed, args, **scenario)
            started, cpu = time.perf_counter(), time.process_time()
            result = check_linearizability(ops, timeout=args.timeout)
            times.append(time.perf_counter() - started)
            cpus.append(time.process_time() - cpu)
            if result.ok == scenario.get("refute", False) or result.undecided:
                print(f"{name}, seed {seed}: unexpected verdict\n{result.explain()}")
                verdicts.append("wrong" if result.ok or not result.undecided else "undecided")
            else:
                verdicts.append("right")
        median, cpu_median = statistics.median(times), statistics.median(cpus)
        row = {"scenario": name, "ops": args.ops, "seconds": times, "cpu_seconds": cpus,
               "verdicts": verdicts,
               "median": median, "cpu_median": cpu_median, "ops_per_s": args.ops / median,
               "s_per_10k": median * 10_000 / args.ops}
        rows.append(row)
        print(f"{name:28} {args.ops:>7} {median:>9.2f} {cpu_median:>9.2f} "
              f"{row['ops_per_s']:>9.0f} {row['s_per_10k']:>12.2f}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "clients": args.clients, "keys": args.keys, "seeds": args.seeds,
        "python": platform.python_version(), "rows": rows,
    }, indent=2))  # fmt: skip
    print(f"JSON: {args.out}")


if __name__ == "__main__":
    main()
