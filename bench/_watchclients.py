"""Watch consumers of ``bench/watch.py``: one process per run, reporting JSON on stdout.

    python bench/_watchclients.py --client NAME --endpoint HOST:PORT --key K --range-end E \
        --start-revision R --n N [--stubs DIR] [--options JSON] [--ready]

The consumer connects, warms up with one get, opens a watch on ``[K, E)`` from revision ``R``,
and reads events until it has ``N``, touching each event's key and value as a user would. It
prints one JSON line: ``events``, ``wall`` and ``cpu`` seconds (``time.process_time()`` of this
process, all its threads) from just before the watch was created to the N-th event, and
``t_end`` (``time.monotonic()`` at the N-th event; the clock is system-wide, so the orchestrator
can compare it with its own). With ``--ready`` it first prints ``ready`` once the watch was
requested (for the live scenario, where a writer starts afterwards).

Only the standard library is imported at module level: the python-etcd3 consumer runs in a
separate venv (see bench/README.md) whose protobuf is too old for etcdmap.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from typing import Any

CLIENTS = ("etcdmap-sync", "etcdmap-async", "raw-sync", "raw-aio", "python-etcd3", "aetcd")
#: etcdmap sends this on its Watch stream (Go's WithRequireLeader); the raw stubs do the same.
HASLEADER = (("hasleader", "true"),)
WARM_KEY = b"/warm-up"


class Clock:
    """Wall and process-CPU time from ``start()`` to ``stop()``."""

    def __init__(self, ready: bool) -> None:
        self.announce = ready
        self.result: dict[str, Any] = {}

    def start(self) -> None:
        self.wall0, self.cpu0 = time.monotonic(), time.process_time()

    def ready(self) -> None:
        if self.announce:
            print("ready", flush=True)

    def stop(self, events: int) -> None:
        end, cpu = time.monotonic(), time.process_time()
        self.result = {"events": events, "wall": end - self.wall0, "cpu": cpu - self.cpu0,
                       "t_start": self.wall0, "t_end": end}  # fmt: skip


# --------------------------------------------------------------------------- etcdmap


def etcdmap_sync(a: argparse.Namespace, clock: Clock) -> None:
    import etcdmap

    with etcdmap.Client([a.endpoint]) as client:
        client.get(WARM_KEY)
        clock.start()
        n = 0
        with client.watch(a.key, range_end=a.range_end, start_revision=a.start_revision) as w:
            clock.ready()
            for response in w:
                for event in response.events:
                    event.kv.key  # noqa: B018
                    event.kv.value  # noqa: B018
                    n += 1
                if n >= a.n:
                    break
            clock.stop(n)


async def etcdmap_async(a: argparse.Namespace, clock: Clock) -> None:
    import etcdmap

    async with etcdmap.AsyncClient([a.endpoint]) as client:
        await client.get(WARM_KEY)
        clock.start()
        n = 0
        watcher = client.watch(a.key, range_end=a.range_end, start_revision=a.start_revision)
        async with watcher as w:
            clock.ready()
            async for response in w:
                for event in response.events:
                    event.kv.key  # noqa: B018
                    event.kv.value  # noqa: B018
                    n += 1
                if n >= a.n:
                    break
            clock.stop(n)


# --------------------------------------------------------------------------- raw stubs


def _create_request(pb2: Any, a: argparse.Namespace) -> Any:
    create = pb2.WatchCreateRequest(
        key=a.key, range_end=a.range_end, start_revision=a.start_revision
    )
    return pb2.WatchRequest(create_request=create)


def raw_sync(a: argparse.Namespace, clock: Clock) -> None:
    """``WatchStub.Watch(iterator of requests)`` on a blocking channel."""
    import queue

    import grpc
    from _common import load_stubs

    stubs = load_stubs(a.stubs)
    pb2 = stubs.pb2
    channel = grpc.insecure_channel(a.endpoint, options=a.options)
    stubs.grpc_pb2.KVStub(channel).Range(pb2.RangeRequest(key=WARM_KEY))
    clock.start()
    requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
    requests.put(_create_request(pb2, a))

    def outgoing() -> Any:
        while (request := requests.get()) is not None:
            yield request

    call = stubs.grpc_pb2.WatchStub(channel).Watch(outgoing(), metadata=HASLEADER)
    clock.ready()
    n = 0
    for response in call:
        for event in response.events:
            event.kv.key  # noqa: B018
            event.kv.value  # noqa: B018
            n += 1
        if n >= a.n:
            break
    clock.stop(n)
    requests.put(None)
    call.cancel()
    channel.close()


async def raw_aio(a: argparse.Namespace, clock: Clock) -> None:
    """``WatchStub.Watch()`` on a grpc.aio channel: ``write`` the create, ``read`` responses."""
    import grpc.aio
    from _common import load_stubs

    stubs = load_stubs(a.stubs)
    pb2 = stubs.pb2
    channel = grpc.aio.insecure_channel(a.endpoint, options=a.options)
    await stubs.grpc_pb2.KVStub(channel).Range(pb2.RangeRequest(key=WARM_KEY))
    clock.start()
    call = stubs.grpc_pb2.WatchStub(channel).Watch(metadata=HASLEADER)
    await call.write(_create_request(pb2, a))
    clock.ready()
    n = 0
    while n < a.n:
        response = await call.read()
        if response is grpc.aio.EOF:
            break
        for event in response.events:
            event.kv.key  # noqa: B018
            event.kv.value  # noqa: B018
            n += 1
    clock.stop(n)
    call.cancel()
    await channel.close()


# --------------------------------------------------------------------------- other libraries


def python_etcd3(a: argparse.Namespace, clock: Clock) -> None:
    """python-etcd3 (``etcd3`` 0.12.0): ``watch()`` returns an event iterator and a cancel."""
    import etcd3  # type: ignore[import-not-found]

    host, port = a.endpoint.rsplit(":", 1)
    client = etcd3.client(host, int(port))
    client.get(WARM_KEY)
    clock.start()
    events, cancel = client.watch(a.key, range_end=a.range_end, start_revision=a.start_revision)
    clock.ready()
    n = 0
    for event in events:
        event.key  # noqa: B018
        event.value  # noqa: B018
        n += 1
        if n >= a.n:
            break
    clock.stop(n)
    cancel()
    client.close()


async def aetcd_(a: argparse.Namespace, clock: Clock) -> None:
    """aetcd: ``await client.watch()`` returns an async iterator of events."""
    import aetcd  # type: ignore[import-not-found]

    host, port = a.endpoint.rsplit(":", 1)
    async with aetcd.Client(host, int(port)) as client:
        await client.get(WARM_KEY)
        clock.start()
        watch = await client.watch(a.key, range_end=a.range_end, start_revision=a.start_revision)
        clock.ready()
        n = 0
        async for event in watch:
            event.kv.key  # noqa: B018
            event.kv.value  # noqa: B018
            n += 1
            if n >= a.n:
                break
        clock.stop(n)
        await watch.cancel()


CONSUMERS: dict[str, Callable[[argparse.Namespace, Clock], Any]] = {
    "etcdmap-sync": etcdmap_sync,
    "etcdmap-async": etcdmap_async,
    "raw-sync": raw_sync,
    "raw-aio": raw_aio,
    "python-etcd3": python_etcd3,
    "aetcd": aetcd_,
}


def consume(a: argparse.Namespace) -> dict[str, Any]:
    """Run the consumer ``a.client``; its timings and event count."""
    clock = Clock(a.ready)
    result = CONSUMERS[a.client](a, clock)
    if asyncio.iscoroutine(result):
        asyncio.run(result)
    return dict(clock.result, client=a.client)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--client", choices=CLIENTS, required=True)
    p.add_argument("--endpoint", required=True, help="HOST:PORT")
    p.add_argument("--key", required=True, help="first key watched")
    p.add_argument("--range-end", required=True, help="end of the watched range (exclusive)")
    p.add_argument("--start-revision", type=int, required=True)
    p.add_argument("--n", type=int, required=True, help="events to consume")
    p.add_argument("--stubs", help="directory of the generated raw stubs")
    p.add_argument("--options", default="[]", help="grpc channel options (JSON) for raw stubs")
    p.add_argument("--ready", action="store_true", help='print "ready" once watching')
    a = p.parse_args(argv)
    a.key, a.range_end = a.key.encode(), a.range_end.encode()
    a.options = [tuple(o) for o in json.loads(a.options)]
    return a


if __name__ == "__main__":
    print(json.dumps(consume(parse_args())), flush=True)
    sys.stdout.flush()
