"""EtcdMap iteration: paged snapshot passes vs one whole-range get vs python-etcd3's get_prefix,
and typed (msgspec Struct) items() vs stdlib json decoding.

100,000 keys with 100-byte JSON values under one prefix of a local etcd the script starts.
Every measurement runs in a fresh child process: ``peak MiB`` is the child's peak resident
memory during the pass (VmHWM, reset just before it through /proc/self/clear_refs) minus its
RSS at that moment (client connected, one warm-up read done), so it counts C allocations
(gRPC buffers, protobuf messages) as well as Python objects. Each child makes three passes and
reports their median time and largest peak; each scenario runs ``--rounds`` children, in a
rotating order; the table shows medians. Prints a table and writes bench/results/mapping.json.

Paging costs a request per page; on etcd 3.5 a Range with a limit also counts every key from its
start to its range end, which ``get_pages`` keeps to about 1.5 pages by reading windows of the
range (see ``etcdmap._core.kv.PagePlan``). The ``page_size=5000`` row shows the trade.

The config-store figures (``--config-store``, ~30 s, their own table and
bench/results/mapping-config-store.json): ``history()`` of a key with 1,000 versions against
1,000 ``get(revision=)`` calls, and ``plan()`` + ``apply()`` of a 10,000-key document with 1%
of its keys changed against ``update()`` of every key. Requests are KV RPCs (client hooks)
plus, for a history, its one watch and the watch responses it read (``History.pages``).

    /work/venv/bin/python bench/mapping.py            # ~1 min
    /work/venv/bin/python bench/mapping.py --quick    # 20,000 keys, 2 rounds
    /work/venv/bin/python bench/mapping.py --config-store
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import etcd_server, fmt, generate_stubs  # noqa: E402

PREFIX = "/bench-map/"
VALUE_BYTES = 100
OUT = Path(__file__).resolve().parent / "results" / "mapping.json"
CONFIG_STORE_OUT = Path(__file__).resolve().parent / "results" / "mapping-config-store.json"
ETCD3_VENV = Path("/tmp/bench-etcd3")
PASSES = 3  # per child process
STUBS_DIR = ""  # the raw stubs protoc generated, for the raw-windows reference pass
PAIRED = "paired: paged items() / whole-range get"
SCENARIOS = {
    "paged items()": "etcdmap EtcdMap(codec=Raw(), page_size=1000).items(): key and bytes value",
    "paged items() page_size=5000": "the same with pages of 5,000 keys",
    "paged keys()": "etcdmap EtcdMap.keys(): keys-only pages",
    "whole-range get": "etcdmap Client.get_prefix(): one Range with every key and value",
    "python-etcd3 get_prefix": "python-etcd3 0.12 Etcd3Client.get_prefix(), in its own venv",
    "typed items()": "EtcdMap(value_type=Record).items(): msgspec JSON -> Struct, validated",
    "paged + json.loads": "EtcdMap(codec=Raw()).items() then json.loads(value) -> dict",
}


def record_value(i: int) -> bytes:
    """A JSON object of exactly VALUE_BYTES bytes (a ``Record``)."""
    head = f'{{"id":{i},"owner":"user-{i % 97}","score":{i % 1000 / 7:.3f},"note":"'
    return (head + "x" * (VALUE_BYTES - len(head) - 2) + '"}').encode()


# --------------------------------------------------------------------------- child passes


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak_rss() -> int:
    """Reset the process's peak RSS (VmHWM) to its current RSS and return that, in KiB.

    Writing 5 to /proc/self/clear_refs (Linux >= 4.0) does the reset, so imports and client
    start-up do not count towards the pass's peak.
    """
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    return _status_kib("VmRSS")


def child(name: str, endpoint: str, n: int, stubs_dir: str) -> dict[str, Any]:
    """One pass of scenario ``name`` over the prefix; runs in a fresh process."""
    if name == "python-etcd3 get_prefix":
        import etcd3  # type: ignore[import-not-found]

        host, port = endpoint.rsplit(":", 1)
        client: Any = etcd3.client(host, int(port), grpc_options=[
            ("grpc.max_receive_message_length", -1)])  # fmt: skip
        client.get("/warm-up")

        def run() -> int:
            count = 0
            for value, meta in client.get_prefix(PREFIX):
                count += bool(meta.key) + 0 * len(value)
            return count

        return _measure(run, n)

    import msgspec

    import etcdmap

    class Record(msgspec.Struct):
        id: int
        owner: str
        score: float
        note: str

    client = etcdmap.Client([endpoint])
    client.get("/warm-up")
    raw: etcdmap.EtcdMap[bytes] = etcdmap.EtcdMap(client, PREFIX)
    big: etcdmap.EtcdMap[bytes] = etcdmap.EtcdMap(client, PREFIX, page_size=5000)
    whole: etcdmap.EtcdMap[bytes] = etcdmap.EtcdMap(client, PREFIX, page_size=n)
    typed: etcdmap.EtcdMap[Record] = etcdmap.EtcdMap(client, PREFIX, value_type=Record)

    def paged_items(m: etcdmap.EtcdMap[bytes] = raw) -> int:
        count = 0
        for key, value in m.items():
            count += bool(key) + 0 * len(value)
        return count

    def paged_keys() -> int:
        return sum(1 for _ in raw.keys())

    def whole_range() -> int:
        count = 0
        for kv in client.get_prefix(PREFIX).kvs:
            count += bool(kv.key) + 0 * len(kv.value)
        return count

    def typed_items() -> int:
        count = 0
        for _, record in typed.items():
            count += record.id >= 0
        return count

    def stdlib_json() -> int:
        count = 0
        for _, value in raw.items():
            count += json.loads(value)["id"] >= 0
        return count

    runs = {
        "paged items()": paged_items,
        "paged items() page_size=5000": lambda: paged_items(big),
        "paged keys()": paged_keys,
        "whole-range get": whole_range,
        "typed items()": typed_items,
        "paged + json.loads": stdlib_json,
    }
    try:
        if name == PAIRED:
            passes = {
                "whole": whole_range,
                "paged": paged_items,
                "raw": raw_windows(endpoint, stubs_dir, n),
                "one_range": lambda: paged_items(whole),
            }
            return _paired(passes, n)
        return _measure(runs[name], n)
    finally:
        client.close()


def raw_windows(endpoint: str, stubs_dir: str, n: int) -> Any:
    """A pass with the raw generated sync stub over ideal 1,000-key windows (the bench knows
    the key names): what a Range per page costs the server and gRPC, with no planning and no
    decoding. The ceiling for a paged pass at page_size=1000."""
    import grpc
    from _common import load_stubs, prefix_end
    from _kvclients import channel_options

    stubs = load_stubs(stubs_dir)
    channel = grpc.insecure_channel(endpoint, options=channel_options())
    stub, request = stubs.grpc_pb2.KVStub(channel), stubs.pb2.RangeRequest
    prefix = PREFIX.encode()
    bounds = [prefix + b"%08d" % i for i in range(0, n, 1000)] + [prefix_end(prefix)]

    def run() -> int:
        count, revision = 0, 0
        for start, end in zip(bounds, bounds[1:], strict=False):
            page = stub.Range(request(key=start, range_end=end, limit=1000, revision=revision))
            revision = revision or page.header.revision
            for kv in page.kvs:
                count += bool(kv.key) + 0 * len(kv.value)
        return count

    return run


def _paired(passes: dict[str, Any], n: int) -> dict[str, list[float]]:
    """``PASSES`` rounds of ``passes`` back to back in this process, the order rotating: the
    throughput of each over that of ``passes["whole"]`` round by round (less exposed to the
    machine's swings than passes in processes seconds apart), and of ``paged`` over
    ``one_range`` (the same items() in one Range: what paging alone costs)."""
    ratios: dict[str, list[float]] = {name: [] for name in [*passes, "paged_vs_one_range"]}
    names = list(passes)
    for i in range(PASSES):
        seconds = {}
        for name in names[i % len(names) :] + names[: i % len(names)]:
            start = time.perf_counter()
            if passes[name]() != n:
                raise RuntimeError(f"a {name} pass did not see {n} keys")
            seconds[name] = time.perf_counter() - start
        for name in passes:
            ratios[name].append(seconds["whole"] / seconds[name])
        ratios["paged_vs_one_range"].append(seconds["one_range"] / seconds["paged"])
    return ratios


def _measure(run: Any, n: int) -> dict[str, Any]:
    """``PASSES`` passes in this process: the median time, the largest peak memory."""
    times, peaks = [], []
    for _ in range(PASSES):
        before = reset_peak_rss()
        start = time.perf_counter()
        count = run()
        times.append(time.perf_counter() - start)
        peaks.append(max(0, _status_kib("VmHWM") - before) / 1024)
        if count != n:
            raise RuntimeError(f"pass saw {count} keys, expected {n}")
    return {"keys": n, "seconds": statistics.median(times), "peak_mib": max(peaks)}


# --------------------------------------------------------------------------- parent


def etcd3_python() -> tuple[str | None, str]:
    """python-etcd3's interpreter (the venv bench/watch.py builds), or None and why."""
    try:
        from watch import etcd3_python as build
    except Exception as error:  # noqa: BLE001 - report, do not fail the other scenarios
        return None, f"bench/watch.py not importable: {error}"
    return build(ETCD3_VENV)


def load(endpoint: str, n: int) -> None:
    import etcdmap

    with etcdmap.Client([endpoint]) as client:
        m: etcdmap.EtcdMap[bytes] = etcdmap.EtcdMap(client, PREFIX)
        m.clear()
        batch = 10_000
        for first in range(0, n, batch):
            m.update({f"{i:08d}": record_value(i) for i in range(first, min(n, first + batch))})
        assert len(m) == n


# --------------------------------------------------------------------------- config store


def config_store(endpoint: str, rounds: int, versions: int, keys: int) -> dict[str, Any]:
    """The history and plan/apply figures, each the median of ``rounds`` runs."""
    import etcdmap
    from etcdmap.metrics import ClientHooks

    class Count(ClientHooks):
        def __init__(self) -> None:
            self.kv = 0

        def rpc_started(self, method: str, metadata: list[tuple[str, str]]) -> object:
            self.kv += method.startswith("KV/")
            return None

    calls = Count()
    runs: dict[str, list[dict[str, float]]] = {}

    def measure(name: str, run: Any) -> None:
        calls.kv = 0
        started = time.perf_counter()
        requests, written = run()
        seconds = time.perf_counter() - started
        runs.setdefault(name, []).append(
            {"seconds": seconds, "requests": calls.kv + requests, "written": written}
        )

    with etcdmap.Client([endpoint], hooks=calls) as client:
        m: etcdmap.EtcdMap[int] = etcdmap.EtcdMap(client, "/bench-history/", value_type=int)
        for version in range(versions):
            m["key"] = version
        revisions = [v.revision for v in m.history("key")]
        assert len(revisions) == versions

        def history() -> tuple[int, int]:
            found = m.history("key")
            assert len(found) == versions
            return 1 + found.pages, 0  # the watch and its responses

        def gets() -> tuple[int, int]:
            values = [m.value_at("key", revision) for revision in revisions]
            assert values == list(range(versions))
            return 0, 0

        doc: etcdmap.EtcdMap[Any] = etcdmap.EtcdMap(client, "/bench-apply/", value_type=Any)
        doc.clear()
        document = {f"k{i:05}": {"id": i, "owner": f"user-{i % 97}"} for i in range(keys)}
        doc.update(document)
        changed = max(1, keys // 100)

        def apply(round_: int) -> tuple[int, int]:
            for i in range(changed):
                document[f"k{(round_ * changed + i) * 37 % keys:05}"] = {"id": -round_}
            before = client.get("/").header.revision
            plan = doc.apply(document)
            assert plan.writes == changed and client.get("/").header.revision == before + 1
            return 0, plan.writes

        def update() -> tuple[int, int]:
            return 0, doc.update(document).written

        for round_ in range(1, rounds + 1):
            measure("history()", history)
            measure("get(revision=) per version", gets)
            measure("plan() + apply()", lambda r=round_: apply(r))
            measure("update() of every key", update)
    rows = {}
    for name, results in runs.items():
        rows[name] = {
            key: statistics.median(run[key] for run in results)
            for key in ("seconds", "requests", "written")
        } | {"runs": results}
    return {"versions": versions, "keys": keys, "rounds": rounds, "rows": rows}


def print_config_store(figures: dict[str, Any]) -> None:
    print(
        f"\nhistory of a key with {figures['versions']:,} versions; plan + apply of a "
        f"{figures['keys']:,}-key document with 1% changed (median of {figures['rounds']})\n"
    )
    print(f"{'scenario':<30}{'requests':>10}{'keys written':>14}{'seconds':>10}")
    for name, row in figures["rows"].items():
        print(
            f"{name:<30}{fmt(row['requests']):>10}{fmt(row['written']):>14}"
            f"{fmt(row['seconds'], '.3f'):>10}"
        )


def run_child(python: str, name: str, endpoint: str, n: int) -> dict[str, Any]:
    cmd = [python, __file__, "--child", name, "--endpoint", endpoint, "--n", str(n)]
    cmd += ["--stubs", STUBS_DIR]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 keys, 2 rounds")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--config-store", action="store_true", help="only the history and plan/apply figures"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--stubs", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=100_000, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.endpoint, args.n, args.stubs)))
        return 0

    if args.config_store:
        with etcd_server() as endpoint:
            figures = config_store(endpoint, args.rounds or 3, 1000, 10_000)
        print_config_store(figures)
        out = args.out or CONFIG_STORE_OUT
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"\nwrote {out}")
        return 0

    global STUBS_DIR
    STUBS_DIR = generate_stubs()
    n = 20_000 if args.quick else 100_000
    rounds = args.rounds or (2 if args.quick else 3)
    etcd3, etcd3_note = etcd3_python()
    results: dict[str, Any] = {}
    with etcd_server() as endpoint:
        load(endpoint, n)
        for r in range(rounds):
            names = list(SCENARIOS)
            names = names[r % len(names):] + names[: r % len(names)]  # vary the order
            results.setdefault(PAIRED, []).append(run_child(sys.executable, PAIRED, endpoint, n))
            for name in names:
                python = etcd3 if name.startswith("python-etcd3") else sys.executable
                if python is None:
                    continue
                results.setdefault(name, []).append(run_child(python, name, endpoint, n))

    rows = {}
    for name, description in SCENARIOS.items():
        runs = results.get(name)
        if not runs:
            rows[name] = {"description": description, "available": False, "note": etcd3_note}
            continue
        seconds = statistics.median(run["seconds"] for run in runs)
        rows[name] = {
            "description": description,
            "available": True,
            "keys_per_s": n / seconds,
            "peak_mib": statistics.median(run["peak_mib"] for run in runs),
            "runs": runs,
        }
    base = rows["whole-range get"]
    paged = rows["paged items()"]
    def paired_ratios(name: str) -> list[float]:
        return sorted(ratio for run in results[PAIRED] for ratio in run[name])

    paired, raw = paired_ratios("paged"), paired_ratios("raw")
    one_range, paging = paired_ratios("one_range"), paired_ratios("paged_vs_one_range")
    summary = {
        "paged_vs_whole_range_throughput": statistics.median(paired),
        "paged_vs_whole_range_throughput_paired": paired,
        "paged_vs_whole_range_throughput_of_medians": paged["keys_per_s"] / base["keys_per_s"],
        "raw_stub_windows_vs_whole_range_throughput": statistics.median(raw),
        "raw_stub_windows_vs_whole_range_throughput_paired": raw,
        "one_range_items_vs_whole_range_throughput": statistics.median(one_range),
        "one_range_items_vs_whole_range_throughput_paired": one_range,
        "paged_vs_one_range_items_throughput": statistics.median(paging),
        "paged_vs_one_range_items_throughput_paired": paging,
        "paged_vs_whole_range_memory": paged["peak_mib"] / max(base["peak_mib"], 1e-9),
        "typed_vs_json_loads_throughput": rows["typed items()"]["keys_per_s"]
        / rows["paged + json.loads"]["keys_per_s"],
        "targets": {"memory_ratio_below": 0.1, "throughput_ratio_at_least": 0.8},
    }

    print(f"\n{n:,} keys x {VALUE_BYTES}-byte values, median of {rounds} rounds "
          f"(each a fresh process)\n")  # fmt: skip
    print(f"{'scenario':<30}{'keys/s':>12}{'peak MiB':>10}")
    for name, row in rows.items():
        if row["available"]:
            print(f"{name:<30}{fmt(row['keys_per_s']):>12}{fmt(row['peak_mib'], '.1f'):>10}")
        else:
            print(f"{name:<30}{'unavailable':>22}  ({row['note']})")
    print(
        f"\npaged items() vs whole-range get: throughput "
        f"{summary['paged_vs_whole_range_throughput']:.0%} (target >= 80%; median of "
        f"{len(paired)} paired passes, {paired[0]:.0%}-{paired[-1]:.0%}; the medians above: "
        f"{summary['paged_vs_whole_range_throughput_of_medians']:.0%}), peak memory "
        f"{summary['paged_vs_whole_range_memory']:.1%} (target < 10%)\n"
        f"raw sync stub over ideal 1,000-key windows vs whole-range get, same paired passes: "
        f"{summary['raw_stub_windows_vs_whole_range_throughput']:.0%} "
        f"({raw[0]:.0%}-{raw[-1]:.0%})\n"
        f"items() in one Range (page_size={n:,}) vs whole-range get, same paired passes: "
        f"{summary['one_range_items_vs_whole_range_throughput']:.0%} "
        f"({one_range[0]:.0%}-{one_range[-1]:.0%}): decoding into pairs, no paging\n"
        f"paged items() vs items() in one Range, same paired passes: "
        f"{summary['paged_vs_one_range_items_throughput']:.0%} "
        f"({paging[0]:.0%}-{paging[-1]:.0%}): paging alone\n"
        f"typed items() vs paged + json.loads: {summary['typed_vs_json_loads_throughput']:.2f}x"
    )
    (args.out or OUT).parent.mkdir(parents=True, exist_ok=True)
    report = {
        "keys": n,
        "value_bytes": VALUE_BYTES,
        "rounds": rounds,
        "python": platform.python_version(),
        "python_etcd3": etcd3_note,
        "memory": "child peak RSS during the pass (VmHWM reset before it) minus RSS before it",
        "scenarios": rows,
        "summary": summary,
    }
    (args.out or OUT).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out or OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
