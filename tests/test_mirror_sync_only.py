"""Mirror behaviour only threads can show: a reader thread never sees half a transaction."""

from __future__ import annotations

import threading

from etcdmap import Client, Op
from etcdmap._sync.mirror import Mirror


def test_a_reader_thread_never_sees_a_torn_transaction(etcd_client: Client, etcd_prefix: str) -> None:
    keys = [f"{etcd_prefix}{i}" for i in range(10)]
    etcd_client.txn(success=[Op.put(k, "0") for k in keys])
    torn: list[dict[str, bytes]] = []
    reads = 0
    with Mirror(etcd_client, etcd_prefix) as m:
        stop = threading.Event()

        def reader() -> None:
            nonlocal reads
            while not stop.is_set():
                for view in (m.local_snapshot().data, dict(m.items())):
                    if len(set(view.values())) != 1 or len(view) != 10:
                        torn.append(view)
                reads += 1

        thread = threading.Thread(target=reader)
        thread.start()
        try:
            for i in range(1, 300):
                last = etcd_client.txn(success=[Op.put(k, str(i)) for k in keys]).header.revision
            m.wait_for(last)
        finally:
            stop.set()
            thread.join()
        assert m["0"] == b"299"
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
