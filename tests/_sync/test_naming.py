# Generated from tests/_async/test_naming.py by scripts/unasync: do not edit.
"""The service registry against real etcd: Go's key layout and JSON values, list and watch,
and an entry that vanishes when the process that registered it is killed (its lease expires),
with a watcher seeing the delete.

Written for AsyncClient; tests/_sync/test_naming.py is generated from it by scripts/unasync.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from etcdmap import Client
from etcdmap.naming import Registry, Endpoint, EndpointUpdate
from etcdmap.testing import EtcdServer

#: A separate process that registers an endpoint with a 2 s lease, then waits to be killed.
OWNER = """
import sys, time
import etcdmap
from etcdmap.naming import Registry

client = etcdmap.Client(sys.argv[1])
Registry(client, sys.argv[2]).register("10.0.0.9:7000", {"zone": "b"}, ttl=2)
print("registered", flush=True)
time.sleep(120)
"""


def test_register_list_watch_unregister(etcd_server: EtcdServer, etcd_prefix: str) -> None:
    with Client(etcd_server.endpoints) as client:
        registry = Registry(client, etcd_prefix + "billing/")
        assert registry.prefix == (etcd_prefix + "billing/").encode()
        client.put(etcd_prefix + "billing/junk", "not an endpoint")
        with registry.watch() as watcher:
            registration = registry.register("10.0.0.7:8080", {"zone": "a"}, ttl=5)
            key = etcd_prefix + "billing/10.0.0.7:8080"
            stored = json.loads((client.get(key)).kvs[0].value)
            assert stored == {"Op": 0, "Addr": "10.0.0.7:8080", "Metadata": {"zone": "a"}}
            registry.register("10.0.0.8:8080", name="second", ttl=5)
            assert registry.list() == {
                key: Endpoint("10.0.0.7:8080", {"zone": "a"}),
                etcd_prefix + "billing/second": Endpoint("10.0.0.8:8080"),
            }
            with registration:
                pass  # leaving the block revokes the lease
            registry.unregister("second")
            seen: list[EndpointUpdate] = []
            for batch in watcher:
                seen.extend(batch)
                if len(seen) == 4:
                    break
        assert [(u.op, u.key) for u in seen] == [
            ("add", key),
            ("add", etcd_prefix + "billing/second"),
            ("delete", key),
            ("delete", etcd_prefix + "billing/second"),
        ]
        assert registry.list() == {}


def test_an_entry_vanishes_when_its_owner_dies(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    service = etcd_prefix + "search"
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, etcd_server.endpoint, service],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert owner.stdout is not None and owner.stdout.readline() == "registered\n"
        with Client(etcd_server.endpoints) as client:
            registry = Registry(client, service)
            key = service + "/10.0.0.9:7000"
            with registry.watch() as watcher:
                updates: list[EndpointUpdate] = []
                killed = 0.0
                for batch in watcher:
                    updates.extend(batch)
                    if not killed:  # the current entries came first
                        time.sleep(2.5)  # longer than the TTL: the owner keeps it alive
                        assert key in registry.list()
                        owner.kill()
                        killed = time.monotonic()
                    elif updates[-1].op == "delete":
                        break
            assert [(u.op, u.key) for u in updates] == [("add", key), ("delete", key)]
            assert updates[0].endpoint == Endpoint("10.0.0.9:7000", {"zone": "b"})
            assert time.monotonic() - killed < 6  # TTL 2 s, plus the server's expiry check
            assert registry.list() == {}
    finally:
        owner.kill()
        owner.wait()
        assert owner.stdout is not None
        owner.stdout.close()
