# Generated from tests/_async/test_syncer.py by scripts/unasync: do not edit.
"""The mirror Syncer and ``copy_prefix`` between two real single-member etcd servers: 50,000
keys copied, the copy kept identical under concurrent puts and deletes, through a restart of
the destination and then of the source, and resumed from its state file (also after the
source was compacted past it).

Written for AsyncClient; tests/_sync/test_syncer.py is generated from it by scripts/unasync.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from etcdmap import Client, EventType, Op
from etcdmap.syncer import PrefixCopy, Syncer, CopyProgress
from etcdmap.testing import EtcdServer

KEYS = 50_000


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[EtcdServer, EtcdServer]]:
    with EtcdServer(name="source") as source, EtcdServer(name="destination") as destination:
        yield source, destination


def load(client: Client, prefix: str, count: int) -> None:
    """``count`` keys in transactions of 128 puts (fast, and the same in both flavours)."""
    for first in range(0, count, 128):
        last = min(first + 128, count)
        client.txn(success=[Op.put(f"{prefix}{i:06d}", f"v{i}") for i in range(first, last)])


def contents(client: Client, prefix: str) -> dict[bytes, bytes]:
    response = client.get_prefix(prefix, timeout=30)
    return {kv.key: kv.value for kv in response.kvs}


def churn(client: Client, prefix: str, rng: random.Random, count: int) -> int:
    """Random puts, overwrites, deletes, multi-key transactions and a range delete under
    ``prefix``; returns the revision of the last write."""
    revision = 0
    for step in range(count):
        key = f"{prefix}{rng.randrange(KEYS + 1000):06d}"
        choice = rng.random()
        if choice < 0.5:
            revision = (client.put(key, f"c{step}")).header.revision
        elif choice < 0.8:
            revision = (client.delete(key)).header.revision
        else:
            keys = {f"{prefix}{rng.randrange(KEYS):06d}" for _ in range(5)}
            ops = [Op.put(k, f"t{step}") if i % 2 else Op.delete(k) for i, k in enumerate(keys)]
            revision = (client.txn(success=ops)).header.revision
    # One revision deleting 300 keys: more than one destination transaction can hold.
    start = rng.randrange(KEYS - 300)
    response = client.delete(
        f"{prefix}{start:06d}", range_end=f"{prefix}{start + 300:06d}"
    )
    return max(revision, response.header.revision)


def test_syncer_reads_a_base_in_pages_then_updates(
    servers: tuple[EtcdServer, EtcdServer], etcd_prefix: str
) -> None:
    with Client(servers[0].endpoints) as client:
        for i in range(25):
            client.put(f"{etcd_prefix}{i:02d}", str(i))
        client.put(etcd_prefix[:-1] + "~", "outside the prefix")
        syncer = Syncer(client, etcd_prefix, page_size=10)
        with pytest.raises(RuntimeError):
            syncer.sync_updates()
        pages = [page for page in syncer.sync_base()]
        sizes = [len(page.kvs) for page in pages]
        assert sizes[0] == 10 and all(0 < size <= 10 for size in sizes) and sum(sizes) == 25
        assert all(page.header.revision >= syncer.revision for page in pages)
        keys = [kv.key for page in pages for kv in page.kvs]
        assert keys == [f"{etcd_prefix}{i:02d}".encode() for i in range(25)]
        written = client.put(f"{etcd_prefix}00", "changed")
        with syncer.sync_updates() as watcher:
            for response in watcher:
                [event] = response.events
                assert event.type is EventType.PUT and event.kv.value == b"changed"
                assert event.kv.mod_revision == written.header.revision
                break


def test_copy_prefix_stays_identical_through_restarts_and_resumes(
    servers: tuple[EtcdServer, EtcdServer], etcd_prefix: str, tmp_path: Path
) -> None:
    source_server, destination_server = servers
    rng = random.Random(8)
    state_file = tmp_path / "copy.json"
    reports: list[CopyProgress] = []
    with Client(source_server.endpoints) as source, Client(
        destination_server.endpoints
    ) as destination:
        load(source, etcd_prefix, KEYS)
        source.put(etcd_prefix[:-1] + "~", "outside the prefix: not copied")
        destination.put(etcd_prefix + "stale", "only on the destination: deleted")

        def identical(revision: int) -> None:
            assert copy.wait_for(revision, timeout=30), copy.status()
            assert contents(source, etcd_prefix) == contents(destination, etcd_prefix)

        with PrefixCopy(
            source, destination, etcd_prefix, progress=reports.append, state_file=state_file
        ) as copy:
            identical(churn(source, etcd_prefix, rng, 200))  # during the base copy
            assert reports[0].phase == "base" and reports[-1].phase == "updates"
            assert max(r.keys_copied for r in reports) == KEYS

            churn(source, etcd_prefix, rng, 100)
            destination_server.kill()  # while the copy may still be applying
            last = churn(source, etcd_prefix, rng, 100)
            destination_server.restart()
            identical(churn(source, etcd_prefix, rng, 50) or last)

            churn(source, etcd_prefix, rng, 100)
            source_server.kill()
            source_server.restart()
            identical(churn(source, etcd_prefix, rng, 100))
            assert copy.relists == 0 and copy.error is None

        # Stopped: writes meanwhile are picked up by a new copy from the state file.
        last = churn(source, etcd_prefix, rng, 100)
        with PrefixCopy(
            source, destination, etcd_prefix, state_file=state_file
        ) as copy:
            identical(last)
            assert copy.keys_copied == 0 and copy.relists == 0

        # Compacted past the saved revision: the prefix is copied again, stale keys removed.
        last = churn(source, etcd_prefix, rng, 50)
        source.compact(last)
        with PrefixCopy(
            source, destination, etcd_prefix, state_file=state_file
        ) as copy:
            identical(churn(source, etcd_prefix, rng, 20))
            assert copy.relists == 1
        assert (destination.get(etcd_prefix[:-1] + "~")).count == 0


def test_copy_prefix_to_another_prefix(
    servers: tuple[EtcdServer, EtcdServer], etcd_prefix: str
) -> None:
    with Client(servers[0].endpoints) as source, Client(
        servers[1].endpoints
    ) as destination:
        load(source, etcd_prefix + "a/", 300)
        with PrefixCopy(
            source, destination, etcd_prefix + "a/", etcd_prefix + "b/"
        ) as copy:
            written = source.delete(etcd_prefix + "a/000007")
            assert copy.wait_for(written.header.revision, timeout=10)
        copied = contents(destination, etcd_prefix + "b/")
        assert len(copied) == 299 and copied[f"{etcd_prefix}b/000008".encode()] == b"v8"
        assert (destination.get_prefix(etcd_prefix + "a/")).count == 0
