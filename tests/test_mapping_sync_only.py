"""Checks only the blocking EtcdMap can have: it is a real MutableMapping (a dict harness and
a hypothesis state machine compare it with ``dict``), threads racing its atomic helpers get
exact results, a pass stays one snapshot while another thread writes, and the IPython hooks.
The operations shared with AsyncEtcdMap are in tests/_async/test_mapping.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, ItemsView, KeysView, Mapping, MutableMapping, ValuesView
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from etcdmap import AsyncClient, AsyncEtcdMap, Client, EtcdMap, UpdateResult
from etcdmap.codecs import Json, Str
from etcdmap.testing import EtcdServer

MISSING = object()


def check_mapping(m: MutableMapping[str, Any]) -> None:
    """Exercise every MutableMapping method on an empty ``m`` and compare with a dict.

    Run on a plain ``dict`` too (below), so the harness itself is checked.
    """
    d: dict[str, Any] = {}

    def same() -> None:
        assert len(m) == len(d) and bool(m) == bool(d)
        assert sorted(m) == sorted(d)
        assert sorted(m.keys()) == sorted(d.keys())
        assert sorted(m.values()) == sorted(d.values())
        assert sorted(m.items()) == sorted(d.items())
        assert dict(m) == d and m == d
        for key in d:
            assert key in m and key in m.keys() and m[key] == d[key] and m.get(key) == d[key]
            assert (key, d[key]) in m.items() and d[key] in m.values()

    same()
    for target in (m, d):
        target["a"] = 1
        target["b"] = 2
        target.update({"c": 3}, d=4)
        target.update([("e", 5)])
        target["a"] = 10
    same()
    assert "zz" not in m and ("a", 1) not in m.items() and 99 not in m.values()
    assert 1 not in m  # a key of another type is simply not there
    assert m.get("zz") is None and m.get("zz", 7) == 7
    with pytest.raises(KeyError):
        m["zz"]
    with pytest.raises(KeyError):
        del m["zz"]
    with pytest.raises(KeyError):
        m.pop("zz")
    assert m.pop("zz", "dflt") == d.pop("zz", "dflt") == "dflt"
    assert m.pop("b") == d.pop("b") == 2
    del m["c"]
    del d["c"]
    assert m.setdefault("a", 0) == d.setdefault("a", 0) == 10
    assert m.setdefault("f", 6) == d.setdefault("f", 6) == 6
    same()
    key, value = m.popitem()
    assert d.pop(key) == value
    same()
    m.clear()
    d.clear()
    same()
    with pytest.raises(KeyError):
        m.popitem()


def test_the_harness_agrees_with_dict() -> None:
    check_mapping({})


def test_etcdmap_passes_the_dict_harness(etcd_client: Client, etcd_prefix: str) -> None:
    check_mapping(EtcdMap(etcd_client, etcd_prefix, codec=Json(int), page_size=2))


def test_is_a_mutable_mapping_with_real_views(etcd_client: Client, etcd_prefix: str) -> None:
    m: EtcdMap[str] = EtcdMap(etcd_client, etcd_prefix, codec=Str())
    assert isinstance(m, MutableMapping) and isinstance(m.at(1), Mapping)
    assert not isinstance(m.at(1), MutableMapping)
    assert isinstance(m.keys(), KeysView) and isinstance(m.values(), ValuesView)
    assert isinstance(m.items(), ItemsView)
    m.update(a="1", b="2")
    assert m.keys() & {"a", "x"} == {"a"} and m.keys() == {"a", "b"}
    assert len(m.values()) == 2 and ("b", "2") in m.items()
    assert isinstance(m.update(c="3"), UpdateResult)
    m.clear()
    assert not m


class MapAgreesWithDict(RuleBasedStateMachine):
    """Random operation sequences give the same results on EtcdMap and on a dict."""

    client: Client
    counter = 0

    @initialize()
    def start(self) -> None:
        MapAgreesWithDict.counter += 1
        prefix = f"/etcdmap-test/state-machine-{MapAgreesWithDict.counter}/"
        self.m: EtcdMap[int] = EtcdMap(self.client, prefix, codec=Json(int), page_size=3)
        self.m.clear()
        self.d: dict[str, int] = {}

    keys = st.sampled_from(["a", "b", "c", "d/e", "é"])
    values = st.integers(-5, 5)

    @rule(key=keys, value=values)
    def set(self, key: str, value: int) -> None:
        self.m[key] = value
        self.d[key] = value

    @rule(key=keys)
    def delete(self, key: str) -> None:
        expected = key in self.d
        self.d.pop(key, None)
        try:
            del self.m[key]
        except KeyError:
            assert not expected
        else:
            assert expected

    @rule(key=keys, value=values)
    def setdefault(self, key: str, value: int) -> None:
        assert self.m.setdefault(key, value) == self.d.setdefault(key, value)

    @rule(key=keys)
    def pop(self, key: str) -> None:
        assert self.m.pop(key, None) == self.d.pop(key, None)

    @rule(key=keys, delta=values)
    def modify(self, key: str, delta: int) -> None:
        self.d[key] = self.d.get(key, 0) + delta
        assert self.m.modify(key, lambda v: v + delta, default=0) == self.d[key]

    @rule(pairs=st.dictionaries(keys, values, max_size=3))
    def update(self, pairs: dict[str, int]) -> None:
        self.m.update(pairs)
        self.d.update(pairs)

    @rule()
    def popitem(self) -> None:
        if not self.d:
            with pytest.raises(KeyError):
                self.m.popitem()
            return
        key, value = self.m.popitem()
        assert key == min(self.d) and self.d.pop(key) == value

    @rule()
    def clear(self) -> None:
        self.m.clear()
        self.d.clear()

    @invariant()
    def agree(self) -> None:
        if hasattr(self, "m"):
            assert dict(self.m.items()) == self.d and len(self.m) == len(self.d)


def test_state_machine_against_dict(etcd_client: Client) -> None:
    MapAgreesWithDict.client = etcd_client
    run = MapAgreesWithDict.TestCase
    run.settings = settings(
        max_examples=15, stateful_step_count=20, deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )  # fmt: skip
    run().runTest()


def race(threads: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run ``fn(i)`` in ``threads`` threads released at once; their results in order."""
    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * threads
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(i)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert not errors, errors
    return results


