"""Instructions etcdmap's own layer spends on one get and one put, without gRPC's noise.

Whole-operation callgrind counts (``bench/kv.py``) include gRPC's threads and move by a few
percent from run to run even for the raw stub, which hides a 1% change in our code. Here the
client's gRPC callable is swapped, after one real call, for one that returns that call's
recorded response at once: what is left is etcdmap's work (arguments, request building,
retries and timeouts, response parsing). Each case runs under ``valgrind --tool=callgrind``
with 0 and with N operations; the difference divided by N is the cost of one operation.

    python bench/kv_layer.py [--ops 2000] [--out FILE]

To compare two trees, run it with ``PYTHONPATH=<tree>`` for each, against the same machine.
Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, callgrind_instructions, etcd_server  # noqa: E402

CASES = [(flavour, op) for flavour in ("sync", "async") for op in ("get", "put")]
KEY, VALUE = "/bench/layer/k", "v" * 100


def run_sync(endpoint: str, op: str, n: int) -> None:
    import etcdmap

    client = etcdmap.Client([endpoint])
    client.put(KEY, VALUE)
    conn, rpc = client._conn, "range" if op == "get" else "put"
    real, recorded = getattr(conn, rpc), []

    def record(request: Any, timeout: Any = None, metadata: Any = None) -> Any:
        recorded.append(real(request, timeout=timeout, metadata=metadata))
        return recorded[-1]

    call = (lambda: client.get(KEY)) if op == "get" else (lambda: client.put(KEY, VALUE))
    setattr(conn, rpc, record)
    call()
    setattr(conn, rpc, lambda request, timeout=None, metadata=None: recorded[0])
    for _ in range(n):
        call()


def run_async(endpoint: str, op: str, n: int) -> None:
    import etcdmap

    async def main() -> None:
        client = etcdmap.AsyncClient([endpoint])
        await client.put(KEY, VALUE)
        conn, rpc = client._conn, "range" if op == "get" else "put"
        real, recorded = getattr(conn, rpc), []

        async def record(request: Any, timeout: Any = None, metadata: Any = None) -> Any:
            recorded.append(await real(request, timeout=timeout, metadata=metadata))
            return recorded[-1]

        async def canned(request: Any, timeout: Any = None, metadata: Any = None) -> Any:
            return recorded[0]

        async def call() -> Any:
            return await (client.get(KEY) if op == "get" else client.put(KEY, VALUE))

        setattr(conn, rpc, record)
        await call()
        setattr(conn, rpc, canned)
        for _ in range(n):
            await call()

    asyncio.run(main())


def instructions(endpoint: str, flavour: str, op: str, n: int) -> int:
    """Instructions callgrind counts for a process running ``n`` operations."""
    return callgrind_instructions(__file__, "--child", endpoint, flavour, op, str(n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "kv_layer.json"))
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        endpoint, flavour, op, n = options.child
        (run_sync if flavour == "sync" else run_async)(endpoint, op, int(n))
        return
    import etcdmap

    per_op: dict[str, int] = {}
    with etcd_server() as endpoint:
        for flavour, op in CASES:
            base = instructions(endpoint, flavour, op, 0)
            per_op[f"{op}, {flavour}"] = (
                instructions(endpoint, flavour, op, options.ops) - base
            ) // options.ops
    print(f"etcdmap from {Path(etcdmap.__file__).parent}; {options.ops} operations per case")
    print(f"{'operation':12} {'instructions per op (layer only)':>34}")
    for name, count in per_op.items():
        print(f"{name:12} {count:34,}")
    Path(options.out).parent.mkdir(parents=True, exist_ok=True)
    Path(options.out).write_text(json.dumps(
        {"etcdmap": str(Path(etcdmap.__file__).parent), "ops": options.ops, "per_op": per_op},
        indent=2,
    ))  # fmt: skip
    print(f"JSON: {options.out}")


if __name__ == "__main__":
    main()
