"""Mirror behaviour only threads can show: a reader thread never sees half a transaction."""

from __future__ import annotations

import threading

import pytest

from etcdmap import Client, Op
from etcdmap._sync.mirror import Mirror


@pytest.mark.parametrize("packed", [False, True], ids=["dict", "packed"])
def test_a_reader_thread_never_sees_a_torn_transaction(
    etcd_client: Client, etcd_prefix: str, packed: bool
) -> None:
    # Each transaction changes the values' length, so a packed table appends new entries and
    # compacts its heap often: a read between two steps of that would see wrong bytes.
    def value(i: int) -> bytes:
        return str(i).encode() * (1 + i % 4)

    keys = [f"{etcd_prefix}{i}" for i in range(10)]
    etcd_client.txn(success=[Op.put(k, value(0)) for k in keys])
    written = {value(i) for i in range(300)}
    torn: list[object] = []
    reads = 0
    with Mirror(etcd_client, etcd_prefix, packed=packed) as m:
        stop = threading.Event()

        def reader() -> None:
            nonlocal reads
            try:
                while not stop.is_set():
                    for view in (m.local_snapshot().data, dict(m.items())):
                        if len(set(view.values())) != 1 or len(view) != 10:
                            torn.append(view)
                    local = m.local()
                    torn.extend(v for v in map(local.get, "0123456789") if v not in written)
                    reads += 1
            except Exception as error:  # noqa: BLE001 - the test fails on whatever the reader met
                torn.append(error)

        thread = threading.Thread(target=reader)
        thread.start()
        try:
            for i in range(1, 300):
                last = etcd_client.txn(success=[Op.put(k, value(i)) for k in keys]).header.revision
            m.wait_for(last)
        finally:
            stop.set()
            thread.join()
        assert m["0"] == value(299)
    assert not torn and reads > 10


def test_the_blocking_mirror_is_a_mutable_mapping(etcd_client: Client, etcd_prefix: str) -> None:
    from collections.abc import MutableMapping

    with Mirror(etcd_client, etcd_prefix, consistency="linearizable") as m:
        assert isinstance(m, MutableMapping)
        m["a"] = b"1"
        etcd_client.put(f"{etcd_prefix}b", "2")
        assert m.read("b") == b"2"  # linearizable: waits for the other client's write
        assert sorted(m) == ["a", "b"] and len(m) == 2 and "a" in m
        assert m.get("zz", b"none") == b"none"
        assert m.pop("a") == b"1" and "a" not in m
