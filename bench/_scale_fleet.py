"""Fleets of mirrors: N mirrors of one prefix in P processes, direct to the server and through
one etcd gRPC proxy; and a fleet's start with and without a stampede of relists.

``fleet`` section, for each of "direct" and "proxy": the prefix holds ``--keys`` keys of
``--value-bytes``; P processes (spawned) each hold N/P ``AsyncMirror``\\ s, each on a client of
its own (one connection per mirror, as N service instances would have); all start at once,
then one writer puts ``--rate`` distinct values a second for ``--seconds`` (to the server
directly in both cases). Measured:

- ``watchers``: ``etcd_debugging_mvcc_watcher_total`` of the server (its ``/metrics``), the
  largest sample taken each second while the writer runs;
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
import asyncio
import json
import multiprocessing
import os
import queue
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fmt  # noqa: E402

PREFIX = "/bench-fleet/"
WATCHERS = "etcd_debugging_mvcc_watcher_total"
CPU = "process_cpu_seconds_total"

# --------------------------------------------------------------------------- one process


@dataclass(frozen=True)
class Part:
    """What one process of the fleet runs: ``mirrors`` mirrors of the prefix on
    ``endpoints``, with these mirror options."""

    index: int
    endpoints: list[str]
    mirrors: int
    persist: str | None = None
    start_jitter: float = 0.0


@dataclass
class Signals:
    """How the parent drives the processes and hears from them."""

    go: Any  # set: start the mirrors
    done: Any  # set once ``final`` holds the writer's last revision
    final: Any  # multiprocessing.Value("q")
    out: Any  # multiprocessing.Queue of (kind, index, payload)


def process_main(part: Part, signals: Signals) -> None:
    """The body of one spawned process (a module-level function, so spawn can find it)."""
    asyncio.run(_process(part, signals))


async def _process(part: Part, signals: Signals) -> None:
    from etcdmap import AsyncClient
    from etcdmap._async.mirror import AsyncMirror

    clients = [AsyncClient(part.endpoints) for _ in range(part.mirrors)]
    applied: list[dict[int, float]] = [{} for _ in clients]
    mirrors = [
        AsyncMirror(
            c, PREFIX, persist=part.persist, start_jitter=part.start_jitter, timeout=120,
            degraded_after=30, progress_interval=5,
        )
        for c in clients
    ]  # fmt: skip
    for m, seen in zip(mirrors, applied, strict=True):
        m.subscribe(_noter(seen), only_changes=False)
    signals.out.put(("loaded", part.index, None))
    await asyncio.to_thread(signals.go.wait)
    try:
        ready = await asyncio.gather(*(_ready(m) for m in mirrors))
        signals.out.put(("ready", part.index, ready))
        await asyncio.to_thread(signals.done.wait)
        final = signals.final.value
        converged = 0
        for m, c in zip(mirrors, clients, strict=True):
            if final:
                await m.wait_for(final, timeout=120)
            snap = m.local_snapshot()
            response = await c.get(PREFIX, prefix=True, revision=snap.revision)
            cut = len(PREFIX)
            converged += snap.data == {kv.key[cut:].decode(): kv.value for kv in response.kvs}
        last: dict[int, float] = {}
        counts: dict[int, int] = {}
        for seen in applied:
            for revision, when in seen.items():
                last[revision] = max(last.get(revision, 0.0), when)
                counts[revision] = counts.get(revision, 0) + 1
        signals.out.put(("result", part.index, {
            "converged": converged, "last": last, "counts": counts,
            "states": [m.state.value for m in mirrors],
        }))  # fmt: skip
    finally:
        for m in mirrors:
            await m.aclose()
        for c in clients:
            await c.aclose()


def _noter(seen: dict[int, float]) -> Any:
    def note(batch: Any) -> None:
        seen[batch.revision] = time.monotonic()

    return note


async def _ready(mirror: Any) -> float:
    await mirror.wait_synced(300)
    return time.monotonic()


# --------------------------------------------------------------------------- the parent


@dataclass
class Figures:
    """What one fleet run measured (the JSON of the run)."""

    name: str
    mirrors: int
    processes: int
    all_ready_s: float = 0.0
    start_server_cpu_s: float = 0.0
    start_proxy_cpu_s: float | None = None
    start_ranges: int = 0
    watchers_max: int = 0
    coalescing: int | None = None
    server_cpu_s: float = 0.0
    proxy_cpu_s: float | None = None
    puts: int = 0
    put_all_p50_ms: float | None = None
    put_all_p99_ms: float | None = None
    missed: int = 0
    converged: int = 0
    states: dict[str, int] = field(default_factory=dict)


class Meter:
    """The metrics of the server and, if there is one, the proxy."""

    def __init__(self, server_url: str, proxy_url: str | None) -> None:
        self.server_url = server_url
        self.proxy_url = proxy_url

    def read(self) -> dict[str, float]:
        from etcdmap.testing._metrics import scrape, total

        server = scrape(self.server_url)
        figures = {
            "server_cpu": total(server, CPU),
            "watchers": total(server, WATCHERS),
            "ranges": total(server, "grpc_server_handled_total", grpc_method="Range"),
        }
        if self.proxy_url is not None:
            proxy = scrape(self.proxy_url)
            figures["proxy_cpu"] = total(proxy, CPU)
            figures["coalescing"] = total(proxy, "etcd_grpc_proxy_watchers_coalescing_total")
        return figures


def run_fleet(
    name: str, args: argparse.Namespace, meter: Meter, endpoints: list[str],
    write_endpoints: list[str], *, persist: str | None = None, start_jitter: float = 0.0,
    seconds: float = 0.0,
) -> Figures:  # fmt: skip
    """Start the fleet, run the writer for ``seconds`` (none: start only), check it."""
    context = multiprocessing.get_context("spawn")
    signals = Signals(context.Event(), context.Event(), context.Value("q", 0), context.Queue())
    sizes = [len(range(i, args.mirrors, args.processes)) for i in range(args.processes)]
    parts = [
        Part(i, endpoints, size, persist, start_jitter) for i, size in enumerate(sizes) if size
    ]
    workers = [
        context.Process(target=process_main, args=(part, signals), daemon=True) for part in parts
    ]
    figures = Figures(name, args.mirrors, len(parts))
    for worker in workers:
        worker.start()
    try:
        _expect(signals, "loaded", len(parts), workers)
        before = meter.read()
        began = time.monotonic()
        signals.go.set()
        ready = _expect(signals, "ready", len(parts), workers)
        figures.all_ready_s = max(max(times) for times in ready.values()) - began
        after_start = meter.read()
        figures.start_server_cpu_s = after_start["server_cpu"] - before["server_cpu"]
        figures.start_ranges = round(after_start["ranges"] - before["ranges"])
        if "proxy_cpu" in before:
            figures.start_proxy_cpu_s = after_start["proxy_cpu"] - before["proxy_cpu"]
        puts: list[tuple[int, float]] = []
        if seconds:
            samples: list[dict[str, float]] = []
            puts = write_steadily(write_endpoints, args.rate, seconds, meter, samples)
            end = meter.read()
            figures.watchers_max = round(max(s["watchers"] for s in samples))
            figures.server_cpu_s = end["server_cpu"] - after_start["server_cpu"]
            if "proxy_cpu" in end:
                figures.proxy_cpu_s = end["proxy_cpu"] - after_start["proxy_cpu"]
                figures.coalescing = round(max(s["coalescing"] for s in samples))
        else:
            figures.watchers_max = round(after_start["watchers"])
        signals.final.value = puts[-1][0] if puts else 0
        signals.done.set()
        results = _expect(signals, "result", len(parts), workers)
    finally:
        signals.go.set()
        signals.done.set()
        for worker in workers:
            worker.join(60)
            if worker.is_alive():
                worker.kill()
    figures.converged = sum(r["converged"] for r in results.values())
    for r in results.values():
        for state in r["states"]:
            figures.states[state] = figures.states.get(state, 0) + 1
    if puts:
        latencies = []
        for revision, sent in puts:
            counts = sum(r["counts"].get(revision, 0) for r in results.values())
            if counts < args.mirrors:
                figures.missed += 1
                continue
            last = max(r["last"].get(revision, 0.0) for r in results.values())
            latencies.append((last - sent) * 1000)
        figures.puts = len(puts)
        if latencies:
            figures.put_all_p50_ms = statistics.median(latencies)
            figures.put_all_p99_ms = percentile(latencies, 0.99)
    return figures


def _expect(
    signals: Signals, kind: str, count: int, workers: list[Any], timeout: float = 600
) -> dict[int, Any]:
    """The payloads of ``count`` messages of ``kind``, one per process; RuntimeError if a
    process dies or they do not come within ``timeout`` seconds."""
    got: dict[int, Any] = {}
    deadline = time.monotonic() + timeout
    while len(got) < count:
        try:
            what, index, payload = signals.out.get(timeout=1)
        except queue.Empty:
            dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
            if dead or time.monotonic() > deadline:
                raise RuntimeError(f"waiting for {kind!r}: exits {dead}, got {len(got)}") from None
            continue
        if what != kind:
            raise RuntimeError(f"expected {kind!r} from the processes, got {what!r}")
        got[index] = payload
    return got


def write_steadily(
    endpoints: list[str], rate: float, seconds: float, meter: Meter,
    samples: list[dict[str, float]],
) -> list[tuple[int, float]]:  # fmt: skip
    """Put ``rate`` distinct values a second for ``seconds`` (on a schedule, not as fast as
    possible); the revision and send time of each put. ``samples`` gets the meter's reading
    once a second meanwhile (from another thread)."""
    from etcdmap import Client

    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(1.0):
            samples.append(meter.read())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    puts = []
    try:
        with Client(endpoints) as c:
            start = time.monotonic()
            for i in range(round(rate * seconds)):
                pause = start + i / rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                sent = time.monotonic()
                revision = c.put(f"{PREFIX}w{i % 50:02d}", f"{i}").header.revision
                puts.append((revision, sent))
    finally:
        stop.set()
        sampler.join()
    if not samples:
        samples.append(meter.read())
    return puts


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def fill(endpoints: list[str], keys: int, value_bytes: int) -> None:
    from etcdmap import Client, Op

    value = b"x" * value_bytes
    with Client(endpoints) as c:
        for start in range(0, keys, 100):
            c.txn(success=[
                Op.put(f"{PREFIX}{i:08d}", value) for i in range(start, min(keys, start + 100))
            ])  # fmt: skip


@contextmanager
def proxy_for(server: Any) -> Iterator[Any]:
    from etcdmap.testing import EtcdProxy  # type: ignore[attr-defined]  # i21-proxy

    with EtcdProxy(server) as proxy:
        yield proxy


# --------------------------------------------------------------------------- entry points


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mirrors", type=int, default=200, help="mirrors in the fleet")
    parser.add_argument("--processes", type=int, default=4, help="processes holding them")
    parser.add_argument("--keys", type=int, default=2000, help="keys under the prefix")
    parser.add_argument("--value-bytes", type=int, default=100)
    parser.add_argument("--rate", type=float, default=20.0, help="puts per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of writing")
    parser.add_argument("--jitter", type=float, default=2.0, help="start_jitter of `start`")
    parser.add_argument(
        "--sections", default="fleet,start", help="comma-separated: fleet, start"
    )
    parser.add_argument("--no-proxy", action="store_true", help="fleet: direct only")
    parser.add_argument(
        "--quick", action="store_true", help="40 mirrors, 2 processes, 500 keys, 3 s"
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    from etcdmap.testing import EtcdServer

    if args.quick:
        args.mirrors, args.processes, args.keys, args.seconds = 40, 2, 500, 3.0
    sections = set(args.sections.split(","))
    load = os.getloadavg()
    out: dict[str, Any] = {
        "mirrors": args.mirrors, "processes": args.processes, "keys": args.keys,
        "value_bytes": args.value_bytes, "rate": args.rate, "seconds": args.seconds,
        "cpus": os.cpu_count(), "load_before": load,
    }  # fmt: skip
    with ExitStack() as stack:
        server = stack.enter_context(EtcdServer())
        fill(server.endpoints, args.keys, args.value_bytes)
        if "fleet" in sections:
            runs = [run_fleet(
                "direct", args, Meter(server.metrics_url, None), server.endpoints,
                server.endpoints, seconds=args.seconds,
            )]  # fmt: skip
            if not args.no_proxy:
                proxy = stack.enter_context(proxy_for(server))
                runs.append(run_fleet(
                    "proxy", args, Meter(server.metrics_url, proxy.metrics_url),
                    proxy.endpoints, server.endpoints, seconds=args.seconds,
                ))  # fmt: skip
            print_fleet(runs)
            out["fleet"] = [asdict(r) for r in runs]
        if "start" in sections:
            meter = Meter(server.metrics_url, None)
            runs = []
            for name, shared, jitter in (
                ("plain", False, 0.0), ("jitter", False, args.jitter),
                ("shared", True, 0.0), ("shared+jitter", True, args.jitter),
            ):  # fmt: skip
                with tempfile.TemporaryDirectory(prefix="etcdmap-fleet-") as directory:
                    persist = os.path.join(directory, "fleet.bin") if shared else None
                    runs.append(run_fleet(
                        name, args, meter, server.endpoints, server.endpoints,
                        persist=persist, start_jitter=jitter,
                    ))  # fmt: skip
            print_start(runs, args.jitter)
            out["start"] = [asdict(r) for r in runs]
    out["load_after"] = os.getloadavg()
    print(f"load average before {fmt_load(load)}, after {fmt_load(out['load_after'])}")
    return out


def fmt_load(load: Any) -> str:
    return " ".join(f"{x:.2f}" for x in load)


def print_fleet(runs: list[Figures]) -> None:
    print(f"\nfleet: {runs[0].mirrors} mirrors in {runs[0].processes} processes")
    print(
        f"{'':8}{'watchers':>9}{'server CPU s':>14}{'proxy CPU s':>13}{'put->all p50':>14}"
        f"{'p99 ms':>8}{'all ready s':>13}{'start CPU s':>13}{'converged':>11}"
    )
    for r in runs:
        start_cpu = r.start_server_cpu_s + (r.start_proxy_cpu_s or 0)
        print(
            f"{r.name:8}{r.watchers_max:>9}{r.server_cpu_s:>14.2f}"
            f"{fmt(r.proxy_cpu_s, '.2f'):>13}{fmt(r.put_all_p50_ms, '.1f'):>14}"
            f"{fmt(r.put_all_p99_ms, '.1f'):>8}{r.all_ready_s:>13.2f}{start_cpu:>13.2f}"
            f"{r.converged:>7}/{r.mirrors}"
        )


def print_start(runs: list[Figures], jitter: float) -> None:
    print(f"\nfleet start: {runs[0].mirrors} mirrors at once (jitter {jitter:g} s)")
    print(f"{'':15}{'Range RPCs':>11}{'server CPU s':>14}{'all ready s':>13}{'converged':>11}")
    for r in runs:
        print(
            f"{r.name:15}{r.start_ranges:>11}{r.start_server_cpu_s:>14.2f}"
            f"{r.all_ready_s:>13.2f}{r.converged:>7}/{r.mirrors}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--out", help="write the figures as JSON here")
    args = parser.parse_args()
    figures = run(args)
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
