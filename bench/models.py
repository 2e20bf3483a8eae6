"""Repository: requests and time per ``save`` (2 indexes, 1 unique field), and ``find`` by an
index over 100,000 records vs a full ``items()`` scan vs the mirror's ``find``.

Requests are counted with client hooks (every KV RPC the client starts). The 100,000 records
are the 10,000 saved through the repository plus 90,000 written in bulk Txns laid out by the
repository's own ``Layout``/``Schema`` (then ``check()`` must find the prefix clean: it is
timed too). ``find`` returns the 1,000 records of one region of 100.

    /work/venv/bin/python bench/models.py            # ~2-4 min, bench/results/models.json
    /work/venv/bin/python bench/models.py --quick    # 2,000 saves, 20,000 records
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import msgspec  # noqa: E402
from _common import etcd_server, fmt  # noqa: E402

from etcdmap import Client, Op, Repository  # noqa: E402
from etcdmap.metrics import ClientHooks  # noqa: E402

PREFIX = "/bench-models/svc/"
OTHER = "/bench-models/other/"
REGIONS = 100
OUT = Path(__file__).resolve().parent / "results" / "models.json"


class Service(msgspec.Struct):
    id: str
    port: int
    region: str
    labels: list[str]


def labels(service: Service) -> list[str]:
    return service.labels


def service(i: int) -> Service:
    return Service(f"s{i:07d}", 10_000 + i, f"r{i % REGIONS:03d}", [f"l{i % 7}", "all"])


class Counter(ClientHooks):
    """Counts the KV RPCs the client starts."""

    def __init__(self) -> None:
        self.calls = 0

    def rpc_started(self, method: str, metadata: list[tuple[str, str]]) -> object:
        if method.startswith("KV/"):
            self.calls += 1
        return None


def repository(client: Client, prefix: str = PREFIX) -> Repository[Service]:
    return Repository(client, Service, prefix, key="id",
                      indexes=("region", ("label", labels)), unique=("port",))  # fmt: skip


def timed_saves(
    counter: Counter, records: list[Service], save: Callable[[Service], Any]
) -> dict[str, float]:
    before = counter.calls
    start = time.perf_counter()
    for record in records:
        save(record)
    seconds = time.perf_counter() - start
    return {
        "saves": len(records),
        "requests_per_save": (counter.calls - before) / len(records),
        "seconds": seconds,
        "saves_per_s": len(records) / seconds,
        "ms_per_save": seconds * 1000 / len(records),
    }


def bulk_fill(client: Client, repo: Repository[Service], first: int, last: int) -> None:
    """Records ``first`` to ``last - 1`` with their index entries and claims, in Txns."""
    schema, layout = repo.schema, repo.layout
    ops: list[Op] = []
    for i in range(first, last):
        record = service(i)
        derived = schema.derive(record)
        ops.append(Op.put(layout.record(record.id), msgspec.json.encode(record)))
        ops += [Op.put(e, b"") for e in schema.entries(layout, record.id, derived)]
        ops += [Op.put(c, record.id) for c in schema.claims(layout, derived)]
        if len(ops) >= 120:
            client.txn(success=ops)
            ops = []
    if ops:
        client.txn(success=ops)


def median_seconds(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    saves, total = (2_000, 20_000) if args.quick else (10_000, 100_000)
    results: dict[str, Any] = {"python": platform.python_version(), "saves": saves,
                               "records": total}  # fmt: skip
    counter = Counter()
    with etcd_server() as endpoint, Client([endpoint], hooks=counter) as client:
        repo = repository(client)
        records = [service(i) for i in range(saves)]
        results["save_new"] = timed_saves(counter, records, repo.save)
        # the same records into a second repository (deleting the first's 40,000 keys instead
        # would slow the server's next requests several times over, the reads included)
        other = repository(client, OTHER)
        results["save_new_expect_0"] = timed_saves(
            counter, records, lambda r: other.save(r, expect_revision=0)
        )
        revisions: dict[str, int] = {}

        def update(record: Service) -> None:
            moved = Service(record.id, record.port, f"r{(int(record.id[1:]) + 1) % REGIONS:03d}",
                            record.labels)  # fmt: skip
            revisions[record.id] = repo.save(moved, expect_revision=revisions.get(record.id))

        results["save_update_no_expect"] = timed_saves(counter, records, update)
        results["save_update_expect_revision"] = timed_saves(counter, records, update)

        bulk_fill(client, repo, saves, total)
        start = time.perf_counter()
        report = repo.check()
        results["check_seconds"] = time.perf_counter() - start
        assert report.clean and report.records == total, report
        region = "r042"
        expected = sorted(
            r.id for r in (service(i) for i in range(total)) if r.region == region
        )
        # the first `saves` records moved one region up
        expected = sorted(
            {r for r in expected if int(r[1:]) >= saves}
            | {f"s{i:07d}" for i in range(saves) if (i + 1) % REGIONS == 42}
        )
        before = counter.calls
        find_s, found = median_seconds(lambda: repo.find(region=region), 5)
        find_requests = (counter.calls - before) / 5
        assert [r.id for r in found] == expected, (len(found), len(expected))
        scan_s, scanned = median_seconds(
            lambda: [r for r in repo.map.values() if r.region == region], 3
        )
        assert [r.id for r in scanned] == expected
        with repo.mirror(timeout=300) as mirror:
            mirror_s, local = median_seconds(lambda: mirror.find(region=region), 20)
            assert [r.id for r in local] == expected
        results["find"] = {
            "matches": len(expected),
            "repo_find_ms": find_s * 1000,
            "repo_find_requests": find_requests,
            "items_scan_ms": scan_s * 1000,
            "mirror_find_ms": mirror_s * 1000,
        }
    print_table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {args.out}")


def print_table(results: dict[str, Any]) -> None:
    print(f"save: {results['saves']:,} records, 2 indexes (region, labels), 1 unique (port)")
    print(f"{'case':<34}{'requests/save':>15}{'saves/s':>10}{'ms/save':>10}{'total s':>10}")
    for case in ("save_new", "save_new_expect_0", "save_update_no_expect",
                 "save_update_expect_revision"):  # fmt: skip
        row = results[case]
        print(f"{case:<34}{row['requests_per_save']:>15.2f}{fmt(row['saves_per_s']):>10}"
              f"{row['ms_per_save']:>10.2f}{row['seconds']:>10.1f}")  # fmt: skip
    find = results["find"]
    print(f"\nfind by region over {results['records']:,} records ({find['matches']:,} match); "
          f"check() of the prefix: {results['check_seconds']:.1f} s")  # fmt: skip
    print(f"{'how':<34}{'ms':>12}")
    print(f"{'repo.find (index + records)':<34}{find['repo_find_ms']:>12.1f}"
          f"   ({find['repo_find_requests']:.0f} requests)")
    print(f"{'items() scan + filter':<34}{find['items_scan_ms']:>12.1f}")
    print(f"{'mirror.find (local)':<34}{find['mirror_find_ms']:>12.3f}")


if __name__ == "__main__":
    main()
