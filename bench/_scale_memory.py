"""Million-key mirror (issue 21, point 1): load time against one whole-range get, kept and
peak memory per key, apply rate of a live writer, relist after compaction.

One etcd server (``etcdmap.testing.EtcdServer`` with an 8 GiB quota, data directory under
``--data-root``) holds ``--keys`` keys of ``--value-bytes`` bytes under one prefix. Figures:

- ``whole-range get s``: one Range of the prefix with the raw protoc stub (``grpc`` channel
  with no receive limit), reading every kv's key and value; paged by ``--raw-page`` keys per
  Range when given (etcd itself sends any response under 2 GiB).
- ``mirror load s``: ``Mirror`` start to synced, in a fresh untraced process; ``ratio`` is
  that over the get's time (goal <= 1.3).
- ``kept B/key over raw``: tracemalloc's traced bytes after the load (and a gc) minus before,
  minus the raw bytes (full key + value) of every key, per key (goal <= 64); ``kept RSS``
  the process's resident set growth, for comparison (it also holds gRPC's C buffers).
- ``peak load``: tracemalloc's peak during the load over the kept copy (x kept), and VmHWM.
- ``apply /s``: events per second the mirror applies while a writer process puts as fast as
  it can (64 in flight), measured from the writer's start to the mirror reaching its last
  revision.
- ``relist s`` / ``relist peak``: the mirror's connection (through a TCP relay of this
  process) is cut, 1 % of the keys are modified, 1 % deleted and 1 % added, the server is
  compacted past the mirror's revision and the relay restored: the mirror's resumed watch
  meets the compaction and relists. Time from the restore to the copy at the new revision;
  tracemalloc's peak during it over the kept copy before it (goal <= 1.5x).

    PYTHONPATH=. nice -n 10 /work/main/.venv/bin/python bench/_scale_memory.py --keys 100000

``--packed`` measures mirrors with ``packed=True`` (values kept as bytes in a
``PackedTable``) instead of the default dict.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import generate_stubs, load_stubs, prefix_end  # noqa: E402

PREFIX = "/scale-memory/"
QUOTA = 8 * 2**30


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of this bench (the dispatcher adds them to its sub-command)."""
    parser.add_argument("--keys", type=int, default=1_000_000, help="keys (default 1,000,000)")
    parser.add_argument("--value-bytes", type=int, default=100)
    parser.add_argument("--page-size", type=int, default=10_000, help="mirror's keys per Range")
    parser.add_argument("--raw-page", type=int, default=0, help="keys per raw Range (0: one)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (median)")
    parser.add_argument("--writer-seconds", type=float, default=5.0)
    parser.add_argument(
        "--data-root", default="/dev/shm" if os.path.isdir("/dev/shm") else None,
        help="where etcd's data directory goes (default /dev/shm)",
    )  # fmt: skip
    parser.add_argument(
        "--packed", action="store_true", help="mirrors with packed=True (default: the dict)"
    )
    parser.add_argument("--out", type=Path, help="also write the figures here as JSON")


# --------------------------------------------------------------------------- helpers


def key_of(i: int) -> str:
    return f"{PREFIX}{i:09d}"


def value_of(i: int, size: int, tag: bytes = b"v") -> bytes:
    return (tag + str(i).encode()).ljust(size, b".")


def rss() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process in bytes."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(rest.split()[0]) * 1024
    return fields["VmRSS"], fields["VmHWM"]


