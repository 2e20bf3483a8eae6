"""Helpers shared by the benchmarks: the local etcd server, the raw protoc stubs, formatting.

Only the standard library is imported at module level, so a consumer running in another
interpreter (the python-etcd3 bench venv of ``bench/watch.py``) can import this module too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PROTO_DIRS = ("etcdserverpb", "mvccpb", "authpb")


# --------------------------------------------------------------------------- etcd server


def binary(name: str) -> str:
    """Path of the etcd distribution's ``name`` binary (etcd, etcdctl, etcdutl)."""
    from etcdmap.testing import find_binary

    return find_binary(name)


@contextmanager
def etcd_server() -> Iterator[str]:
    """One local etcd server (``etcdmap.testing.EtcdServer``): its endpoint."""
    from etcdmap.testing import EtcdServer

    with EtcdServer() as server:
        yield server.endpoint


# --------------------------------------------------------------------------- raw stubs


@dataclass
class RawStubs:
    """The plain ``protoc`` output: ``rpc_pb2`` (messages) and ``rpc_pb2_grpc`` (the stubs)."""

    directory: str
    pb2: ModuleType
    grpc_pb2: ModuleType


def generate_stubs(out_dir: str | None = None) -> str:
    """Run grpc_tools.protoc over protos/{etcdserverpb,mvccpb,authpb} into a (temp) directory."""
    out = out_dir or tempfile.mkdtemp(prefix="etcdmap-bench-stubs-")
    protos = REPO / "protos"
    files = [str(p) for d in PROTO_DIRS for p in sorted((protos / d).glob("*.proto"))]
    cmd = [sys.executable, "-m", "grpc_tools.protoc", f"-I{protos}", f"--python_out={out}"]
    cmd += [f"--grpc_python_out={out}", *files]
    subprocess.run(cmd, check=True, capture_output=True)
    return out


def load_stubs(directory: str) -> RawStubs:
    """Import the generated modules (they register in protobuf's default pool)."""
    if directory not in sys.path:
        sys.path.insert(0, directory)
    from etcdserverpb import rpc_pb2, rpc_pb2_grpc  # type: ignore[import-not-found]

    return RawStubs(directory, rpc_pb2, rpc_pb2_grpc)


def prefix_end(prefix: bytes) -> bytes:
    """The range end of a prefix, as etcd's WithPrefix (prefix has no 0xff byte here)."""
    return prefix[:-1] + bytes([prefix[-1] + 1])


# --------------------------------------------------------------------------- runs and reports


def rotations(names: tuple[str, ...], rounds: int) -> Iterator[tuple[str, ...]]:
    """Each round starts with a different client, so drift hits all alike."""
    for r in range(rounds):
        k = r % len(names)
        yield names[k:] + names[:k]


def fmt(value: Any, spec: str = ",.0f") -> str:
    """``value`` formatted with ``spec``, or "-" for None."""
    return "-" if value is None else format(value, spec)


def callgrind_instructions(script: str, *args: str) -> int:
    """Instructions ``valgrind --tool=callgrind`` counts for ``python script args...`` (with
    this repository on ``PYTHONPATH`` unless it is set); ``SystemExit`` with the end of its
    output if the run fails."""
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out",
             sys.executable, script, *args],
            capture_output=True, text=True, timeout=1800, check=False,
            env={**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", str(REPO))},
        )  # fmt: skip
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode or found is None:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr[-2000:]}")
    return int(found.group(1))
