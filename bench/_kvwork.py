"""Workload drivers: sequential, N-in-flight (asyncio), thread pool; and their statistics."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

KEY_PREFIX = b"/bench/"
RANGE_PREFIX = b"/range/"
VALUE = b"v" * 64


def keys(prefix: bytes, count: int, width: int = 16) -> list[bytes]:
    """``count`` keys of exactly ``width`` bytes under ``prefix``."""
    digits = width - len(prefix)
    return [prefix + str(i).zfill(digits).encode() for i in range(count)]


@dataclass
class Sample:
    """One timed run: ``n`` operations, wall and process-CPU seconds, per-op latencies."""

    n: int
    wall: float
    cpu: float
    latencies: list[float] = field(default_factory=list)

    @property
    def ops_s(self) -> float:
        return self.n / self.wall

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.n * 1e6


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarize(samples: Sequence[Sample]) -> dict[str, Any]:
    """Medians over rounds of ops/s, p50/p99 latency (µs) and client CPU µs per op."""
    out: dict[str, Any] = {
        "rounds": len(samples),
        "ops_per_round": samples[0].n,
        "ops_s": statistics.median(s.ops_s for s in samples),
        "cpu_us_per_op": statistics.median(s.cpu_us for s in samples),
        "ops_s_rounds": [round(s.ops_s, 1) for s in samples],
    }
    if samples[0].latencies:
        out["p50_us"] = statistics.median(percentile(s.latencies, 0.50) * 1e6 for s in samples)
        out["p99_us"] = statistics.median(percentile(s.latencies, 0.99) * 1e6 for s in samples)
    return out


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _sample(n: int, start: tuple[float, float], latencies: list[float]) -> Sample:
    wall, cpu = _clock()
    return Sample(n, wall - start[0], cpu - start[1], latencies)


# --------------------------------------------------------------------------- sequential


def sequential(op: Callable[..., Any], args: Sequence[tuple[Any, ...]]) -> Sample:
    """Call ``op(*a)`` for each ``a`` in turn, timing each call."""
    latencies = []
    perf = time.perf_counter
    start = _clock()
    for a in args:
        t0 = perf()
        op(*a)
        latencies.append(perf() - t0)
    return _sample(len(args), start, latencies)


async def _sequential_async(op: Callable[..., Awaitable[Any]], args: Sequence[Any]) -> Sample:
    latencies = []
    perf = time.perf_counter
    start = _clock()
    for a in args:
        t0 = perf()
        await op(*a)
        latencies.append(perf() - t0)
    return _sample(len(args), start, latencies)


def sequential_async(
    loop: asyncio.AbstractEventLoop, op: Callable[..., Awaitable[Any]], args: Sequence[Any]
) -> Sample:
    """Await ``op(*a)`` for each ``a`` in turn on ``loop``, timing each call."""
    return loop.run_until_complete(_sequential_async(op, args))


# --------------------------------------------------------------------------- concurrent


async def _in_flight(
    op: Callable[..., Awaitable[Any]], args: Sequence[Any], inflight: int
) -> Sample:
    it = iter(args)

    async def worker() -> None:
        for a in it:
            await op(*a)

    start = _clock()
    await asyncio.gather(*(worker() for _ in range(inflight)))
    return _sample(len(args), start, [])


def in_flight(
    loop: asyncio.AbstractEventLoop,
    op: Callable[..., Awaitable[Any]],
    args: Sequence[Any],
    inflight: int,
) -> Sample:
    """Run ``op`` over ``args`` with ``inflight`` coroutines each awaiting one call at a time."""
    return loop.run_until_complete(_in_flight(op, args, inflight))


def threaded(op: Callable[..., Any], args: Sequence[Any], threads: int) -> Sample:
    """Run ``op`` over ``args`` from ``threads`` threads sharing one client."""
    it = iter(args)
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                a = next(it, None)
            if a is None:
                return
            op(*a)

    with ThreadPoolExecutor(threads) as pool:
        start = _clock()
        for future in [pool.submit(worker) for _ in range(threads)]:
            future.result()
        return _sample(len(args), start, [])
