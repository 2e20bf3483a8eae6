"""Async-only repository contention: four tasks, each with its own client, saving records that
clash on unique fields at once, and racing on one shared record (the blocking twin with
threads and processes: tests/test_repository_sync.py)."""

from __future__ import annotations

import asyncio

import msgspec

from etcdmap import AsyncClient, AsyncRepository, UniqueViolationError
from etcdmap.testing import EtcdServer


class Service(msgspec.Struct):
    id: str
    name: str
    port: int
    region: str


async def test_unique_fields_hold_under_four_tasks(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    rounds, workers = 20, 4
    won: dict[int, list[str]] = {n: [] for n in range(rounds)}
    holders: dict[int, list[str]] = {n: [] for n in range(rounds)}

    async def work(who: int) -> None:
        async with AsyncClient(etcd_server.endpoints) as client:
            repo = AsyncRepository(client, Service, etcd_prefix, key="id",
                                   indexes=("region",), unique=("name", "port"))  # fmt: skip
            for n in range(rounds):
                ident = f"t{who}-{n}"
                try:
                    await repo.save(Service(ident, f"svc{n}", 1000 + n, f"r{who}"))
                    won[n].append(ident)
                except UniqueViolationError as error:
                    holders[n].append(error.holder)
                await repo.save(Service("shared", "shared", 1, f"r{who}-{n}"))

    await asyncio.wait_for(asyncio.gather(*(work(i) for i in range(workers))), 60)
    async with AsyncClient(etcd_server.endpoints) as client:
        repo = AsyncRepository(client, Service, etcd_prefix, key="id", indexes=("region",),
                               unique=("name", "port"))  # fmt: skip
        for n in range(rounds):
            assert len(won[n]) == 1, (n, won[n], holders[n])
            assert holders[n] == won[n] * (workers - 1)
        report = await repo.check()
        assert report.clean and report.records == rounds + 1, report
