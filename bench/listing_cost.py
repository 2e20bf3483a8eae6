"""Instructions a mirror's listing spends per key, next to a raw get's reading of the same kvs.

A mirror's first load overlaps the server's reading of page n+1 with the conversion of page
n (``get_pages(read_ahead=True)``), so its time is about the slower of the two: this counts
the conversion. Pages of real ``KeyValue`` messages (``--keys`` keys under
``/scale-memory/`` with ``--value-bytes`` values, built in memory: no server) go through a
store's listing, as ``Mirror._list`` feeds them:

- ``raw fields``: read every kv's ``key`` and ``value`` (what ``bench/scale.py memory``'s raw
  get does with its response);
- ``dict store``: ``MirrorStore.listing()`` (keys decoded, values decoded by ``Raw``);
- ``packed store``: ``PackedStore.listing()`` with UTF-8 keys (``packed=True``).

Each case runs under ``valgrind --tool=callgrind``, and so does a run that only builds the
pages; the difference divided by the keys is the cost of one key. Prints a table and writes JSON::

    python bench/listing_cost.py [--keys 100000] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, callgrind_instructions  # noqa: E402

PREFIX = b"/scale-memory/"
PAGE = 10_000
CASES = {"raw fields": "raw", "dict store": "dict", "packed store": "packed"}


def child(case: str, keys: int, value_bytes: int) -> None:
    """Build the pages, then convert them as ``case`` says."""
    from etcdmap._core.mirror import MirrorStore
    from etcdmap._core.mirror_packed import PackedStore
    from etcdmap._core.results import KeyValue
    from etcdmap.codecs import Raw, Str

    value = b"v" * value_bytes
    kvs = [KeyValue(key=PREFIX + b"%09d" % i, value=value, mod_revision=5) for i in range(keys)]
    pages = [kvs[start:start + PAGE] for start in range(0, keys, PAGE)]
    if case == "build":
        return
    if case == "raw":
        total = 0
        for page in pages:
            for kv in page:
                total += len(kv.key) + len(kv.value)
        return
    key_codec, codec = Str(), Raw()
    store = (
        PackedStore(PREFIX, key_codec.decode, codec.decode, codec=codec, utf8_keys=True)
        if case == "packed"
        else MirrorStore(PREFIX, key_codec.decode, codec.decode, codec=codec)
    )
    listing = store.listing()
    listing.expect(keys)
    for page in pages:
        listing.add(page)
    listing.install(1, "load", changes=False)


def instructions(case: str, keys: int, value_bytes: int) -> int:
    """Instructions callgrind counts for a process building ``keys`` keys' pages and
    converting them as ``case`` says (``"build"``: not at all)."""
    return callgrind_instructions(__file__, "--child", case, str(keys), str(value_bytes))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--value-bytes", type=int, default=100)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "listing_cost.json"))
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        case, keys, value_bytes = options.child
        child(case, int(keys), int(value_bytes))
        return
    import etcdmap

    base = instructions("build", options.keys, options.value_bytes)
    per_key = {
        name: (instructions(case, options.keys, options.value_bytes) - base) // options.keys
        for name, case in CASES.items()
    }
    print(f"etcdmap from {Path(etcdmap.__file__).parent}; {options.keys:,} keys")
    print(f"{'case':14} {'instructions per key':>22} {'x raw fields':>13}")
    for name, count in per_key.items():
        print(f"{name:14} {count:22,} {count / per_key['raw fields']:13.2f}")
    Path(options.out).parent.mkdir(parents=True, exist_ok=True)
    Path(options.out).write_text(json.dumps(
        {"etcdmap": str(Path(etcdmap.__file__).parent), "keys": options.keys,
         "value_bytes": options.value_bytes, "per_key": per_key},
        indent=2,
    ))  # fmt: skip
    print(f"JSON: {options.out}")


if __name__ == "__main__":
    main()
