"""Outages: how soon a mirror notices that its server is gone, and how soon everything works
again once the server is back.

For each outage length the script starts one local etcd server, connects a blocking
``Client`` (with a ``Mirror`` and a lease keep-alive) and, in a thread of its own, an
``AsyncClient`` (with an ``AsyncMirror``), then kills the server (SIGKILL, or SIGSTOP with
``--signal stop``), waits the outage out and restarts it (SIGCONT). Measured:

- ``DEGRADED s``: from the kill to the mirror's state ``DEGRADED`` (target ≤ 3 s);
- from the moment the server is healthy again (``/health``, polled every 50 ms) to the first
  successful put of the client that lived through the outage (``old put s``) and of a client
  made then (``fresh put s``), to the mirror's ``READY`` (``mirror READY s``) and to the first
  answered lease keep-alive (``keep-alive s``, blocking client only; not with SIGSTOP, where
  the keep-alive stream stays open and simply goes on at its schedule). Target ≤ 1 s.

    /work/venv/bin/python bench/outage.py                   # 5, 30 and 90 s outages (~3 min)
    /work/venv/bin/python bench/outage.py --outages 5 30    # the lengths to run
    /work/venv/bin/python bench/outage.py --signal stop     # SIGSTOP / SIGCONT
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fmt  # noqa: E402

import etcdmap  # noqa: E402
from etcdmap import AsyncClient, AsyncMirror, Client, Mirror, MirrorState  # noqa: E402
from etcdmap.testing import EtcdServer  # noqa: E402

PREFIX = "/bench-outage/"
OUT = Path(__file__).resolve().parent / "results" / "outage.json"
#: How long a probe keeps trying before it reports nothing (None in the table).
GIVE_UP = 150.0
POLL = 0.01
COLUMNS = ("degraded_s", "old_put_s", "fresh_put_s", "mirror_ready_s", "keep_alive_s")
TARGETS = {"degraded_s": 3.0, "old_put_s": 1.0, "fresh_put_s": 1.0, "mirror_ready_s": 1.0,
           "keep_alive_s": 1.0}


class Clock:
    """The moments the probes measure from, shared by both flavours' probes."""

    def __init__(self) -> None:
        self.killed = threading.Event()
        self.healthy = threading.Event()
        self.killed_at = 0.0
        self.healthy_at = 0.0
        #: Whether the outage breaks the streams (SIGKILL). A stopped server keeps them open:
        #: the keep-alive stream then just goes on at its schedule (every TTL / 3), so there
        #: is no reconnection of it to time.
        self.stream_broken = True


def until(condition: Callable[[], bool], since: float) -> float | None:
    """Seconds from ``since`` until ``condition()`` is true (an ``EtcdError`` counts as
    false); None after ``GIVE_UP`` seconds."""
    deadline = time.monotonic() + GIVE_UP
    while time.monotonic() < deadline:
        try:
            if condition():
                return time.monotonic() - since
        except etcdmap.EtcdError:
            pass
        time.sleep(POLL)
    return None


async def async_until(condition: Callable[[], Any], since: float) -> float | None:
    """``until`` for coroutine conditions."""
    deadline = time.monotonic() + GIVE_UP
    while time.monotonic() < deadline:
        try:
            if await condition():
                return time.monotonic() - since
        except etcdmap.EtcdError:
            pass
        await asyncio.sleep(POLL)
    return None