def test_threads_racing_modify_lose_no_update(etcd_client: Client, etcd_prefix: str) -> None:
    m: EtcdMap[int] = EtcdMap(etcd_client, etcd_prefix, codec=Json(int))

    def add_ten(_: int) -> None:
        for _ in range(10):
            m.modify("counter", lambda v: v + 1, default=0, retries=1000)

    race(6, add_ten)
    assert m["counter"] == 60
    assert m.entry("counter").version == 60  # one write per increment, none lost or doubled


def test_threads_racing_setdefault_agree_on_one_value(etcd_client: Client, etcd_prefix: str) -> None:
    m: EtcdMap[int] = EtcdMap(etcd_client, etcd_prefix, codec=Json(int))
    results = race(8, lambda i: m.setdefault("leader", i))
    assert len(set(results)) == 1 and m["leader"] == results[0]
    assert m.entry("leader").version == 1


def test_threads_racing_pop_each_key_popped_once(etcd_client: Client, etcd_prefix: str) -> None:
    m: EtcdMap[int] = EtcdMap(etcd_client, etcd_prefix, codec=Json(int))
    m.update({f"k{i:02}": i for i in range(40)})

    def take(_: int) -> list[int]:
        got = []
        for i in range(40):
            value = m.pop(f"k{i:02}", None)
            if value is not None:
                got.append(value)
        return got

    results = race(4, take)
    popped = [v for got in results for v in got]
    assert sorted(popped) == list(range(40)) and len(m) == 0


