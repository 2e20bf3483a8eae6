"""Search and stats over 100,000 keys: ``EtcdMap.search``/``stats`` (paged passes) against
``Mirror.search``/``stats`` (the local copy).

100,000 keys ``team{0-9}/svc{i:06d}`` with ~100-byte JSON values (a msgspec Struct) under one
prefix of a local etcd the script starts. Each scenario runs ``--rounds`` times: the table
shows the median time of passes without tracing and the largest ``tracemalloc`` peak of one
traced pass (Python allocations only, counted from just before the pass: what the pass holds
at once, not the client's C buffers). The mirror's own copy is counted in its load row, not in
its search and stats rows, which read it.

    /work/main/.venv/bin/python bench/search.py            # ~1 min
    /work/main/.venv/bin/python bench/search.py --quick    # 20,000 keys
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's etcdmap

from _common import etcd_server, fmt  # noqa: E402

import etcdmap  # noqa: E402

PREFIX = "/bench-search/"
OUT = Path(__file__).resolve().parent / "results" / "search.json"


class Record(msgspec.Struct):
    id: int
    owner: str
    score: float
    note: str


def record(i: int) -> Record:
    return Record(i, f"user-{i % 97}", i % 1000 / 7, "x" * 40)


def measure(run: Callable[[], Any], rounds: int) -> dict[str, float]:
    """Median seconds of ``rounds`` untraced passes, and the peak MiB of one traced pass."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    try:
        run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {"seconds": statistics.median(times), "peak_mib": peak / 2**20}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 keys")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    n = 20_000 if args.quick else 100_000
    rows: dict[str, dict[str, float]] = {}
    with etcd_server() as endpoint, etcdmap.Client([endpoint]) as client:
        m = etcdmap.EtcdMap(client, PREFIX, value_type=Record)
        for first in range(0, n, 10_000):
            m.update({f"team{i % 10}/svc{i:06d}": record(i) for i in range(first, first + 10_000)})
        scenarios: dict[str, Callable[[], Any]] = {
            "map.search(key substring)": lambda: list(m.search("svc0123")),
            "map.search(key regex)": lambda: list(m.search(r"^team3/svc\d*7$", regex=True)),
            "map.search(value substring)": lambda: list(
                m.search('"owner":"user-5"', keys=False, values=True)
            ),
            "map.stats(values=False)": lambda: m.stats(values=False),
            "map.stats()": lambda: m.stats(),
        }
        for name, run in scenarios.items():
            rows[name] = measure(run, args.rounds)
        mirrors: list[etcdmap.Mirror[Record]] = []

        def load() -> None:
            mirror = etcdmap.Mirror.of_map(m)
            mirror.__enter__()
            mirror.close()
            mirrors.append(mirror)  # the copy stays readable after close()

        rows["mirror load (its copy)"] = measure(load, 1)
        mirror = mirrors[-1]
        local: dict[str, Callable[[], Any]] = {
            "mirror.search(key substring)": lambda: list(mirror.search("svc0123")),
            "mirror.search(key regex)": lambda: list(
                mirror.search(r"^team3/svc\d*7$", regex=True)
            ),
            "mirror.search(value substring)": lambda: list(
                mirror.search('"owner":"user-5"', keys=False, values=True)
            ),
            "mirror.stats(values=False)": lambda: mirror.stats(values=False),
            "mirror.stats()": lambda: mirror.stats(),
        }
        mirrors[:-1] = []
        for name, run in local.items():
            rows[name] = measure(run, args.rounds)
        assert len(list(m.search("svc0123"))) == 100  # svc012300 to svc012399
        assert m.stats() == mirror.stats()

    print(f"\n{n:,} keys, values ~100 bytes JSON (typed), page_size=1000, "
          f"median of {args.rounds} passes\n")  # fmt: skip
    print(f"{'scenario':<34}{'seconds':>10}{'peak MiB':>10}")
    for name, row in rows.items():
        print(f"{name:<34}{fmt(row['seconds'], '.3f'):>10}{fmt(row['peak_mib'], '.1f'):>10}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"keys": n, "rounds": args.rounds, "rows": rows}, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
