"""A fleet of mirrors for the fleet test and ``bench/_scale_fleet.py``: N mirrors of one
prefix in P spawned processes, started at once, a steady writer, and what it all cost.

``run_fleet`` starts the processes (``multiprocessing`` with "spawn": no gRPC state crosses a
fork); each holds its share of ``AsyncMirror``\\ s, one client each (one connection per
mirror, as N service instances would have). On the signal they start together; the parent
notes the time until every mirror is synced, then puts ``rate`` distinct values a second for
``seconds``, sampling the server's (and the proxy's) ``/metrics`` once a second. At the end
each process checks its mirrors against a get of the prefix at each mirror's revision.

Each mirror notes ``time.monotonic()`` per revision in a subscriber; on Linux CLOCK_MONOTONIC
is one clock for every process of the host, so the parent can compare it with the time it
sent each put. Private to the project (not exported by ``etcdmap.testing``).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._metrics import scrape, total

__all__ = ["Fleet", "FleetFigures", "Meter", "fill", "run_fleet"]

WATCHERS = "etcd_debugging_mvcc_watcher_total"
CPU = "process_cpu_seconds_total"


@dataclass(frozen=True)
class Fleet:
    """What to run: ``mirrors`` mirrors of ``prefix`` in ``processes`` processes, on
    ``endpoints`` (a server's or a proxy's), with these mirror options; a writer on
    ``write_endpoints`` putting ``rate`` values a second for ``seconds`` (0: start only)."""

    endpoints: list[str]
    write_endpoints: list[str]
    prefix: str
    mirrors: int = 200
    processes: int = 4
    rate: float = 20.0
    seconds: float = 0.0
    persist: str | None = None
    start_jitter: float = 0.0


@dataclass
class FleetFigures:
    """What one run measured (CPU from ``process_cpu_seconds_total``: utime + stime)."""

    mirrors: int
    processes: int
    #: Seconds from the start signal until every mirror was synced.
    all_ready_s: float = 0.0
    start_server_cpu_s: float = 0.0
    start_proxy_cpu_s: float | None = None
    #: Range RPCs the server handled while the fleet started.
    start_ranges: int = 0
    #: Server watchers before the fleet started (a proxy keeps one of its own).
    watchers_before: int = 0
    #: The most server watchers seen (sampled each second while writing; else after start).
    watchers_max: int = 0
    #: The server watchers at the end (after the writer, or after the start).
    watchers_end: int = 0
    #: The proxy's ``etcd_grpc_proxy_watchers_coalescing_total``, most seen.
    coalescing: int | None = None
    server_cpu_s: float = 0.0
    proxy_cpu_s: float | None = None
    #: Watch responses the server sent while the writer ran.
    server_watch_messages: int = 0
    puts: int = 0
    put_all_p50_ms: float | None = None
    put_all_p99_ms: float | None = None
    #: Puts that some mirror never reported applying (a debounce or a relist merges them).
    missed: int = 0
    #: Mirrors whose content equals a get of the prefix at their revision.
    converged: int = 0
    states: dict[str, int] = field(default_factory=dict)


class Meter:
    """Reads the metrics of a server and, if given, of a proxy in front of it."""

    def __init__(self, server_url: str, proxy_url: str | None = None) -> None:
        self.server_url = server_url
        self.proxy_url = proxy_url

    def read(self) -> dict[str, float]:
        """``server_cpu``, ``watchers``, ``ranges`` (handled), ``watch_sent`` (watch
        responses sent); with a proxy ``proxy_cpu`` and ``coalescing`` too."""
        server = scrape(self.server_url)
        figures = {
            "server_cpu": total(server, CPU),
            "watchers": total(server, WATCHERS),
            "ranges": total(server, "grpc_server_handled_total", grpc_method="Range"),
            "watch_sent": total(server, "grpc_server_msg_sent_total", grpc_method="Watch"),
        }
        if self.proxy_url is not None:
            proxy = scrape(self.proxy_url)
            figures["proxy_cpu"] = total(proxy, CPU)
            figures["coalescing"] = total(proxy, "etcd_grpc_proxy_watchers_coalescing_total")
        return figures


# --------------------------------------------------------------------------- one process


@dataclass(frozen=True)
class _Part:
    """The share of one process: ``count`` mirrors of the fleet."""

    index: int
    count: int
    fleet: Fleet


@dataclass(frozen=True)
class _Signals:
    """How the parent drives the processes and hears from them."""

    go: Any  # set: start the mirrors
    done: Any  # set once ``final`` holds the writer's last revision
    final: Any  # multiprocessing.Value("q")
    out: Any  # multiprocessing.Queue of (kind, index, payload)


def _process_main(part: _Part, signals: _Signals) -> None:
    """The body of one spawned process (module level, so spawn finds it)."""
    asyncio.run(_process(part, signals))


async def _process(part: _Part, signals: _Signals) -> None:
    from .._async.client import AsyncClient
    from .._async.mirror import AsyncMirror

    fleet = part.fleet
    clients = [AsyncClient(fleet.endpoints) for _ in range(part.count)]
    applied: list[dict[int, float]] = [{} for _ in clients]
    mirrors: list[AsyncMirror[bytes]] = [
        AsyncMirror(
            c, fleet.prefix, persist=fleet.persist, start_jitter=fleet.start_jitter,
            timeout=120, degraded_after=30, progress_interval=5,
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
        cut = len(fleet.prefix)
        for m, c in zip(mirrors, clients, strict=True):
            if final:
                await m.wait_for(final, timeout=120)
            snap = m.local_snapshot()
            response = await c.get(fleet.prefix, prefix=True, revision=snap.revision)
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


def _noter(seen: dict[int, float]) -> Callable[[Any], None]:
    def note(batch: Any) -> None:
        seen[batch.revision] = time.monotonic()

    return note


async def _ready(mirror: Any) -> float:
    await mirror.wait_synced(300)
    return time.monotonic()


# --------------------------------------------------------------------------- the parent


def run_fleet(fleet: Fleet, meter: Meter, timeout: float = 600.0) -> FleetFigures:
    """Run ``fleet`` and measure it with ``meter``; ``RuntimeError`` if a process dies or
    does not answer within ``timeout`` seconds at any step."""
    context = multiprocessing.get_context("spawn")
    signals = _Signals(context.Event(), context.Event(), context.Value("q", 0), context.Queue())
    sizes = [len(range(i, fleet.mirrors, fleet.processes)) for i in range(fleet.processes)]
    parts = [_Part(i, size, fleet) for i, size in enumerate(sizes) if size]
    workers = [
        context.Process(target=_process_main, args=(part, signals), daemon=True)
        for part in parts
    ]
    figures = FleetFigures(fleet.mirrors, len(parts))
    for worker in workers:
        worker.start()

    def expect(kind: str) -> dict[int, Any]:
        return _expect(signals, kind, len(parts), workers, timeout)

    puts: list[tuple[int, float]] = []
    try:
        expect("loaded")
        before = meter.read()
        figures.watchers_before = round(before["watchers"])
        began = time.monotonic()
        signals.go.set()
        ready = expect("ready")
        figures.all_ready_s = max((max(t) for t in ready.values() if t), default=began) - began
        started = meter.read()
        figures.start_server_cpu_s = started["server_cpu"] - before["server_cpu"]
        figures.start_ranges = round(started["ranges"] - before["ranges"])
        if "proxy_cpu" in before:
            figures.start_proxy_cpu_s = started["proxy_cpu"] - before["proxy_cpu"]
        samples = [started]
        if fleet.seconds:
            samples = []
            puts = _write_steadily(fleet, meter, samples)
            end = meter.read()
            figures.server_cpu_s = end["server_cpu"] - started["server_cpu"]
            figures.server_watch_messages = round(end["watch_sent"] - started["watch_sent"])
            if "proxy_cpu" in end:
                figures.proxy_cpu_s = end["proxy_cpu"] - started["proxy_cpu"]
        figures.watchers_max = round(max(s["watchers"] for s in samples))
        figures.watchers_end = round(samples[-1]["watchers"])
        if "coalescing" in samples[0]:
            figures.coalescing = round(max(s["coalescing"] for s in samples))
        signals.final.value = puts[-1][0] if puts else 0
        signals.done.set()
        results = expect("result")
    finally:
        signals.go.set()
        signals.done.set()
        for worker in workers:
            worker.join(60)
            if worker.is_alive():
                worker.kill()
    _tally(figures, list(results.values()), puts)
    return figures


def _tally(
    figures: FleetFigures, results: list[dict[str, Any]], puts: list[tuple[int, float]]
) -> None:
    """Fill in convergence, states and the put-to-all-applied latencies."""
    figures.converged = sum(r["converged"] for r in results)
    for r in results:
        for state in r["states"]:
            figures.states[state] = figures.states.get(state, 0) + 1
    latencies = []
    for revision, sent in puts if figures.mirrors else ():
        if sum(r["counts"].get(revision, 0) for r in results) < figures.mirrors:
            figures.missed += 1
            continue
        last = max(r["last"].get(revision, 0.0) for r in results)
        latencies.append((last - sent) * 1000)
    figures.puts = len(puts)
    if latencies:  # (none without mirrors: the writer alone, for the server's baseline)
        figures.put_all_p50_ms = statistics.median(latencies)
        ordered = sorted(latencies)
        figures.put_all_p99_ms = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def _expect(
    signals: _Signals, kind: str, count: int, workers: Sequence[Any], timeout: float
) -> dict[int, Any]:
    """The payloads of ``count`` messages of ``kind``, one per process."""
    got: dict[int, Any] = {}
    deadline = time.monotonic() + timeout
    while len(got) < count:
        try:
            what, index, payload = signals.out.get(timeout=1)
        except queue.Empty:
            dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
            if dead or time.monotonic() > deadline:
                raise RuntimeError(
                    f"fleet: waiting for {kind!r} from {count} processes, got {len(got)}; "
                    f"exit codes of the dead: {dead}"
                ) from None
            continue
        if what != kind:
            raise RuntimeError(f"fleet: expected {kind!r} from the processes, got {what!r}")
        got[index] = payload
    return got


def _write_steadily(
    fleet: Fleet, meter: Meter, samples: list[dict[str, float]]
) -> list[tuple[int, float]]:
    """Put ``fleet.rate`` distinct values a second for ``fleet.seconds`` (on a schedule, not
    as fast as possible); the revision and send time of each put. ``samples`` gets the
    meter's reading once a second meanwhile (from another thread), and once at the end."""
    from .._sync.client import Client

    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(1.0):
            samples.append(meter.read())

    sampler = threading.Thread(target=sample, name="etcdmap-fleet-meter", daemon=True)
    sampler.start()
    puts = []
    try:
        with Client(fleet.write_endpoints) as c:
            start = time.monotonic()
            for i in range(round(fleet.rate * fleet.seconds)):
                pause = start + i / fleet.rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                sent = time.monotonic()
                revision = c.put(f"{fleet.prefix}w{i % 50:02d}", f"{i}").header.revision
                puts.append((revision, sent))
    finally:
        stop.set()
        sampler.join()
    samples.append(meter.read())
    return puts


def fill(endpoints: list[str], prefix: str, keys: int, value_bytes: int) -> None:
    """Put ``keys`` keys of ``value_bytes`` under ``prefix`` (Txns of 100 puts)."""
    from .._core.kv import Op
    from .._sync.client import Client

    value = b"x" * value_bytes
    with Client(endpoints) as c:
        for start in range(0, keys, 100):
            c.txn(success=[
                Op.put(f"{prefix}{i:08d}", value) for i in range(start, min(keys, start + 100))
            ])  # fmt: skip