def test_threads_racing_popitem_each_item_once(etcd_client: Client, etcd_prefix: str) -> None:
    m: EtcdMap[int] = EtcdMap(etcd_client, etcd_prefix, codec=Json(int))
    m.update({f"k{i:02}": i for i in range(30)})

    def drain(_: int) -> list[tuple[str, int]]:
        got = []
        while True:
            try:
                got.append(m.popitem())
            except KeyError:
                return got

    items = [pair for got in race(3, drain) for pair in got]
    assert sorted(items) == [(f"k{i:02}", i) for i in range(30)]


def test_snapshot_pass_while_another_thread_writes(etcd_client: Client, etcd_prefix: str) -> None:
    m: EtcdMap[int] = EtcdMap(etcd_client, etcd_prefix, codec=Json(int), page_size=5)
    m.update({f"k{i:03}": 0 for i in range(100)})
    stop = threading.Event()

    def writer() -> None:
        n = 1
        while not stop.is_set():
            m.update({f"k{i:03}": n for i in range(0, 100, 7)} | {f"new{n}": n})
            del m[f"k{n % 100:03}"]
            m[f"k{n % 100:03}"] = n
            n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(3):
            items = m.items()
            seen = dict(items)
            # one revision: exactly what the store held at the pass's revision
            assert seen == dict(m.at(items.revision).items())
            assert seen == {kv.key.decode()[len(etcd_prefix):]: int(kv.value) for kv in
                            etcd_client.get_prefix(etcd_prefix, revision=items.revision).kvs}
    finally:
        stop.set()
        thread.join(30)


def test_update_halves_batches_on_a_server_with_fewer_txn_ops() -> None:
    with EtcdServer(extra_args=("--max-txn-ops", "10")) as server, Client(server.endpoints) as client:
        m: EtcdMap[bytes] = EtcdMap(client, "/small/")
        result = m.update({f"k{i:02}": b"v" for i in range(25)})
        assert (result.written, result.atomic) == (25, False)
        assert result.transactions == 5  # 25 refused, 12 refused, then 6 + 6 + 6 + 6 + 1
        assert len(m) == 25 and m.update({"one": b"1"}).atomic


def test_ipython_hooks_are_bounded(etcd_client: Client, etcd_prefix: str) -> None:
    m: EtcdMap[int] = EtcdMap(etcd_client, etcd_prefix, codec=Json(int), page_size=5)
    m.update({f"k{i:02}": i for i in range(12)})
    html = m._repr_html_()
    assert "12 keys" in html and html.count("<tr>") == 11  # header + 10 preview rows
    assert m._ipython_key_completions_() == [f"k{i:02}" for i in range(5)]  # one page

    class Printer:
        def __init__(self) -> None:
            self.out = ""

        def text(self, text: str) -> None:
            self.out += text

    printer = Printer()
    m._repr_pretty_(printer, False)
    assert printer.out.startswith(f"EtcdMap({etcd_prefix!r}, Json(int)): 12 keys")
    printer = Printer()
    m._repr_pretty_(printer, True)
    assert printer.out == repr(m)


def test_async_map_reprs_do_no_io(etcd_server: Any) -> None:
    client = AsyncClient(etcd_server.endpoints)  # never used: no loop, no channel
    m: AsyncEtcdMap[bytes] = AsyncEtcdMap(client, "/x/")
    assert "await m.preview()" in m._repr_html_() and "/x/" in m._repr_html_()

    class Printer:
        out = ""

        def text(self, text: str) -> None:
            self.out += text

    printer = Printer()
    m._repr_pretty_(printer, False)
    assert printer.out == "AsyncEtcdMap('/x/', codec=Raw())"


def test_config_store_example_runs(etcd_server: Any) -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "config_store.py"
    env = {**os.environ, "ETCDMAP_ENDPOINTS": ",".join(etcd_server.endpoints)}
    done = subprocess.run([sys.executable, str(example)], env=env, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "rejected write:" in done.stdout and "at `$.replicas`" in done.stdout
    assert "skipped 'cron'" in done.stdout and "removed 2 keys" in done.stdout
