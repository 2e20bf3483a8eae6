"""Instruction counts per operation under ``valgrind --tool=callgrind``.

Each (scenario, client) runs in its own ``python bench/kv.py --scenario ...`` process under
callgrind, once with N operations and once with 2N (after the same warm-up). Instructions per
operation are ``(I(2N) - I(N)) / N``: start-up, imports, connecting and warm-up cancel out. Only
the client process is under valgrind; the etcd server runs outside it.
"""

from __future__ import annotations

import asyncio
import compileall
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _common import load_stubs
from _kvclients import ALL_CLIENTS, ASYNC_CLIENTS, make_client
from _kvwork import KEY_PREFIX, RANGE_PREFIX, VALUE, keys

GET_KEYS = 1000
RANGE_KEYS = 20_000
WARMUP = {"put": 50, "get": 50, "range": 1}
JOBS: list[tuple[str, str]] = [(s, c) for s in ("get", "put") for c in ALL_CLIENTS] + [
    ("range", "etcdmap-sync"),
    ("range", "raw-sync"),
]
PAIRS = (("etcdmap-sync", "raw-sync"), ("etcdmap-async", "raw-aio"))


# --------------------------------------------------------------------------- in the child


def scenario_args(scenario: str, count: int) -> list[tuple[Any, ...]]:
    """The argument tuples of ``count`` operations of ``scenario``."""
    names = keys(KEY_PREFIX, GET_KEYS)
    if scenario == "put":
        return [(names[i % GET_KEYS], VALUE) for i in range(count)]
    if scenario == "get":
        return [(names[i % GET_KEYS],) for i in range(count)]
    return [(RANGE_PREFIX,)] * count


def op_name(scenario: str) -> str:
    return {"put": "put", "get": "get", "range": "scan"}[scenario]


def run_scenario(scenario: str, client: str, n: int, endpoint: str, stubs_dir: str) -> None:
    """Warm up, then run ``n`` operations of ``scenario`` with ``client`` (the callgrind child)."""
    stubs = load_stubs(stubs_dir)
    warm, work = scenario_args(scenario, WARMUP[scenario]), scenario_args(scenario, n)
    if client in ASYNC_CLIENTS:
        asyncio.run(_run_async(scenario, client, endpoint, stubs, warm + work))
        return
    c = make_client(client, endpoint, stubs)
    op = getattr(c, op_name(scenario))
    for a in warm + work:
        op(*a)
    c.close()


async def _run_async(
    scenario: str, client: str, endpoint: str, stubs: Any, args: Sequence[Any]
) -> None:
    c = make_client(client, endpoint, stubs)
    op = getattr(c, op_name(scenario))
    for a in args:
        await op(*a)
    await c.aclose()


# --------------------------------------------------------------------------- orchestration


def read_total(path: Path) -> int:
    """The total instruction count (``summary:``/``totals:`` line) of a callgrind output file."""
    for line in path.read_text().splitlines():
        match = re.match(r"(summary|totals):\s+(\d+)", line)
        if match:
            return int(match.group(2))
    raise ValueError(f"no totals in {path}")


def _command(job: tuple[str, str], n: int, endpoint: str, stubs_dir: str, out: Path) -> list[str]:
    scenario, client = job
    script = str(Path(__file__).with_name("kv.py"))
    return [
        "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
        sys.executable, script, "--scenario", scenario, "--client", client, "--n", str(n),
        "--endpoint", endpoint, "--stubs", stubs_dir,
    ]  # fmt: skip


def _run_one(job: tuple[str, str], n: int, endpoint: str, stubs_dir: str, out_dir: Path) -> int:
    out = out_dir / f"{job[0]}.{job[1]}.{n}.out"
    # Byte-code is compiled beforehand (precompile) and never written by the children, so no
    # run pays for compiling a module that another run compiled first.
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
    cmd = _command(job, n, endpoint, stubs_dir, out)
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return read_total(out)


def _sizes(scenario: str, quick: bool) -> int:
    if scenario == "range":
        return 2
    return 150 if quick else 300


def precompile(stubs_dir: str) -> None:
    """Write the .pyc of the generated stubs and of bench/, so the children only load them."""
    for directory in (stubs_dir, str(Path(__file__).parent)):
        compileall.compile_dir(directory, quiet=1)


def measure(endpoint: str, stubs_dir: str, quick: bool, keep_dir: str | None) -> dict[str, Any]:
    """Instructions per op for every job, and the etcdmap / raw ratios."""
    precompile(stubs_dir)
    out_dir = Path(keep_dir or tempfile.mkdtemp(prefix="etcdmap-callgrind-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = [(job, m * _sizes(job[0], quick)) for job in JOBS for m in (1, 2)]
    with ThreadPoolExecutor(2) as pool:
        totals = list(pool.map(lambda r: _run_one(r[0], r[1], endpoint, stubs_dir, out_dir), runs))
    if keep_dir is None:
        shutil.rmtree(out_dir, ignore_errors=True)
    per_op = _per_op(runs, totals)
    return {"per_op": per_op, "ratios": _ratios(per_op), "n": {s: _sizes(s, quick) for s in WARMUP}}


def _per_op(runs: list[tuple[tuple[str, str], int]], totals: list[int]) -> dict[str, Any]:
    by_run = {(job, n): total for (job, n), total in zip(runs, totals, strict=True)}
    per_op: dict[str, dict[str, float]] = {}
    for (scenario, client), n in runs[::2]:
        delta = by_run[((scenario, client), 2 * n)] - by_run[((scenario, client), n)]
        per = delta / n / (RANGE_KEYS if scenario == "range" else 1)
        per_op.setdefault(scenario, {})[client] = per
    return per_op


def _ratios(per_op: dict[str, dict[str, float]]) -> dict[str, float]:
    ratios = {}
    for scenario, clients in per_op.items():
        for mine, raw in PAIRS:
            if mine in clients and raw in clients:
                ratios[f"{scenario}:{mine}/{raw}"] = clients[mine] / clients[raw]
    return ratios
