"""Mirrors at scale: one very large mirror, and fleets of mirrors direct or via a gRPC proxy.

Two parts, each in its own module and each starting the etcd it needs:

- ``memory`` (``bench/_scale_memory.py``): N keys (default 1,000,000) x 100 B; one whole-range
  get with the raw stub against a Mirror's load, kept and peak memory per key over the raw
  bytes, a live writer's apply rate, and a relist after compaction (time, peak against kept).
- ``fleet`` (``bench/_scale_fleet.py``): 200 mirrors of one prefix in 4 processes, a writer at a
  steady rate, direct and through ``etcdmap.testing.EtcdProxy``: server watchers, server and
  proxy CPU, put-to-all-applied p50/p99, time to all-ready; and a fleet start with and without
  ``start_jitter=`` and a shared ``persist=`` snapshot.

Each part prints its table and writes its figures to ``bench/results/scale-<part>.json``::

    PYTHONPATH=. nice -n 10 python bench/scale.py memory --keys 100000 --rounds 1
    PYTHONPATH=. nice -n 10 python bench/scale.py fleet --sections fleet,start
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _scale_fleet  # noqa: E402
import _scale_memory  # noqa: E402

PARTS = {"memory": _scale_memory, "fleet": _scale_fleet}
RESULTS = Path(__file__).resolve().parent / "results"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parts = parser.add_subparsers(dest="part", required=True)
    for name, module in PARTS.items():
        module.add_arguments(parts.add_parser(name, help=(module.__doc__ or "").splitlines()[0]))
    args = parser.parse_args()
    figures = PARTS[args.part].run(args)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"scale-{args.part}.json"
    out.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    print(f"figures written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
