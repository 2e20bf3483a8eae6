"""``python -m etcdmap.testing.robustness``: run a campaign and print its summary."""

from __future__ import annotations

import argparse
import sys

from ._campaign import campaign, recheck, summary
from ._runner import NEMESES, RunResult
from ._workloads import WORKLOADS


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the campaign, print the table; exit status 1 on anomalies."""
    parser = argparse.ArgumentParser(prog="python -m etcdmap.testing.robustness")
    parser.add_argument("--seeds", type=int, default=5, help="how many seeds (runs)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per run")
    parser.add_argument(
        "--nemesis", default="all",
        help=f"comma-separated, of: {', '.join(sorted(NEMESES))}, all, none",
    )  # fmt: skip
    parser.add_argument(
        "--workload", default="kv,watch", help=f"comma-separated, of: {', '.join(WORKLOADS)}"
    )
    parser.add_argument("--out", default="robustness-out", help="where failing runs go")
    parser.add_argument(
        "--keep-all", action="store_true", help="keep every run's history, not only failing"
    )
    parser.add_argument(
        "--recheck", metavar="DIR", help="run nothing: check the histories kept in DIR again"
    )
    args = parser.parse_args(argv)

    def progress(result: RunResult) -> None:
        status = f"{len(result.anomalies)} anomalies" if result.anomalies else "ok"
        print(
            f"seed {result.seed:4d} {result.workload:6s} {result.nemesis:16s} "
            f"ops {result.operations:6d} deliveries {result.deliveries:6d} "
            f"faults {result.faults:3d} check {result.check_seconds:6.2f}s {status}"
            + (f" -> {result.kept}" if result.kept else ""),
            flush=True,
        )
        for anomaly in result.anomalies[:5]:
            print("    " + anomaly.replace("\n", "\n    "), flush=True)
        for error in result.nemesis_errors[:5]:
            print("    nemesis: " + error.splitlines()[0][:200], flush=True)

    if args.recheck:
        results = recheck(args.recheck)
        for result in results:
            progress(result)
        summary(results)
        return 1 if any(r.anomalies for r in results) else 0
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    results = campaign(
        seeds, args.duration, args.nemesis.split(","), args.workload.split(","), args.out,
        progress, args.keep_all,
    )  # fmt: skip
    summary(results)
    return 1 if any(r.anomalies for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
