"""KV benchmark: etcdmap's Client / AsyncClient against the raw protoc-generated gRPC stubs.

    python bench/kv.py                    # everything, JSON to bench/results/kv.json
    python bench/kv.py --quick            # fewer operations
    python bench/kv.py --callgrind-only   # only the instruction counts (merged into the JSON)

See bench/README.md for what each column means.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _kvcallgrind as cg  # noqa: E402
from _common import (  # noqa: E402
    RawStubs,
    binary,
    etcd_server,
    fmt,
    generate_stubs,
    load_stubs,
    rotations,
)
from _kvclients import ALL_CLIENTS, ASYNC_CLIENTS, make_client  # noqa: E402
from _kvwork import (  # noqa: E402
    KEY_PREFIX,
    RANGE_PREFIX,
    VALUE,
    Sample,
    in_flight,
    keys,
    sequential,
    sequential_async,
    summarize,
    threaded,
)

RESULTS = Path(__file__).resolve().parent / "results" / "kv.json"
ROUNDS = 5
INFLIGHT = 64
THREADS = 16
PIPE_PREFIX = b"/pipe/"
TARGETS = {"small_op_instr_ratio": 1.10, "range_instr_ratio": 1.25, "pipelined_pct": 90.0}


@dataclass
class Sizes:
    """Operation counts of one run (``--quick`` makes them smaller)."""

    seq: int
    conc: int
    range_rounds: int
    pipe: int
    pipe_rounds: int


FULL = Sizes(seq=1000, conc=5000, range_rounds=ROUNDS, pipe=10_000, pipe_rounds=3)
QUICK = Sizes(seq=200, conc=1000, range_rounds=ROUNDS, pipe=2000, pipe_rounds=1)


# --------------------------------------------------------------------------- clients


class Bench:
    """The four open clients, the event loop of the async ones, and the raw stubs."""

    def __init__(self, endpoint: str, stubs: RawStubs) -> None:
        self.endpoint = endpoint
        self.stubs = stubs
        self.loop = asyncio.new_event_loop()
        self.clients = {name: self._open(name) for name in ALL_CLIENTS}

    def _open(self, name: str) -> Any:
        if name not in ASYNC_CLIENTS:
            return make_client(name, self.endpoint, self.stubs)

        async def build() -> Any:
            return make_client(name, self.endpoint, self.stubs)

        return self.loop.run_until_complete(build())

    def sequential(self, name: str, op: str, args: list[tuple[Any, ...]]) -> Sample:
        fn = getattr(self.clients[name], op)
        if name in ASYNC_CLIENTS:
            return sequential_async(self.loop, fn, args)
        return sequential(fn, args)

    def in_flight(self, name: str, op: str, args: list[tuple[Any, ...]]) -> Sample:
        return in_flight(self.loop, getattr(self.clients[name], op), args, INFLIGHT)

    def close(self) -> None:
        for name, client in self.clients.items():
            if name in ASYNC_CLIENTS:
                self.loop.run_until_complete(client.aclose())
            else:
                client.close()
        self.loop.close()


def populate(bench: Bench) -> None:
    """The keys that gets read: 1,000 small keys and the 20,000-key range."""
    small = [(k, VALUE) for k in keys(KEY_PREFIX, cg.GET_KEYS)]
    ranged = [(k, VALUE) for k in keys(RANGE_PREFIX, cg.RANGE_KEYS)]
    bench.in_flight("raw-aio", "put", small + ranged)


# --------------------------------------------------------------------------- sections


def run_sequential(bench: Bench, n: int) -> dict[str, Any]:
    """1. One operation at a time: ops/s, p50/p99 and CPU µs per op of each client."""
    names = keys(KEY_PREFIX, cg.GET_KEYS)
    puts = [(names[i % len(names)], VALUE) for i in range(n)]
    gets = [(names[i % len(names)],) for i in range(n)]
    for name in ALL_CLIENTS:  # warm-up: connect, first-call paths
        bench.sequential(name, "put", puts[:50])
        bench.sequential(name, "get", gets[:50])
    samples: dict[tuple[str, str], list[Sample]] = {}
    for order in rotations(ALL_CLIENTS, ROUNDS):
        for name in order:
            samples.setdefault((name, "put"), []).append(bench.sequential(name, "put", puts))
            samples.setdefault((name, "get"), []).append(bench.sequential(name, "get", gets))
    return _by_client(samples)


def run_concurrent(bench: Bench, n: int) -> dict[str, Any]:
    """2. 64 requests in flight: etcdmap AsyncClient vs the raw aio stub."""
    names = keys(KEY_PREFIX, cg.GET_KEYS)
    puts = [(names[i % len(names)], VALUE) for i in range(n)]
    gets = [(names[i % len(names)],) for i in range(n)]
    samples: dict[tuple[str, str], list[Sample]] = {}
    for order in rotations(ASYNC_CLIENTS, ROUNDS):
        for name in order:
            samples.setdefault((name, "put"), []).append(bench.in_flight(name, "put", puts))
            samples.setdefault((name, "get"), []).append(bench.in_flight(name, "get", gets))
    return _by_client(samples)


def _by_client(samples: dict[tuple[str, str], list[Sample]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for (name, op), runs in samples.items():
        out.setdefault(name, {})[op] = summarize(runs)
    return out


def run_range(bench: Bench, rounds: int) -> dict[str, Any]:
    """3. Whole-prefix range of 20,000 keys: seconds per range, CPU µs per key."""
    clients = ("etcdmap-sync", "raw-sync")
    for name in clients:
        bench.sequential(name, "scan", [(RANGE_PREFIX,)])
    samples: dict[str, list[Sample]] = {}
    for order in rotations(clients, rounds):
        for name in order:
            samples.setdefault(name, []).append(bench.sequential(name, "scan", [(RANGE_PREFIX,)]))
    out = {}
    for name, runs in samples.items():
        s = summarize(runs)
        out[name] = {
            "rounds": s["rounds"],
            "keys": cg.RANGE_KEYS,
            "s_per_range": 1 / s["ops_s"],
            "cpu_us_per_key": s["cpu_us_per_op"] / cg.RANGE_KEYS,
        }
    return out


def run_pipelined(bench: Bench, sizes: Sizes) -> dict[str, Any]:
    """4. Pipelined puts (AsyncClient 64 in flight, Client and the raw sync stub from 16
    threads) vs etcdctl."""
    puts = [(k, VALUE) for k in keys(PIPE_PREFIX, sizes.pipe)]
    drivers = {
        "etcdmap-async (64 in flight)": lambda: bench.in_flight("etcdmap-async", "put", puts),
        f"etcdmap-sync ({THREADS} threads)": lambda: threaded(
            bench.clients["etcdmap-sync"].put, puts, THREADS
        ),
        # the ceiling of blocking gRPC Python from threads, for the row above
        f"raw-sync ({THREADS} threads)": lambda: threaded(
            bench.clients["raw-sync"].put, puts, THREADS
        ),
    }
    samples: dict[str, list[Sample]] = {name: [] for name in drivers}
    etcdctl: dict[str, Any] = {}
    for r in range(sizes.pipe_rounds):
        if r == sizes.pipe_rounds // 2:  # etcdctl in the middle of the client rounds
            etcdctl = etcdctl_check_perf(bench.endpoint)
        for name, drive in drivers.items():
            samples[name].append(drive())
    return _pipelined_result(samples, etcdctl)


def _pipelined_result(samples: dict[str, list[Sample]], etcdctl: dict[str, Any]) -> dict[str, Any]:
    rate = etcdctl.get("writes_s")
    clients = {}
    for name, runs in samples.items():
        s = summarize(runs)
        pct = 100 * s["ops_s"] / rate if rate else None
        clients[name] = {"puts": s["ops_per_round"], "rounds": s["rounds"], "writes_s": s["ops_s"],
                         "cpu_us_per_op": s["cpu_us_per_op"], "pct_of_etcdctl": pct,
                         "writes_s_rounds": s["ops_s_rounds"]}  # fmt: skip
    return {"etcdctl_check_perf": etcdctl, "clients": clients}


def etcdctl_check_perf(endpoint: str) -> dict[str, Any]:
    """Run ``etcdctl check perf --load=l`` (60 s) and parse its write throughput."""
    cmd = [binary("etcdctl"), f"--endpoints={endpoint}", "check", "perf", "--load=l",
           "--auto-compact=false", "--auto-defrag=false"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL_")}
    env["ETCDCTL_API"] = "3"
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    output = done.stdout + done.stderr
    match = re.search(r"Throughput.*?(\d+(?:\.\d+)?) writes/s", output)
    lines = [ln.strip() for ln in output.splitlines() if re.match(r"\s*(PASS|FAIL)", ln)]
    return {
        "command": " ".join(cmd[1:]),
        "writes_s": float(match.group(1)) if match else None,
        "returncode": done.returncode,
        "summary": lines,
    }


# --------------------------------------------------------------------------- targets


def targets(results: dict[str, Any]) -> dict[str, Any]:
    """Whether the project's targets are met, with the measured figure of each."""
    out: dict[str, Any] = {}
    ratios = results.get("callgrind", {}).get("ratios", {})
    for key, ratio in ratios.items():
        limit = TARGETS["range_instr_ratio" if key.startswith("range") else "small_op_instr_ratio"]
        out[f"instr {key}"] = {"value": ratio, "limit": f"<= {limit}", "met": ratio <= limit}
    pipelined = results.get("pipelined", {}).get("clients", {})
    for name, row in pipelined.items():
        if not name.startswith("etcdmap"):
            continue  # the raw stub's row is a reference, not a target
        pct, limit = row["pct_of_etcdctl"], TARGETS["pipelined_pct"]
        met = None if pct is None else pct >= limit
        out[f"pipelined {name} % of etcdctl"] = {"value": pct, "limit": f">= {limit}", "met": met}
    return out


