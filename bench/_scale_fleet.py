"""Fleets of mirrors: N mirrors of one prefix in P processes, direct to the server and through
one etcd gRPC proxy; and a fleet's start with and without a stampede of relists.

The fleet itself is ``etcdmap.testing._fleet`` (shared with tests/test_fleet.py).

``fleet`` section, for each of "direct" and "proxy": the prefix holds ``--keys`` keys of
``--value-bytes``; P processes (spawned) each hold N/P ``AsyncMirror``\\ s, each on a client of
its own (one connection per mirror, as N service instances would have); all start at once,
then one writer puts ``--rate`` distinct values a second for ``--seconds`` (to the server
directly in both cases). Measured:

- ``watchers``: ``etcd_debugging_mvcc_watcher_total`` of the server (its ``/metrics``), the
  largest sample taken each second while the writer runs, and the last;
- ``watch msgs``: the watch responses the server sent meanwhile
  (``grpc_server_msg_sent_total{grpc_method="Watch"}``);
- ``server CPU s`` / ``proxy CPU s``: ``process_cpu_seconds_total`` of each process (its
  ``/metrics``; etcd reads it from ``/proc/self/stat``: utime + stime) over the start and
  over the writer's run;
- ``put->all p50/p99 ms``: from the moment a put is sent until the last of the N mirrors has
  applied it (each mirror notes ``time.monotonic()`` per revision in a subscriber; on Linux
  CLOCK_MONOTONIC is one clock for every process of the host);
- ``all ready s``: from the start signal until every mirror is synced;
- ``converged``: mirrors whose content equals a get of the prefix at their own revision.

``start`` section: the same fleet started at once against the server, without a writer,
four ways: each mirror lists (``plain``), ``--jitter`` seconds of ``start_jitter``
(``jitter``), one ``persist=`` snapshot file shared by every mirror of the host, empty at
start (``shared``: one mirror lists and saves, the others restore it under the file's lock),
and both. Measured: the Range RPCs the server handled
(``grpc_server_handled_total{grpc_method="Range"}``), its CPU seconds, the time to all-ready.

    nice -n 10 /work/main/.venv/bin/python bench/_scale_fleet.py            # ~4 min
    nice -n 10 /work/main/.venv/bin/python bench/_scale_fleet.py --quick    # 40 mirrors, 2 s
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fmt  # noqa: E402

from etcdmap.testing._fleet import Fleet, FleetFigures, Meter, fill, run_fleet  # noqa: E402

PREFIX = "/bench-fleet/"
STARTS = (("plain", False, False), ("jitter", False, True), ("shared", True, False),
          ("shared+jitter", True, True))  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mirrors", type=int, default=200, help="mirrors in the fleet")
    parser.add_argument("--processes", type=int, default=4, help="processes holding them")
    parser.add_argument("--keys", type=int, default=2000, help="keys under the prefix")
    parser.add_argument("--value-bytes", type=int, default=100)
    parser.add_argument("--rate", type=float, default=20.0, help="puts per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of writing")
    parser.add_argument("--jitter", type=float, default=2.0, help="start_jitter of `start`")
    parser.add_argument("--sections", default="fleet,start", help="comma-separated: fleet, start")
    parser.add_argument(
        "--targets", default="writer,direct,proxy",
        help="fleet: comma-separated: writer (no mirrors: the writes' own cost), direct, proxy",
    )
    parser.add_argument(
        "--quick", action="store_true", help="40 mirrors, 2 processes, 500 keys, 3 s"
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    from etcdmap.testing import EtcdServer

    if args.quick:
        args.mirrors, args.processes, args.keys, args.seconds = 40, 2, 500, 3.0
    sections = args.sections.split(",")
    load = os.getloadavg()
    out: dict[str, Any] = {
        "mirrors": args.mirrors, "processes": args.processes, "keys": args.keys,
        "value_bytes": args.value_bytes, "rate": args.rate, "seconds": args.seconds,
        "cpus": os.cpu_count(), "load_before": load,
    }  # fmt: skip

    def fleet(endpoints: list[str], server: Any, mirrors: int, **options: Any) -> Fleet:
        return Fleet(
            endpoints, server.endpoints, PREFIX, mirrors, args.processes, args.rate, **options
        )  # fmt: skip

    with ExitStack() as stack:
        server = stack.enter_context(EtcdServer())
        fill(server.endpoints, PREFIX, args.keys, args.value_bytes)
        if "fleet" in sections:
            runs: dict[str, FleetFigures] = {}
            for target in args.targets.split(","):
                if target == "proxy":
                    from etcdmap.testing import EtcdProxy

                    proxy = stack.enter_context(EtcdProxy(server))
                    endpoints, meter = proxy.endpoints, Meter(server.metrics_url, proxy.metrics_url)
                else:
                    endpoints, meter = server.endpoints, Meter(server.metrics_url)
                mirrors = 0 if target == "writer" else args.mirrors
                runs[target] = run_fleet(
                    fleet(endpoints, server, mirrors, seconds=args.seconds), meter
                )
            print_fleet(runs)
            out["fleet"] = {name: asdict(r) for name, r in runs.items()}
        if "start" in sections:
            starts: dict[str, FleetFigures] = {}
            for name, shared, jittered in STARTS:
                with tempfile.TemporaryDirectory(prefix="etcdmap-fleet-") as directory:
                    starts[name] = run_fleet(
                        fleet(
                            server.endpoints, server, args.mirrors,
                            persist=os.path.join(directory, "fleet.bin") if shared else None,
                            start_jitter=args.jitter if jittered else 0.0,
                        ),
                        Meter(server.metrics_url),
                    )  # fmt: skip
            print_start(starts, args.jitter)
            out["start"] = {name: asdict(r) for name, r in starts.items()}
    out["load_after"] = os.getloadavg()
    print(f"load average before {fmt_load(load)}, after {fmt_load(out['load_after'])}")
    return out


def fmt_load(load: Any) -> str:
    return " ".join(f"{x:.2f}" for x in load)


def print_fleet(runs: dict[str, FleetFigures]) -> None:
    first = max(runs.values(), key=lambda r: r.mirrors)
    print(f"\nfleet: {first.mirrors} mirrors in {first.processes} processes; watchers: the"
          " server's for the fleet (a proxy's own left out), most seen/at the end")
    print(
        f"{'':8}{'watchers':>9}{'watch msgs':>11}{'server CPU s':>14}{'proxy CPU s':>13}"
        f"{'put->all p50':>14}"
        f"{'p99 ms':>8}{'all ready s':>13}{'start CPU s':>13}{'converged':>11}"
    )
    for name, r in runs.items():
        start_cpu = r.start_server_cpu_s + (r.start_proxy_cpu_s or 0)
        watchers = f"{r.watchers_max - r.watchers_before}/{r.watchers_end - r.watchers_before}"
        print(
            f"{name:8}{watchers:>9}{r.server_watch_messages:>11}{r.server_cpu_s:>14.2f}"
            f"{fmt(r.proxy_cpu_s, '.2f'):>13}{fmt(r.put_all_p50_ms, '.1f'):>14}"
            f"{fmt(r.put_all_p99_ms, '.1f'):>8}{r.all_ready_s:>13.2f}{start_cpu:>13.2f}"
            f"{r.converged:>7}/{r.mirrors}"
        )


def print_start(runs: dict[str, FleetFigures], jitter: float) -> None:
    first = next(iter(runs.values()))
    print(f"\nfleet start: {first.mirrors} mirrors at once (jitter {jitter:g} s)")
    print(f"{'':15}{'Range RPCs':>11}{'server CPU s':>14}{'all ready s':>13}{'converged':>11}")
    for name, r in runs.items():
        print(
            f"{name:15}{r.start_ranges:>11}{r.start_server_cpu_s:>14.2f}"
            f"{r.all_ready_s:>13.2f}{r.converged:>7}/{r.mirrors}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--out", help="write the figures as JSON here")
    args = parser.parse_args()
    figures = run(args)
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
