"""The ``etcdmap`` command against etcdctl on one local etcd, in one run.

On N keys (default 100,000) of 100-byte values under ``/bench/src/``:

- ``etcdmap dump`` vs ``etcdctl get --prefix -w json`` (both into a file): wall time;
- ``etcdmap load`` into an empty prefix vs ``etcdctl make-mirror`` of the same keys into
  another prefix of the same cluster (timed until the destination holds every key);
- ``etcdmap ls`` of the N keys.

Each command runs ``--repeat`` times (default 3); the table shows the best and the median.

    python bench/cli.py [--keys 100000] [--repeat 3] [--out bench/results/cli.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, binary, etcd_server  # noqa: E402

COMMAND = [sys.executable, "-m", "etcdmap"]


def run(argv: list[str], env: dict[str, str], out: str = os.devnull) -> float:
    """Seconds ``argv`` took (stdout into ``out``); fails loudly on a non-zero exit."""
    start = time.perf_counter()
    with open(out, "wb") as sink:
        done = subprocess.run(argv, stdout=sink, stderr=subprocess.PIPE, env=env, cwd=REPO,
                              timeout=600, check=False)
    took = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{argv[:4]} exited {done.returncode}: {done.stderr.decode()[-2000:]}")
    return took


def fill(endpoint: str, keys: int) -> None:
    from etcdmap import Client, Op

    with Client([endpoint]) as client:
        value = b"v" * 100
        for first in range(0, keys, 128):
            client.txn(success=[Op.put(f"/bench/src/{n:08d}", value)
                                for n in range(first, min(first + 128, keys))])


def make_mirror(
    endpoint: str, env: dict[str, str], keys: int, dest: str, limit: float
) -> float:
    """Seconds until ``etcdctl make-mirror`` has copied every key (it runs until killed);
    after ``limit`` seconds, the time extrapolated from the keys copied so far."""
    from etcdmap import Client

    with Client([endpoint]) as client:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [binary("etcdctl"), "--endpoints", endpoint, "make-mirror", "--prefix",
             "/bench/src/", "--dest-prefix", dest, endpoint],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )
        try:
            while (copied := client.get(dest, prefix=True, count_only=True).count) < keys:
                took = time.perf_counter() - start
                if took > limit and copied:
                    print(f"  make-mirror: {copied} keys in {took:.0f} s; extrapolated",
                          flush=True)
                    return took * keys / copied
                if proc.poll() is not None:
                    raise SystemExit(f"make-mirror exited {proc.returncode}")
                time.sleep(0.05)
            return time.perf_counter() - start
        finally:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mirror-limit", type=float, default=1800.0,
                        help="Seconds make-mirror may take before its time is extrapolated.")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "cli.json"))
    options = parser.parse_args()
    times: dict[str, list[float]] = {}
    with etcd_server() as endpoint, tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ETCDMAP_", "ETCDCTL_"))}
        env.update(ETCDMAP_ENDPOINTS=endpoint, ETCDCTL_API="3", PYTHONPATH=str(REPO))
        fill(endpoint, options.keys)
        dump = os.path.join(tmp, "dump.jsonl")
        for n in range(options.repeat):
            print(f"run {n + 1}: {times}", flush=True)
            times.setdefault("etcdmap dump", []).append(
                run([*COMMAND, "dump", "/bench/src/", "-o", dump], env))
            times.setdefault("etcdctl get --prefix -w json", []).append(run(
                [binary("etcdctl"), "--endpoints", endpoint, "get", "/bench/src/", "--prefix",
                 "-w", "json"], env, os.path.join(tmp, "etcdctl.json")))
            times.setdefault("etcdmap load (empty prefix)", []).append(
                run([*COMMAND, "load", dump, "--prefix", f"/bench/load{n}/"], env))
            times.setdefault("etcdctl make-mirror", []).append(
                make_mirror(endpoint, env, options.keys, f"/bench/mirror{n}/",
                            options.mirror_limit))
            times.setdefault("etcdmap ls", []).append(
                run([*COMMAND, "ls", "/bench/src/"], env))
        # the loaded copy is the dump, exactly
        check = os.path.join(tmp, "check.jsonl")
        run([*COMMAND, "dump", "/bench/load0/", "-o", check], env)
        strip = [{k: v for k, v in json.loads(line).items() if k in ("key", "value")}
                 for line in open(dump)]
        again = [{k: v for k, v in json.loads(line).items() if k in ("key", "value")}
                 for line in open(check)]
        assert strip == again, "load did not reproduce the dump"
    rows = {name: {"best": min(t), "median": statistics.median(t)} for name, t in times.items()}
    print(f"{options.keys} keys x 100 B, {options.repeat} runs, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'command':34} {'best s':>8} {'median s':>9}")
    for name, row in rows.items():
        print(f"{name:34} {row['best']:8.2f} {row['median']:9.2f}")
    ratio = rows["etcdmap dump"]["best"] / rows["etcdctl get --prefix -w json"]["best"]
    speed = rows["etcdctl make-mirror"]["best"] / rows["etcdmap load (empty prefix)"]["best"]
    print(f"dump / etcdctl get: {ratio:.2f}x (goal <= 1.5); "
          f"load is {speed:.1f}x faster than make-mirror (goal > 1)")
    Path(options.out).parent.mkdir(parents=True, exist_ok=True)
    Path(options.out).write_text(json.dumps({"keys": options.keys, "times": times,
                                             "summary": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