# --------------------------------------------------------------------------- report


def print_sequential(title: str, section: dict[str, Any], latency: bool) -> None:
    print(f"\n## {title}")
    head = f"{'client':<15}{'op':<5}{'ops/s':>10}{'cpu µs/op':>11}"
    print(head + (f"{'p50 µs':>9}{'p99 µs':>9}" if latency else ""))
    for name, ops in section.items():
        for op, s in ops.items():
            row = f"{name:<15}{op:<5}{fmt(s['ops_s']):>10}{fmt(s['cpu_us_per_op'], '.1f'):>11}"
            if latency:
                row += f"{fmt(s['p50_us']):>9}{fmt(s['p99_us']):>9}"
            print(row)


def print_range(section: dict[str, Any]) -> None:
    print(f"\n## 3. range of {cg.RANGE_KEYS:,} keys (median of {ROUNDS})")
    print(f"{'client':<15}{'s/range':>9}{'cpu µs/key':>12}")
    for name, s in section.items():
        print(f"{name:<15}{s['s_per_range']:>9.3f}{s['cpu_us_per_key']:>12.2f}")
    mine, raw = section["etcdmap-sync"], section["raw-sync"]
    print(f"etcdmap/raw cpu per key: {mine['cpu_us_per_key'] / raw['cpu_us_per_key']:.2f}x")


