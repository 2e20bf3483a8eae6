"""What a static checker infers for the user's objects: checked by mypy and pyright (run by
tests/test_project.py), never run. Each ``assert_type`` fails the checker when the inferred
type differs."""

from __future__ import annotations

from typing import Any

import msgspec
from typing_extensions import assert_type

from etcdmap import (
    AsyncClient,
    AsyncEtcdMap,
    AsyncMirror,
    Client,
    EtcdMap,
    KeyValue,
    Mirror,
)
from etcdmap.codecs import Json, MsgPack, Str


class Config(msgspec.Struct):
    mode: str


class Point:
    """A value with a codec of the user's own."""


class PointCodec:
    def encode(self, value: Point, /) -> bytes:
        return b""

    def decode(self, data: bytes, /) -> Point:
        return Point()


def maps(client: Client) -> None:
    assert_type(EtcdMap(client, "/p/"), EtcdMap[bytes])
    assert_type(EtcdMap(client, "/p/", value_type=Config), EtcdMap[Config])
    assert_type(EtcdMap(client, "/p/", value_type=list[int]), EtcdMap[list[int]])
    assert_type(EtcdMap(client, "/p/", codec=Str()), EtcdMap[str])
    assert_type(EtcdMap(client, "/p/", codec=Json(Config)), EtcdMap[Config])
    assert_type(EtcdMap(client, "/p/", codec=MsgPack(Config)), EtcdMap[Config])
    assert_type(EtcdMap(client, "/p/", codec=PointCodec(), page_size=10), EtcdMap[Point])
    # a type that is no class (a union) is accepted, as Any
    assert_type(EtcdMap(client, "/p/", value_type=int | None), EtcdMap[Any])
    m = EtcdMap(client, "/p/", value_type=Config)
    assert_type(m["a"], Config)
    assert_type(EtcdMap(client, "/p/")["a"], bytes)


async def async_maps(client: AsyncClient) -> None:
    assert_type(AsyncEtcdMap(client, "/p/"), AsyncEtcdMap[bytes])
    assert_type(AsyncEtcdMap(client, "/p/", value_type=Config), AsyncEtcdMap[Config])
    assert_type(AsyncEtcdMap(client, "/p/", codec=PointCodec()), AsyncEtcdMap[Point])
    assert_type(await AsyncEtcdMap(client, "/p/", value_type=Config)["a"], Config)


def mirrors(client: Client) -> None:
    assert_type(Mirror(client, "/p/"), Mirror[bytes])
    assert_type(Mirror(client, "/p/", value_type=Config, timeout=5), Mirror[Config])
    assert_type(Mirror(client, "/p/", codec=Str()), Mirror[str])
    with Mirror(client, "/p/", value_type=Config) as mirror:
        assert_type(mirror["a"], Config)
        assert_type(mirror.map, EtcdMap[Config])


async def async_mirrors(client: AsyncClient) -> None:
    assert_type(AsyncMirror(client, "/p/"), AsyncMirror[bytes])
    assert_type(AsyncMirror(client, "/p/", codec=PointCodec()), AsyncMirror[Point])
    async with AsyncMirror(client, "/p/", value_type=Config) as mirror:
        assert_type(mirror["a"], Config)


def responses(client: Client) -> None:
    found = client.get("/p/a")
    assert_type(found.kv, KeyValue | None)
    assert_type(found.value, bytes | None)
