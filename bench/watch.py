"""Watch benchmark: etcdmap's Client / AsyncClient against the raw protoc-generated stubs,
python-etcd3 and aetcd.

    python bench/watch.py                   # A replay + B live + C callgrind, JSON to
                                            # bench/results/watch.json
    python bench/watch.py --quick           # fewer rounds and events
    python bench/watch.py --no-callgrind    # A and B only

See bench/README.md ("Watch") for what each column means.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import etcd_server, fmt, generate_stubs, prefix_end, rotations  # noqa: E402
from _kvcallgrind import precompile, read_total  # noqa: E402
from _kvclients import EtcdmapAsync, channel_options  # noqa: E402
from _kvwork import Sample, in_flight, keys, summarize  # noqa: E402
from _watchclients import CLIENTS  # noqa: E402

import etcdmap  # noqa: E402

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results" / "watch.json"
CONSUMER = str(BENCH / "_watchclients.py")
REPLAY_PREFIX = b"/replay/"
VALUE = b"v" * 64
KEY_WIDTH = 24
INFLIGHT = 64
ETCD3_VENV = Path("/tmp/bench-etcd3")
ETCD3_REQUIREMENTS = ("etcd3==0.12.0", "protobuf<3.21")
TARGET = 1.5
PAIRS = (("etcdmap-sync", "raw-sync"), ("etcdmap-async", "raw-aio"))
CALLGRIND_CLIENTS = ("etcdmap-sync", "raw-sync", "etcdmap-async", "raw-aio")
CHILD_TIMEOUT = 600


@dataclass
class Sizes:
    """Event counts and rounds of one run (``--quick`` makes them smaller)."""

    replay: int
    replay_rounds: int
    live: int
    live_rounds: int
    callgrind: int


FULL = Sizes(replay=20_000, replay_rounds=5, live=10_000, live_rounds=3, callgrind=5000)
QUICK = Sizes(replay=20_000, replay_rounds=3, live=5000, live_rounds=3, callgrind=2000)


# --------------------------------------------------------------------------- python-etcd3 venv


def etcd3_python(venv: Path) -> tuple[str | None, str]:
    """The interpreter of a venv holding python-etcd3, built on first use; or None and why.

    ``etcd3`` 0.12.0 (its last release) imports only with protobuf < 3.21, so it gets its own
    venv: ``python -m venv /tmp/bench-etcd3 && /tmp/bench-etcd3/bin/pip install
    'etcd3==0.12.0' 'protobuf<3.21'``.
    """
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import etcd3; print(etcd3.__version__)"]
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True,
                           capture_output=True, timeout=300)  # fmt: skip
        if subprocess.run(check, capture_output=True, timeout=60).returncode != 0:
            pip = [str(venv / "bin" / "pip"), "install", "-q", *ETCD3_REQUIREMENTS]
            subprocess.run(pip, check=True, capture_output=True, text=True, timeout=600)
        done = subprocess.run(check, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as error:
        detail = getattr(error, "stderr", None) or ""
        return None, f"cannot build {venv}: {error} {str(detail)[-300:]}".strip()
    if done.returncode != 0:
        return None, f"etcd3 does not import in {venv}: {done.stderr.strip()[-300:]}"
    return str(python), f"etcd3 {done.stdout.strip()} in {venv}"


# --------------------------------------------------------------------------- children


class Runner:
    """Starts consumer processes (and the live writer) against one server."""

    def __init__(self, endpoint: str, stubs_dir: str, etcd3: str | None) -> None:
        self.endpoint = endpoint
        self.stubs_dir = stubs_dir
        self.etcd3 = etcd3
        self.options = json.dumps(channel_options())

    def available(self, name: str) -> bool:
        return name != "python-etcd3" or self.etcd3 is not None

    def consumer_cmd(self, name: str, key: bytes, end: bytes, start: int, n: int) -> list[str]:
        python = self.etcd3 if name == "python-etcd3" else sys.executable
        return [
            str(python), CONSUMER, "--client", name, "--endpoint", self.endpoint,
            "--key", key.decode(), "--range-end", end.decode(), "--start-revision", str(start),
            "--n", str(n), "--stubs", self.stubs_dir, "--options", self.options,
        ]  # fmt: skip

    def replay(self, name: str, start: int, n: int) -> dict[str, Any]:
        """Scenario A: consume the ``n`` historical events under the replay prefix."""
        cmd = self.consumer_cmd(name, REPLAY_PREFIX, prefix_end(REPLAY_PREFIX), start, n)
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=CHILD_TIMEOUT)
        if done.returncode != 0:
            raise RuntimeError(f"{name} replay failed:\n{done.stderr[-3000:]}")
        return _checked(name, json.loads(done.stdout.splitlines()[-1]), n)

    def live(self, name: str, prefix: bytes, n: int) -> dict[str, Any]:
        """Scenario B: watch ``prefix`` while a writer process puts ``n`` keys under it."""
        with etcdmap.Client([self.endpoint]) as c:
            start = c.get(WARM).header.revision + 1
        writer = _spawn([sys.executable, __file__, "--writer", "--endpoint", self.endpoint,
                         "--prefix", prefix.decode(), "--n", str(n)])  # fmt: skip
        cmd = self.consumer_cmd(name, prefix, prefix_end(prefix), start, n) + ["--ready"]
        consumer = _spawn(cmd)
        try:
            _expect_ready(writer, "writer")
            _expect_ready(consumer, name)
            time.sleep(0.3)  # let the watch be created on the server
            t_go = time.monotonic()
            assert writer.stdin is not None
            writer.stdin.write("go\n")
            writer.stdin.flush()
            got = _checked(name, _result(consumer, name), n)
            wrote = _result(writer, "writer")
        finally:
            for proc in (writer, consumer):
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
        got["wall"] = got["t_end"] - t_go  # from the writer's first put to the n-th event
        got["writer_writes_s"] = wrote["writes_s"]
        return got


WARM = b"/warm-up"


def _spawn(cmd: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def _expect_ready(proc: subprocess.Popen[str], name: str) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        _, err = proc.communicate()
        raise RuntimeError(f"{name} did not get ready: {line!r}\n{err[-3000:]}")


def _result(proc: subprocess.Popen[str], name: str) -> dict[str, Any]:
    out, err = proc.communicate(timeout=CHILD_TIMEOUT)
    if proc.returncode != 0 or not out.strip():
        raise RuntimeError(f"{name} failed ({proc.returncode}):\n{err[-3000:]}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _checked(name: str, result: dict[str, Any], n: int) -> dict[str, Any]:
    if result["events"] != n:
        raise RuntimeError(f"{name} delivered {result['events']} events, expected {n}")
    return result


def run_writer(endpoint: str, prefix: bytes, n: int) -> None:
    """The live writer (a child): ``n`` puts with AsyncClient, 64 in flight, after "go"."""
    puts = [(k, VALUE) for k in keys(prefix, n, KEY_WIDTH)]
    loop = asyncio.new_event_loop()

    async def build() -> EtcdmapAsync:
        client = EtcdmapAsync(endpoint)
        await client.client.get(WARM)
        return client

    client = loop.run_until_complete(build())
    print("ready", flush=True)
    sys.stdin.readline()
    sample = in_flight(loop, client.put, puts, INFLIGHT)
    loop.run_until_complete(client.aclose())
    loop.close()
    print(json.dumps({"writes_s": sample.ops_s, "wall": sample.wall}), flush=True)


# --------------------------------------------------------------------------- scenarios


def preload(endpoint: str, n: int) -> int:
    """``n`` puts of 64-byte values under the replay prefix; the revision of the first one."""
    puts = [(k, VALUE) for k in keys(REPLAY_PREFIX, n, KEY_WIDTH)]
    loop = asyncio.new_event_loop()

    async def revision(client: EtcdmapAsync) -> int:
        return int((await client.client.get(WARM)).header.revision)

    async def build() -> EtcdmapAsync:
        return EtcdmapAsync(endpoint)

    client = loop.run_until_complete(build())
    first = loop.run_until_complete(revision(client)) + 1
    in_flight(loop, client.put, puts, INFLIGHT)
    last = loop.run_until_complete(revision(client))
    loop.run_until_complete(client.aclose())
    loop.close()
    if last != first + n - 1:
        raise RuntimeError(f"revisions {first}..{last} hold other writes than the {n} puts")
    return first


def _stats(runs: list[dict[str, Any]]) -> dict[str, Any]:
    s = summarize([Sample(r["events"], r["wall"], r["cpu"]) for r in runs])
    out = {"rounds": s["rounds"], "events": s["ops_per_round"], "events_s": s["ops_s"],
           "cpu_us_per_event": s["cpu_us_per_op"], "events_s_rounds": s["ops_s_rounds"],
           "cpu_us_rounds": [round(r["cpu"] / r["events"] * 1e6, 2) for r in runs]}  # fmt: skip
    if "writer_writes_s" in runs[0]:
        out["writer_writes_s"] = statistics.median(r["writer_writes_s"] for r in runs)
    return out


def run_scenario(runner: Runner, rounds: int, run: Any, reason: str) -> dict[str, Any]:
    """Rounds of ``run(name, round)`` over every client, alternating; medians per client."""
    names = tuple(c for c in CLIENTS if runner.available(c))
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for r, order in enumerate(rotations(names, rounds)):
        for name in order:
            runs[name].append(run(name, r))
    out: dict[str, Any] = {name: _stats(rs) for name, rs in runs.items()}
    for name in CLIENTS:
        if name not in out:
            out[name] = {"unavailable": reason}
    return {name: out[name] for name in CLIENTS}


def ratios(section: dict[str, Any]) -> dict[str, Any]:
    """etcdmap's CPU per event over its raw counterpart's, against the target."""
    out = {}
    for mine, raw in PAIRS:
        ratio = section[mine]["cpu_us_per_event"] / section[raw]["cpu_us_per_event"]
        out[f"{mine}/{raw}"] = {"ratio": ratio, "limit": TARGET, "met": ratio <= TARGET}
    return out


# --------------------------------------------------------------------------- callgrind


def callgrind(runner: Runner, start: int, n: int, keep_dir: str | None) -> dict[str, Any]:
    """Scenario C: instructions per replayed event, (I(2N) - I(N)) / N per client."""
    precompile(runner.stubs_dir)
    out_dir = Path(keep_dir or tempfile.mkdtemp(prefix="etcdmap-callgrind-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    replay_keys = keys(REPLAY_PREFIX, 2 * n + 1, KEY_WIDTH)
    jobs = [(name, m * n) for name in CALLGRIND_CLIENTS for m in (1, 2)]

    def one(job: tuple[str, int]) -> int:
        name, count = job
        out = out_dir / f"{name}.{count}.out"
        # The range [key 0, key count) holds exactly `count` events: nothing is read ahead.
        cmd = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            *runner.consumer_cmd(name, REPLAY_PREFIX, replay_keys[count], start, count),
        ]
        # Byte-code is compiled beforehand (precompile) and never written by the children.
        env = dict(os.environ, PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
        return read_total(out)

    with ThreadPoolExecutor(2) as pool:
        totals = dict(zip(jobs, pool.map(one, jobs), strict=True))
    per_event = {name: (totals[(name, 2 * n)] - totals[(name, n)]) / n
                 for name in CALLGRIND_CLIENTS}  # fmt: skip
    result: dict[str, Any] = {"n": n, "per_event": per_event, "ratios": {}}
    for mine, raw in PAIRS:
        ratio = per_event[mine] / per_event[raw]
        result["ratios"][f"{mine}/{raw}"] = {"ratio": ratio, "limit": TARGET,
                                             "met": ratio <= TARGET}  # fmt: skip
        result.setdefault("top_functions", {})[f"{mine}/{raw}"] = top_functions(
            out_dir, mine, raw, n
        )
    if keep_dir is None:
        shutil.rmtree(out_dir, ignore_errors=True)
    return result


def _self_costs(path: Path) -> dict[str, int]:
    """Self instructions per function from ``callgrind_annotate --inclusive=no``."""
    cmd = ["callgrind_annotate", "--inclusive=no", "--threshold=100", str(path)]
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    costs: dict[str, int] = {}
    for line in text.splitlines():
        head, _, rest = line.strip().partition(" ")
        if not head or not head[0].isdigit() or ":" not in rest:
            continue
        try:
            count = int(head.replace(",", ""))
        except ValueError:
            continue
        name = rest.split("  ")[-1].strip() if "(" in rest.split()[0] else rest.strip()
        file, _, function = name.split(" [")[0].rpartition(":")
        # Drop the build directory, and the 'N suffix callgrind gives recursion levels.
        name = Path(file).name + ":" + re.sub(r"'[0-9]+$", "", function)
        costs[name] = costs.get(name, 0) + count
    return costs


def top_functions(out_dir: Path, mine: str, raw: str, n: int, top: int = 15) -> list[Any]:
    """Functions whose self instructions per event grow most from ``raw`` to ``mine``."""
    per_event = {}
    for name in (mine, raw):
        small, big = (
            _self_costs(out_dir / f"{name}.{n}.out"),
            _self_costs(out_dir / f"{name}.{2 * n}.out"),
        )
        per_event[name] = {f: (big.get(f, 0) - small.get(f, 0)) / n for f in big.keys() | small}
    rows = [(f, per_event[mine].get(f, 0.0), per_event[raw].get(f, 0.0))
            for f in per_event[mine].keys() | per_event[raw].keys()]  # fmt: skip
    rows.sort(key=lambda r: r[1] - r[2], reverse=True)
    return [{"function": f, mine: round(a, 1), raw: round(b, 1), "extra": round(a - b, 1)}
            for f, a, b in rows[:top]]  # fmt: skip


# --------------------------------------------------------------------------- report


def print_section(title: str, section: dict[str, Any], live: bool) -> None:
    print(f"\n## {title}")
    head = f"{'client':<15}{'events/s':>10}{'cpu µs/event':>14}{'x raw-sync':>12}"
    print(head + (f"{'writer puts/s':>15}" if live else ""))
    base = section["raw-sync"].get("cpu_us_per_event")
    for name, s in section.items():
        if "unavailable" in s:
            print(f"{name:<15}{'unavailable: ' + s['unavailable']}")
            continue
        cpu = s["cpu_us_per_event"]
        row = f"{name:<15}{fmt(s['events_s']):>10}{fmt(cpu, '.2f'):>14}"
        row += f"{fmt(cpu / base if base else None, '.2f'):>12}"
        if live:
            row += f"{fmt(s.get('writer_writes_s')):>15}"
        print(row)


def print_callgrind(section: dict[str, Any]) -> None:
    print(f"\n## C. callgrind: instructions per replayed event ((I(2N)-I(N))/N, N={section['n']})")
    for name, per in section["per_event"].items():
        print(f"{name:<15}{per:>12,.0f}")
    for pair, top in section.get("top_functions", {}).items():
        mine, raw = pair.split("/")
        print(f"\nwhere {mine}'s extra instructions go (self Ir per event, top {len(top)}):")
        print(f"{mine:>14}{raw:>10}{'extra':>9}  function")
        for row in top:
            print(f"{row[mine]:>14,.0f}{row[raw]:>10,.0f}{row['extra']:>9,.0f}  {row['function']}")


def print_targets(results: dict[str, Any]) -> None:
    print(f"\n## targets (etcdmap / raw counterpart, ≤ {TARGET}x)")
    for section, label in (("replay", "A replay cpu/event"), ("live", "B live cpu/event"),
                           ("callgrind", "C instructions/event")):  # fmt: skip
        for pair, t in results.get(section, {}).get("ratios", {}).items():
            verdict = "MET" if t["met"] else "MISSED"
            print(f"{label:<24}{pair:<26}{t['ratio']:>7.2f}x  {verdict}")


def report(results: dict[str, Any]) -> None:
    if "replay" in results:
        title = (
            f"A. replay of {results['replay']['clients']['raw-sync']['events']:,} historical"
            f" events (median of {results['replay']['clients']['raw-sync']['rounds']})"
        )
        print_section(title, results["replay"]["clients"], live=False)
    if "live" in results:
        s = results["live"]["clients"]["raw-sync"]
        title = (
            f"B. live: {s['events']:,} puts by a writer process (AsyncClient, "
            f"{INFLIGHT} in flight) (median of {s['rounds']})"
        )
        print_section(title, results["live"]["clients"], live=True)
    if "callgrind" in results:
        print_callgrind(results["callgrind"])
    print_targets(results)


# --------------------------------------------------------------------------- main


def meta(endpoint: str, quick: bool, etcd3_note: str) -> dict[str, Any]:
    from importlib.metadata import version

    import aetcd  # type: ignore[import-not-found]  # noqa: F401
    import google.protobuf
    import grpc

    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "protobuf": google.protobuf.__version__,
        "aetcd": version("aetcd"),
        "python-etcd3": etcd3_note,
        "cpus": os.cpu_count(),
        "endpoint": endpoint,
        "quick": quick,
    }


def run_all(endpoint: str, stubs_dir: str, args: argparse.Namespace) -> dict[str, Any]:
    sizes = QUICK if args.quick else FULL
    etcd3, note = etcd3_python(args.etcd3_venv)
    runner = Runner(endpoint, stubs_dir, etcd3)
    results: dict[str, Any] = {"meta": meta(endpoint, args.quick, note)}
    start = preload(endpoint, sizes.replay)
    results["meta"]["replay_revisions"] = [start, start + sizes.replay - 1]
    runner.replay("raw-sync", start, sizes.replay)  # warm the server's read path once

    def replay(name: str, _round: int) -> dict[str, Any]:
        return runner.replay(name, start, sizes.replay)

    def live(name: str, r: int) -> dict[str, Any]:
        return runner.live(name, f"/live/{r:02}/{CLIENTS.index(name)}/".encode(), sizes.live)

    if not args.callgrind_only:
        section = run_scenario(runner, sizes.replay_rounds, replay, note)
        results["replay"] = {"clients": section, "ratios": ratios(section)}
        section = run_scenario(runner, sizes.live_rounds, live, note)
        results["live"] = {"clients": section, "ratios": ratios(section)}
    if not args.no_callgrind:
        results["callgrind"] = callgrind(runner, start, sizes.callgrind, args.keep_callgrind)
    return results


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer rounds and events")
    p.add_argument("--out", type=Path, default=RESULTS, help=f"JSON output (default {RESULTS})")
    p.add_argument("--no-callgrind", action="store_true", help="skip scenario C")
    p.add_argument("--callgrind-only", action="store_true", help="only scenario C")
    p.add_argument("--keep-callgrind", metavar="DIR", help="keep callgrind output files in DIR")
    p.add_argument(
        "--etcd3-venv",
        type=Path,
        default=ETCD3_VENV,
        help=f"venv for python-etcd3, built if missing (default {ETCD3_VENV})",
    )
    writer = p.add_argument_group("live writer (run by the orchestrator)")
    writer.add_argument("--writer", action="store_true")
    writer.add_argument("--endpoint")
    writer.add_argument("--prefix")
    writer.add_argument("--n", type=int)
    return p.parse_args()


def main() -> None:
    args = parse_args()
    if args.writer:
        run_writer(args.endpoint, args.prefix.encode(), args.n)
        return
    stubs_dir = generate_stubs()
    try:
        with etcd_server() as endpoint:
            results = run_all(endpoint, stubs_dir, args)
    finally:
        shutil.rmtree(stubs_dir, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    report(results)
    print(f"\nJSON: {args.out}")


if __name__ == "__main__":
    main()