def print_pipelined(section: dict[str, Any]) -> None:
    perf = section["etcdctl_check_perf"]
    print("\n## 4. pipelined puts")
    print(f"{'client':<30}{'puts':>7}{'writes/s':>10}{'cpu µs/op':>11}{'% etcdctl':>11}")
    for name, s in section["clients"].items():
        print(
            f"{name:<30}{s['puts']:>7}{fmt(s['writes_s']):>10}"
            f"{fmt(s['cpu_us_per_op'], '.1f'):>11}{fmt(s['pct_of_etcdctl'], '.1f'):>11}"
        )
    print(
        f"{'etcdctl check perf --load=l':<30}{'60 s':>7}{fmt(perf['writes_s']):>10}"
        f"{'':>11}{'100.0':>11}   {' / '.join(perf['summary'])}"
    )


def print_callgrind(section: dict[str, Any]) -> None:
    n = section["n"]
    print(
        f"\n## 5. callgrind: instructions per op ((I(2N)-I(N))/N; N={n['get']} ops, "
        f"{n['range']} ranges; range = per key)"
    )
    print(
        f"{'scenario':<8}{'etcdmap-sync':>14}{'raw-sync':>11}{'ratio':>7}"
        f"{'etcdmap-async':>15}{'raw-aio':>11}{'ratio':>7}"
    )
    for scenario, c in section["per_op"].items():
        row = f"{scenario:<8}"
        for mine, raw in cg.PAIRS:
            a, b = c.get(mine), c.get(raw)
            ratio = a / b if a and b else None
            row += f"{fmt(a):>{len(mine) + 2}}{fmt(b):>{len(raw) + 3}}{fmt(ratio, '.3f'):>7}"
        print(row)


