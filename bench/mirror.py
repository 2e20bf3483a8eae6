"""Mirror: initial load of a 100,000-key prefix vs a dict filled from one whole-range get, and
the event apply rate and lag while a writer in another process writes at full speed.

Memory is Python-level (tracemalloc): ``peak MiB`` is the peak traced during the load,
``kept MiB`` what stays allocated after it (the copy), and ``B/key over raw`` is
(kept - raw key and value bytes) / keys, i.e. the per-key overhead of the container on top
of the data itself (keys are stored as str relative to the prefix, values as bytes).
tracemalloc slows allocation-heavy code, so times are measured in separate untraced runs.

    /work/venv/bin/python bench/mirror.py            # ~1 min
    /work/venv/bin/python bench/mirror.py --quick    # 20,000 keys, 3 s writer
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import etcd_server, fmt  # noqa: E402

import etcdmap  # noqa: E402
from etcdmap import Client, Mirror, Op  # noqa: E402

PREFIX = "/bench-mirror/"
VALUE_BYTES = 100
OUT = Path(__file__).resolve().parent / "results" / "mirror.json"


def fill(endpoint: str, n: int) -> None:
    value = b"x" * VALUE_BYTES
    with Client([endpoint]) as c:
        for start in range(0, n, 100):
            c.txn(
                success=[
                    Op.put(f"{PREFIX}{i:08d}", value) for i in range(start, min(n, start + 100))
                ]
            )


def whole_range(c: Client) -> dict[str, bytes]:
    cut = len(PREFIX)
    kvs = c.get(PREFIX, prefix=True).kvs
    return {kv.key[cut:].decode(): kv.value for kv in kvs}


def mirror_load(c: Client, page_size: int) -> Mirror[bytes]:
    m: Mirror[bytes] = Mirror(c, PREFIX, page_size=page_size, timeout=120)
    m.start()
    m.wait_synced()
    return m


def measure(endpoint: str, n: int, rounds: int) -> list[dict[str, Any]]:
    rows = []
    raw = n * (len(PREFIX) + 8 + VALUE_BYTES)
    with Client([endpoint]) as c:
        c.get(PREFIX, limit=1)
        for name, page_size in (
            ("dict from one whole-range get", 0),
            ("Mirror page_size=10000", 10_000),
            ("Mirror page_size=1000", 1000),
        ):
            times = []
            for _ in range(rounds):
                gc.collect()
                t0 = time.perf_counter()
                obj: Any = whole_range(c) if not page_size else mirror_load(c, page_size)
                times.append(time.perf_counter() - t0)
                if page_size:
                    obj.close()
                del obj
            gc.collect()
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            obj = whole_range(c) if not page_size else mirror_load(c, page_size)
            gc.collect()
            kept, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            count = len(obj) if not page_size else len(obj.local())
            if page_size:
                obj.close()
            del obj
            rows.append(
                {
                    "name": name,
                    "keys": count,
                    "seconds": statistics.median(times),
                    "peak_mib": (peak - base) / 2**20,
                    "kept_mib": (kept - base) / 2**20,
                    "bytes_per_key_over_raw": (kept - base - raw) / n,
                }
            )
    return rows


def writer(endpoint: str, seconds: float, threads: int) -> None:
    """Child process: puts as fast as ``threads`` threads can for ``seconds``."""
    deadline = time.monotonic() + seconds
    with Client([endpoint]) as c:

        def run(t: int) -> None:
            i = 0
            while time.monotonic() < deadline:
                c.put(f"{PREFIX}w{t}-{i % 1000}", b"y" * VALUE_BYTES)
                i += 1

        workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()


def follow(endpoint: str, seconds: float, threads: int) -> dict[str, Any]:
    with Client([endpoint]) as c, Mirror(c, PREFIX, page_size=10_000, timeout=120) as m:
        applied = 0

        def count(batch: etcdmap.Batch) -> None:
            nonlocal applied
            applied += len(batch.changes)

        sub = m.subscribe(count)
        start_revision = m.revision
        proc = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--writer",
                endpoint,
                "--seconds",
                str(seconds),
                "--threads",
                str(threads),
            ]
        )
        lags = []
        t0 = time.perf_counter()
        while proc.poll() is None:
            server = c.get(PREFIX, count_only=True).header.revision
            lags.append(max(0, server - m.revision))
            time.sleep(0.05)
        stopped = time.perf_counter()
        final = c.get(PREFIX, count_only=True).header.revision
        m.wait_for(final, timeout=60)
        caught_up = time.perf_counter() - stopped
        events = m.revision - start_revision
        elapsed = stopped - t0
        sub.cancel()
        return {
            "writer_threads": threads,
            "seconds": elapsed,
            "events": events,
            "events_per_s": events / elapsed,
            "lag_max": max(lags),
            "lag_median": statistics.median(lags),
            "catch_up_s": caught_up,
            "subscriber_changes": applied,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--writer", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    if args.writer:
        writer(args.writer, args.seconds, args.threads)
        return 0
    n = 20_000 if args.quick else 100_000
    seconds = 3.0 if args.quick else args.seconds
    with etcd_server() as endpoint:
        fill(endpoint, n)
        load = measure(endpoint, n, 1 if args.quick else 3)
        apply = follow(endpoint, seconds, args.threads)
    print(f"initial load of {n:,} keys ({VALUE_BYTES}-byte values), median of runs:")
    print(f"  {'':32} {'seconds':>8} {'peak MiB':>9} {'kept MiB':>9} {'B/key over raw':>15}")
    for r in load:
        print(
            f"  {r['name']:32} {r['seconds']:8.3f} {r['peak_mib']:9.1f} {r['kept_mib']:9.1f} "
            f"{fmt(r['bytes_per_key_over_raw'], '.0f'):>15}"
        )
    print(
        f"events under a full-speed writer ({apply['writer_threads']} threads, separate process):"
    )
    print(
        f"  {fmt(apply['events_per_s'])} events/s applied, lag max {apply['lag_max']} / median "
        f"{apply['lag_median']} revisions, caught up {apply['catch_up_s'] * 1000:.0f} ms "
        "after the writer stopped"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "python": platform.python_version(),
                "keys": n,
                "load": load,
                "apply": apply,
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
