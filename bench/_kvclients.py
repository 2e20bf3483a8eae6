"""The four clients under test, behind one small interface, and the raw protoc baseline.

Every client exposes ``put(key, value)``, ``get(key) -> value`` and ``scan(prefix) -> n``
(a whole-prefix range whose kvs are iterated reading ``.key`` and ``.value``, as a user would).
The async clients expose the same names as coroutines. Both sides do the same user-level work,
so the difference between them is the client library's own cost.
"""

from __future__ import annotations

from typing import Any

import grpc
import grpc.aio
from _common import RawStubs, prefix_end

import etcdmap

SYNC_CLIENTS = ("etcdmap-sync", "raw-sync")
ASYNC_CLIENTS = ("etcdmap-async", "raw-aio")
ALL_CLIENTS = ("etcdmap-sync", "etcdmap-async", "raw-sync", "raw-aio")


def channel_options() -> list[tuple[str, Any]]:
    """The channel options a default ``etcdmap.Client`` uses (read from it, so they track it)."""
    options = getattr(etcdmap.Client("127.0.0.1:1"), "_options", None)
    if options is None:  # etcdmap's layout changed: its documented defaults
        return [
            ("grpc.max_send_message_length", 2 * 1024 * 1024),
            ("grpc.max_receive_message_length", -1),
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.keepalive_timeout_ms", 10_000),
            ("grpc.keepalive_permit_without_calls", 0),
        ]
    return list(options)


# --------------------------------------------------------------------------- helpers


def touch(kvs: Any) -> int:
    """Read ``.key`` and ``.value`` of every kv, as a user iterating a range would."""
    n = 0
    for kv in kvs:
        kv.key  # noqa: B018
        kv.value  # noqa: B018
        n += 1
    return n


# --------------------------------------------------------------------------- sync clients


class EtcdmapSync:
    """``etcdmap.Client``."""

    def __init__(self, endpoint: str, stubs: RawStubs | None = None) -> None:
        self.client = etcdmap.Client([endpoint])

    def put(self, key: bytes, value: bytes) -> None:
        self.client.put(key, value)

    def get(self, key: bytes) -> bytes:
        return self.client.get(key).kvs[0].value

    def scan(self, prefix: bytes) -> int:
        return touch(self.client.get_prefix(prefix).kvs)

    def close(self) -> None:
        self.client.close()


class RawSync:
    """``rpc_pb2_grpc.KVStub`` on a blocking ``grpc.insecure_channel``."""

    def __init__(self, endpoint: str, stubs: RawStubs) -> None:
        self.pb2 = stubs.pb2
        self.channel = grpc.insecure_channel(endpoint, options=channel_options())
        self.stub = stubs.grpc_pb2.KVStub(self.channel)

    def put(self, key: bytes, value: bytes) -> None:
        self.stub.Put(self.pb2.PutRequest(key=key, value=value))

    def get(self, key: bytes) -> bytes:
        return self.stub.Range(self.pb2.RangeRequest(key=key)).kvs[0].value

    def scan(self, prefix: bytes) -> int:
        request = self.pb2.RangeRequest(key=prefix, range_end=prefix_end(prefix))
        return touch(self.stub.Range(request).kvs)

    def close(self) -> None:
        self.channel.close()


# --------------------------------------------------------------------------- async clients


class EtcdmapAsync:
    """``etcdmap.AsyncClient`` (create inside the event loop that uses it)."""

    def __init__(self, endpoint: str, stubs: RawStubs | None = None) -> None:
        self.client = etcdmap.AsyncClient([endpoint])

    async def put(self, key: bytes, value: bytes) -> None:
        await self.client.put(key, value)

    async def get(self, key: bytes) -> bytes:
        return (await self.client.get(key)).kvs[0].value

    async def scan(self, prefix: bytes) -> int:
        return touch((await self.client.get_prefix(prefix)).kvs)

    async def aclose(self) -> None:
        await self.client.aclose()


class RawAio:
    """``rpc_pb2_grpc.KVStub`` on a ``grpc.aio.insecure_channel``."""

    def __init__(self, endpoint: str, stubs: RawStubs) -> None:
        self.pb2 = stubs.pb2
        self.channel = grpc.aio.insecure_channel(endpoint, options=channel_options())
        self.stub = stubs.grpc_pb2.KVStub(self.channel)

    async def put(self, key: bytes, value: bytes) -> None:
        await self.stub.Put(self.pb2.PutRequest(key=key, value=value))

    async def get(self, key: bytes) -> bytes:
        return (await self.stub.Range(self.pb2.RangeRequest(key=key))).kvs[0].value

    async def scan(self, prefix: bytes) -> int:
        request = self.pb2.RangeRequest(key=prefix, range_end=prefix_end(prefix))
        return touch((await self.stub.Range(request)).kvs)

    async def aclose(self) -> None:
        await self.channel.close()


SyncClient = EtcdmapSync | RawSync
AsyncClient = EtcdmapAsync | RawAio
FACTORIES: dict[str, Any] = {
    "etcdmap-sync": EtcdmapSync,
    "raw-sync": RawSync,
    "etcdmap-async": EtcdmapAsync,
    "raw-aio": RawAio,
}


def make_client(name: str, endpoint: str, stubs: RawStubs) -> Any:
    """Build the client called ``name`` (async ones inside the running loop)."""
    return FACTORIES[name](endpoint, stubs)