def print_targets(section: dict[str, Any]) -> None:
    print("\n## targets")
    for name, t in section.items():
        verdict = {True: "MET", False: "MISSED", None: "n/a"}[t["met"]]
        value = fmt(t["value"], ".3f" if "instr" in name else ".1f")
        print(f"{name:<52}{value:>9}  {t['limit']:<8} {verdict}")


def report(results: dict[str, Any]) -> None:
    if "sequential" in results:
        print_sequential(f"1. sequential (median of {ROUNDS} rounds)", results["sequential"], True)
    if "concurrent" in results:
        title = f"2. {INFLIGHT} in flight (median of {ROUNDS} rounds)"
        print_sequential(title, results["concurrent"], False)
    if "range" in results:
        print_range(results["range"])
    if "pipelined" in results:
        print_pipelined(results["pipelined"])
    if "callgrind" in results:
        print_callgrind(results["callgrind"])
    print_targets(results["targets"])


# --------------------------------------------------------------------------- main


def meta(endpoint: str, quick: bool) -> dict[str, Any]:
    import google.protobuf
    import grpc

    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "protobuf": google.protobuf.__version__,
        "cpus": os.cpu_count(),
        "endpoint": endpoint,
        "quick": quick,
    }


def run_all(endpoint: str, stubs: RawStubs, args: argparse.Namespace) -> dict[str, Any]:
    sizes = QUICK if args.quick else FULL
    results: dict[str, Any] = {"meta": meta(endpoint, args.quick)}
    bench = Bench(endpoint, stubs)
    try:
        populate(bench)
        if not args.callgrind_only:
            results["sequential"] = run_sequential(bench, sizes.seq)
            results["concurrent"] = run_concurrent(bench, sizes.conc)
            results["range"] = run_range(bench, sizes.range_rounds)
            results["pipelined"] = run_pipelined(bench, sizes)
    finally:
        bench.close()
    if not args.no_callgrind:
        results["callgrind"] = cg.measure(
            endpoint, stubs.directory, args.quick, args.keep_callgrind
        )
    return results


def save(results: dict[str, Any], out: Path, merge: bool) -> None:
    if merge and out.exists():
        previous = json.loads(out.read_text())
        previous.update(results)
        results = previous
    results["targets"] = targets(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer operations")
    p.add_argument("--out", type=Path, default=RESULTS, help=f"JSON output (default {RESULTS})")
    p.add_argument("--callgrind-only", action="store_true", help="only the callgrind part")
    p.add_argument("--no-callgrind", action="store_true", help="skip the callgrind part")
    p.add_argument("--keep-callgrind", metavar="DIR", help="keep callgrind output files in DIR")
    p.add_argument("--endpoint", help="use this etcd server instead of starting one")
    child = p.add_argument_group("callgrind child (run by the orchestrator)")
    child.add_argument("--scenario", choices=("put", "get", "range"))
    child.add_argument("--client", choices=ALL_CLIENTS)
    child.add_argument("--n", type=int, default=300)
    child.add_argument("--stubs", help="directory of the generated raw stubs")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    if args.scenario:
        cg.run_scenario(args.scenario, args.client, args.n, args.endpoint, args.stubs)
        return
    stubs_dir = generate_stubs()
    try:
        stubs = load_stubs(stubs_dir)
        if args.endpoint:
            results = run_all(args.endpoint, stubs, args)
        else:
            with etcd_server() as endpoint:
                results = run_all(endpoint, stubs, args)
    finally:
        shutil.rmtree(stubs_dir, ignore_errors=True)
    save(results, args.out, merge=args.callgrind_only)
    report(json.loads(args.out.read_text()))
    print(f"\nJSON: {args.out}")


if __name__ == "__main__":
    main()