def sync_side(endpoint: str, clock: Clock, row: dict[str, Any], ready: threading.Event) -> None:
    with Client([endpoint]) as old, Mirror(old, PREFIX + "sync/") as mirror:
        lease = old.lease_grant(300)
        with lease.keep_alive() as keeper:
            ready.set()
            clock.killed.wait()
            row["degraded_s"] = until(lambda: mirror.state is MirrorState.DEGRADED,
                                      clock.killed_at)
            clock.healthy.wait()
            before = keeper.response
            found: dict[str, float | None] = {}

            def fresh_put() -> bool:
                with Client([endpoint]) as fresh:
                    fresh.put(PREFIX + "sync/fresh", "1", timeout=1)
                return True

            probes: dict[str, Callable[[], bool]] = {
                "old_put_s": lambda: bool(old.put(PREFIX + "sync/old", "1", timeout=1)),
                "fresh_put_s": fresh_put,
                "mirror_ready_s": lambda: mirror.state is MirrorState.READY,
            }
            if clock.stream_broken:
                probes["keep_alive_s"] = lambda: keeper.response is not before
            threads = [
                threading.Thread(
                    target=lambda name=name, probe=probe: found.update(
                        {name: until(probe, clock.healthy_at)}
                    )
                )
                for name, probe in probes.items()
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            row.update(found)


async def async_side(
    endpoint: str, clock: Clock, row: dict[str, Any], ready: threading.Event
) -> None:
    async with AsyncClient([endpoint]) as old, AsyncMirror(old, PREFIX + "async/") as mirror:
        ready.set()
        while not clock.killed.is_set():
            await asyncio.sleep(POLL)

        async def degraded() -> bool:
            return mirror.state is MirrorState.DEGRADED

        row["degraded_s"] = await async_until(degraded, clock.killed_at)
        while not clock.healthy.is_set():
            await asyncio.sleep(POLL)

        async def old_put() -> bool:
            return bool(await old.put(PREFIX + "async/old", "1", timeout=1))

        async def fresh_put() -> bool:
            async with AsyncClient([endpoint]) as fresh:
                await fresh.put(PREFIX + "async/fresh", "1", timeout=1)
            return True

        async def mirror_ready() -> bool:
            return mirror.state is MirrorState.READY

        names = ("old_put_s", "fresh_put_s", "mirror_ready_s")
        results = await asyncio.gather(
            *(async_until(probe, clock.healthy_at) for probe in (old_put, fresh_put, mirror_ready))
        )
        row.update(zip(names, results, strict=True))


def one_outage(seconds: float, sig: int) -> list[dict[str, Any]]:
    """Both flavours through one outage of ``seconds``: one row each."""
    rows: list[dict[str, Any]] = []
    clock = Clock()
    clock.stream_broken = sig != signal.SIGSTOP
    with EtcdServer() as server:
        workers = []
        for flavour, run in (("sync", sync_side), ("async", None)):
            row: dict[str, Any] = {"outage_s": seconds, "signal": sig.name, "flavour": flavour}
            rows.append(row)
            ready = threading.Event()
            if run is not None:
                args: tuple[Any, ...] = (server.endpoint, clock, row, ready)
            else:
                run, args = asyncio.run, (async_side(server.endpoint, clock, row, ready),)
            worker = threading.Thread(target=run, args=args, name=f"outage-{flavour}")
            worker.start()
            workers.append(worker)
            if not ready.wait(30):
                raise RuntimeError(f"the {flavour} side did not start")
        time.sleep(2.0)  # mirrors READY and confirmed
        clock.killed_at = time.monotonic()
        server.kill(sig)
        clock.killed.set()
        time.sleep(seconds)
        if sig == signal.SIGSTOP:
            server.kill(signal.SIGCONT)
            server.wait_healthy()
        else:
            server.restart()
        clock.healthy_at = time.monotonic()
        clock.healthy.set()
        for worker in workers:
            worker.join()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outages", type=float, nargs="+", default=[5.0, 30.0, 90.0],
                        help="outage lengths in seconds (default: 5 30 90)")
    parser.add_argument("--signal", choices=("kill", "stop"), default="kill")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    sig = signal.SIGKILL if args.signal == "kill" else signal.SIGSTOP
    rows = [row for seconds in args.outages for row in one_outage(seconds, sig)]
    header = ("outage s", "signal", "flavour", "DEGRADED s", "old put s", "fresh put s",
              "mirror READY s", "keep-alive s")
    print("  ".join(f"{h:>14}" for h in header))
    for row in rows:
        cells = [fmt(row["outage_s"], ".0f"), row["signal"], row["flavour"]]
        cells += [fmt(row.get(column), ".2f") for column in COLUMNS]
        print("  ".join(f"{c:>14}" for c in cells))
    misses = [
        f"{row['flavour']} {row['outage_s']:.0f} s: {column} {fmt(row.get(column), '.2f')}"
        for row in rows for column in COLUMNS
        if column in row and (row[column] is None or row[column] > TARGETS[column])
    ]  # fmt: skip
    print("targets: DEGRADED ≤ 3 s, recovery ≤ 1 s:", "all met" if not misses else "missed")
    for miss in misses:
        print("  missed:", miss)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(
        {"python": platform.python_version(), "targets": TARGETS, "rows": rows}, indent=2
    ) + "\n")  # fmt: skip
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