def reset_hwm() -> None:
    """Reset VmHWM to the current RSS (Linux: write 5 to clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


async def _txns(endpoint: str, keys: range, op: Callable[[int], Any]) -> None:
    from etcdmap import AsyncClient

    async with AsyncClient([endpoint]) as c:
        queue = [keys[i:i + 128] for i in range(0, len(keys), 128)]

        async def work() -> None:
            while queue:
                await c.txn(success=[op(i) for i in queue.pop()], timeout=60)

        await asyncio.gather(*(work() for _ in range(16)))


def fill(endpoint: str, keys: range, size: int, tag: bytes = b"v") -> None:
    """Put ``keys`` (their numbers; Txns of 128 puts, 16 in flight)."""
    from etcdmap import Op

    asyncio.run(_txns(endpoint, keys, lambda i: Op.put(key_of(i), value_of(i, size, tag))))


def drift(endpoint: str, n: int, size: int, turn: int) -> None:
    """What a mirror misses while away: 1 % of the keys modified, 1 % deleted, 1 % added
    (other keys in each ``turn``)."""
    from etcdmap import Op

    fill(endpoint, range(2 * turn, n, 100), size, tag=b"m%d" % turn)
    asyncio.run(_txns(endpoint, range(2 * turn + 1, n, 100), lambda i: Op.delete(key_of(i))))
    fill(endpoint, range(n + turn * (n // 100), n + (turn + 1) * (n // 100)), size)


def raw_get(endpoint: str, page: int) -> tuple[float, int, int]:
    """Seconds, keys and raw bytes of one whole-range get with the raw stub."""
    import grpc

    stubs = load_stubs(generate_stubs())
    pb2 = stubs.pb2
    options = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
    with grpc.insecure_channel(endpoint, options=options) as channel:
        stub = stubs.grpc_pb2.KVStub(channel)
        start, end = PREFIX.encode(), prefix_end(PREFIX.encode())
        stub.Range(pb2.RangeRequest(key=start, range_end=end, count_only=True))  # connect
        gc.collect()
        t0 = time.perf_counter()
        keys = raw = revision = 0
        while True:
            reply = stub.Range(pb2.RangeRequest(
                key=start, range_end=end, limit=page, revision=revision,
            ), timeout=600)  # fmt: skip
            revision = revision or reply.header.revision
            for kv in reply.kvs:
                raw += len(kv.key) + len(kv.value)
                keys += 1
            if not reply.more:
                break
            start = reply.kvs[-1].key + b"\x00"
        seconds = time.perf_counter() - t0
    return seconds, keys, raw


class Relay:
    """A TCP relay to ``endpoint`` whose connections can be cut and restored."""

    def __init__(self, endpoint: str) -> None:
        host, port = endpoint.rsplit(":", 1)
        self.target = (host, int(port))
        self.server = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"127.0.0.1:{self.server.getsockname()[1]}"
        self.open = True
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(1 << 16):
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        self.open = False
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def restore(self) -> None:
        self.open = True

    def close(self) -> None:
        self.cut()
        self.server.close()


# --------------------------------------------------------------------------- child modes


def _mirror(c: Any, page_size: int, **options: Any) -> Any:
    from etcdmap import Mirror

    packed = os.environ.get("SCALE_MEMORY_PACKED") == "1"  # set by --packed for every child
    m = Mirror(c, PREFIX, page_size=page_size, timeout=600, packed=packed, **options)
    m.start()
    m.wait_synced()
    return m


def child_time(endpoint: str, page_size: int) -> dict[str, Any]:
    """Untraced: seconds from start to synced."""
    from etcdmap import Client

    with Client([endpoint]) as c:
        c.get(PREFIX, count_only=True)
        gc.collect()
        t0 = time.perf_counter()
        m = _mirror(c, page_size)
        seconds = time.perf_counter() - t0
        keys = len(m)
        m.close()
    return {"seconds": seconds, "keys": keys}


def child_memory(endpoint: str, page_size: int, traced: bool) -> None:
    """A load, then (told on stdin) a relist, ``traced`` by tracemalloc or not (then the
    times count): prints one JSON line per phase."""
    from etcdmap import Client, MirrorState

    times: dict[str, float] = {}

    def state(old: MirrorState, new: MirrorState) -> None:
        times.setdefault(new.value, time.perf_counter())

    with Client([endpoint]) as c:
        c.get(PREFIX, count_only=True)
        gc.collect()
        rss0, _ = rss()
        reset_hwm()
        if traced:
            tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        t0 = time.perf_counter()
        m = _mirror(c, page_size, on_state_change=state, progress_interval=3600,
                    degraded_after=3600)  # fmt: skip
        load_s = time.perf_counter() - t0
        gc.collect()
        kept, peak = tracemalloc.get_traced_memory()
        rss1, hwm1 = rss()
        raw = sum(len(PREFIX) + len(k.encode()) + len(v) for k, v in m.local().items())
        print(json.dumps({
            "keys": len(m), "raw": raw, "kept": kept - base, "load_s": load_s, "peak": peak - base,
            "kept_rss": rss1 - rss0, "peak_rss": hwm1 - rss0, "revision": m.revision,
        }), flush=True)  # fmt: skip
        target = int(sys.stdin.readline())  # the relay is cut, writes made, compacted
        gc.collect()
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        rss2, _ = rss()
        reset_hwm()
        times.clear()
        print("go", flush=True)
        sys.stdin.readline()  # the relay is restored
        t0 = time.perf_counter()
        deadline = time.monotonic() + 600
        while not (m.relists and m.revision >= target) and time.monotonic() < deadline:
            time.sleep(0.01)
        done = time.perf_counter()
        now, peak2 = tracemalloc.get_traced_memory()
        _, hwm2 = rss()
        print(json.dumps({
            "relists": m.relists, "relist_s": done - t0,
            "relist_diff_s": done - times.get("relisting", t0),
            "before": before - base, "relist_peak": peak2 - base, "after": now - base,
            "relist_peak_rss": hwm2 - rss0, "before_rss": rss2 - rss0, "keys": len(m),
            "after_rss": rss()[0] - rss0,
        }), flush=True)  # fmt: skip
        tracemalloc.stop()
        m.close()


async def _write(endpoint: str, seconds: float, size: int) -> int:
    from etcdmap import AsyncClient

    last = 0
    async with AsyncClient([endpoint]) as c:
        deadline = time.monotonic() + seconds

        async def work(w: int) -> None:
            nonlocal last
            i = 0
            while time.monotonic() < deadline:
                reply = await c.put(f"{PREFIX}w{w:02d}-{i % 1000:04d}", value_of(i, size, b"w"))
                last = max(last, reply.header.revision)
                i += 1

        await asyncio.gather(*(work(w) for w in range(64)))
    return last


def child_writer(endpoint: str, seconds: float, size: int) -> None:
    print(asyncio.run(_write(endpoint, seconds, size)), flush=True)


# --------------------------------------------------------------------------- parent


def _python(*args: str) -> list[str]:
    return [sys.executable, __file__, *args]


def apply_rate(endpoint: str, args: argparse.Namespace) -> dict[str, Any]:
    from etcdmap import Client

    with Client([endpoint]) as c:
        m = _mirror(c, args.page_size)
        first = m.revision
        t0 = time.perf_counter()
        out = subprocess.run(
            _python("--child-writer", endpoint, str(args.writer_seconds), str(args.value_bytes)),
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        last = int(out.split()[-1])
        m.wait_for(last, timeout=600)
        seconds = time.perf_counter() - t0
        events = last - first
        m.close()
    return {"events": events, "seconds": seconds, "per_s": events / seconds}


def relist(server: Any, args: argparse.Namespace, traced: bool) -> dict[str, Any]:
    """A mirror in a child process through a relay; cut, drift, compact, restore."""
    from etcdmap import Client

    n, size = args.keys, args.value_bytes
    relay = Relay(server.endpoint)
    proc = subprocess.Popen(
        _python("--child-memory", relay.endpoint, str(args.page_size), str(int(traced))),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdin is not None
        load = json.loads(proc.stdout.readline())
        relay.cut()
        drift(server.endpoint, n, size, int(not traced))
        with Client([server.endpoint]) as c:
            target = c.get(PREFIX, count_only=True).header.revision
            c.compact(target)
        proc.stdin.write(f"{target}\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "go"
        relay.restore()
        proc.stdin.write("restored\n")
        proc.stdin.flush()
        relist = json.loads(proc.stdout.readline())
        proc.wait(600)
    finally:
        if proc.poll() is None:
            proc.kill()
        relay.close()
    return {"load": load, "relist": relist}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start a server, fill it, measure; print the table and return the figures."""
    n, size = args.keys, args.value_bytes
    if args.packed:  # the children read it: they measure the mirrors
        os.environ["SCALE_MEMORY_PACKED"] = "1"
    root = tempfile.mkdtemp(prefix="etcdmap-scale-memory-", dir=args.data_root)
    extra = ["--quota-backend-bytes", str(QUOTA)]
    result: dict[str, Any] = {
        "keys": n, "value_bytes": size, "page_size": args.page_size, "packed": args.packed,
    }  # fmt: skip
    try:
        _measure(result, root, extra, args)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    import etcdmap

    result["etcdmap"] = str(Path(etcdmap.__file__).parent)
    report(result)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    return result


def _measure(result: dict[str, Any], root: str, extra: list[str], args: Any) -> None:
    from etcdmap.testing import EtcdServer

    n, size = args.keys, args.value_bytes
    with EtcdServer(data_dir=Path(root) / "data", extra_args=extra) as server:
        endpoint = server.endpoint
        t0 = time.perf_counter()
        fill(endpoint, range(n), size)
        result["fill_s"] = time.perf_counter() - t0
        gets, loads = [], []
        for _ in range(args.rounds):
            gets.append(raw_get(endpoint, args.raw_page))
            out = subprocess.run(
                _python("--child-time", endpoint, str(args.page_size)),
                check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            loads.append(json.loads(out.splitlines()[-1])["seconds"])
        result["get_rounds_s"] = [g[0] for g in gets]
        result["load_rounds_s"] = loads
        result["get_s"] = sorted(g[0] for g in gets)[len(gets) // 2]
        result["load_s"] = sorted(loads)[len(loads) // 2]
        result["ratio"] = result["load_s"] / result["get_s"]
        result["apply"] = apply_rate(endpoint, args)
        mem = relist(server, args, traced=True)
        untraced = relist(server, args, traced=False)
    load, relisted = mem["load"], mem["relist"]
    timed = untraced["relist"]
    keys = load["keys"]
    result.update(
        kept_b_per_key=(load["kept"] - load["raw"]) / keys,
        kept_rss_b_per_key=(load["kept_rss"] - load["raw"]) / keys,
        kept_mib=load["kept"] / 2**20,
        peak_load_mib=load["peak"] / 2**20,
        peak_load_x=load["peak"] / load["kept"],
        peak_load_rss_mib=load["peak_rss"] / 2**20,
        load_traced_s=load["load_s"],
        relist_s=timed["relist_s"],
        relist_diff_s=timed["relist_diff_s"],
        relist_peak_x=relisted["relist_peak"] / relisted["before"],
        relist_peak_mib=relisted["relist_peak"] / 2**20,
        relist_peak_rss_x=timed["relist_peak_rss"] / timed["before_rss"],
        relist_keys=relisted["keys"],
        runs={"traced": mem, "untraced": untraced},
    )


def report(r: dict[str, Any]) -> None:
    a = r["apply"]
    rows = [
        ("keys x value bytes", f"{r['keys']:,} x {r['value_bytes']}", ""),
        ("store", "packed=True" if r["packed"] else "dict (default)", ""),
        ("whole-range get (raw stub) s", f"{r['get_s']:.2f}", ""),
        ("mirror load s", f"{r['load_s']:.2f}", ""),
        ("load / get", f"{r['ratio']:.2f}", "<= 1.3"),
        ("kept B/key over raw (tracemalloc)", f"{r['kept_b_per_key']:.0f}", "<= 64"),
        ("kept B/key over raw (RSS)", f"{r['kept_rss_b_per_key']:.0f}", ""),
        ("kept MiB (tracemalloc)", f"{r['kept_mib']:.0f}", ""),
        ("peak during load MiB (x kept)", f"{r['peak_load_mib']:.0f} ({r['peak_load_x']:.2f}x)",
         ""),
        ("peak RSS growth during load MiB", f"{r['peak_load_rss_mib']:.0f}", ""),
        ("apply rate, live writer /s", f"{a['per_s']:,.0f} ({a['events']:,} ev)", ""),
        ("relist after compaction s", f"{r['relist_s']:.2f} (diff {r['relist_diff_s']:.2f})",
         ""),
        ("relist peak MiB (x kept)", f"{r['relist_peak_mib']:.0f} ({r['relist_peak_x']:.2f}x)",
         "<= 1.5x"),
        ("relist peak RSS (x RSS before)", f"{r['relist_peak_rss_x']:.2f}x", ""),
    ]
    print(f"etcdmap from {r['etcdmap']}")
    print(f"{'':36} {'value':>22} {'goal':>8}")
    for name, value, goal in rows:
        print(f"{name:36} {value:>22} {goal:>8}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_arguments(parser)
    parser.add_argument("--child-time", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--child-memory", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--child-writer", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_time:
        print(json.dumps(child_time(args.child_time[0], int(args.child_time[1]))))
    elif args.child_memory:
        endpoint, page_size, traced = args.child_memory
        child_memory(endpoint, int(page_size), traced == "1")
    elif args.child_writer:
        endpoint, seconds, size = args.child_writer
        child_writer(endpoint, float(seconds), int(size))
    else:
        run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
