"""Notebook-grade views against a real etcd: the displays of maps and mirrors (IPython's own
display formatter) with structured values as columns, key completion, ``to_pandas()``, and
pydantic models, attrs classes and TypedDicts as value types.

Written for AsyncEtcdMap and AsyncMirror; tests/_sync/test_map_views.py is generated from it
by scripts/unasync. What only one flavour does (the asyncio map shows what it fetched last,
the blocking one reads) is in tests/test_views_notebook.py.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import TypedDict

import attrs
import msgspec
import pydantic
import pytest
from IPython.core.formatters import DisplayFormatter

from etcdmap import AsyncClient, AsyncEtcdMap, AsyncMirror, ValueDecodeError
from etcdmap.codecs import Json, MsgPack


@dataclasses.dataclass
class Limits:
    cpu: int
    memory: str


class Service(msgspec.Struct):
    owner: str
    port: int
    limits: Limits
    labels: dict[str, str] = {}


SERVICES = {
    "web": Service("alice", 80, Limits(2, "1Gi"), {"tier": "front"}),
    "db": Service("bob", 5432, Limits(4, "8Gi")),
}
FIELDS = ["owner", "port", "limits.cpu", "limits.memory", "labels.tier"]


async def test_displays_show_fields_as_columns(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    c = async_etcd_client
    m = AsyncEtcdMap(c, etcd_prefix, value_type=Service)
    await m.update(SERVICES)
    await c.put(etcd_prefix + "zz", b"garbage")
    await m.preview()
    formatter = DisplayFormatter()
    shown, _ = formatter.format(m)
    html = shown["text/html"]
    for column in [*FIELDS, "size", "mod_revision"]:
        assert f"<th>{column}</th>" in html
    assert "<td>alice</td>" in html and "<td>8Gi</td>" in html and "does not decode" in html
    plain = shown["text/plain"].splitlines()
    assert plain[0].startswith(f"AsyncEtcdMap({etcd_prefix!r}, Json(Service)): 3 keys")
    assert plain[1].split() == ["key", *FIELDS, "size", "mod_revision"]
    assert plain[2].split()[:5] == ["db", "bob", "5432", "4", "8Gi"]
    assert m._ipython_key_completions_() == ["db", "web", "zz"]
    async with AsyncMirror.of_map(m) as mirror:
        shown, _ = formatter.format(mirror)
        assert "2 keys" in shown["text/html"] and "<th>limits.memory</th>" in shown["text/html"]
        assert "mod_revision" not in shown["text/html"]  # a mirror keeps no per-key revision
        assert shown["text/plain"].startswith(f"AsyncMirror [ready]({etcd_prefix!r}")
        assert mirror._ipython_key_completions_() == ["db", "web"]


async def test_to_pandas_one_column_per_field(
    async_etcd_client: AsyncClient, etcd_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = async_etcd_client
    m = AsyncEtcdMap(c, etcd_prefix, value_type=Service, page_size=1)
    result = await m.update(SERVICES)
    frame = await m.to_pandas()
    assert list(frame.columns) == [*FIELDS, "mod_revision"]
    assert list(frame.index) == ["db", "web"] and frame.index.name == "key"
    assert frame.loc["web", "limits.memory"] == "1Gi" and frame.loc["web", "port"] == 80
    assert frame.loc["db", "mod_revision"] == result.revision
    assert frame.attrs["revision"] == result.revision
    shallow = await m.to_pandas(depth=1)
    assert shallow.loc["db", "limits"] == {"cpu": 4, "memory": "8Gi"}
    async with AsyncMirror.of_map(m) as mirror:
        local = mirror.to_pandas()
        assert list(local.columns) == FIELDS and local.equals(frame[FIELDS])
        monkeypatch.setitem(sys.modules, "pandas", None)  # as if it were not installed
        with pytest.raises(ImportError, match=r"pip install 'etcdmap\[pandas\]'"):
            mirror.to_pandas()
    with pytest.raises(ImportError, match=r"etcdmap\[pandas\]"):
        await m.to_pandas()
    await c.put(etcd_prefix + "zz", b"garbage")
    monkeypatch.undo()
    with pytest.raises(ValueDecodeError):
        await m.to_pandas()


class Owner(pydantic.BaseModel):
    name: str
    email: str | None = None


@attrs.define
class Quota:
    cpu: int


class Note(TypedDict):
    text: str


async def test_value_types_pydantic_attrs_and_typeddict(
    async_etcd_client: AsyncClient, etcd_prefix: str
) -> None:
    c = async_etcd_client
    owners = AsyncEtcdMap(c, etcd_prefix + "owners/", value_type=Owner)
    await owners.set("a", Owner(name="alice"))
    await owners.update({"b": Owner(name="bob", email="b@x")})
    assert await owners["a"] == Owner(name="alice")
    with pytest.raises(TypeError, match="not a valid Owner"):
        await owners.set("c", {"name": 3})  # type: ignore[arg-type]
    wrong = Owner(name="carol")
    wrong.name = 3  # type: ignore[assignment]  # pydantic does not check assignments
    with pytest.raises(TypeError, match="not a valid Owner"):
        await owners.set("c", wrong)
    await c.put(etcd_prefix + "owners/d", b'{"email": "no name"}')
    with pytest.raises(ValueDecodeError, match="owners/|'d'"):
        await owners["d"]
    packed = AsyncEtcdMap(c, etcd_prefix + "packed/", codec=MsgPack(Owner))
    await packed.set("a", Owner(name="alice", email="a@x"))
    assert await packed["a"] == Owner(name="alice", email="a@x")
    preview = await owners.preview()
    assert preview.rows[0].fields == {"name": "alice", "email": None}
    async with AsyncMirror.of_map(owners) as mirror:
        assert mirror["b"].email == "b@x" and set(mirror.invalid) == {"d"}
    quotas = AsyncEtcdMap(c, etcd_prefix + "quotas/", codec=Json(Quota))
    await quotas.set("q", Quota(2))
    assert await quotas["q"] == Quota(2)
    notes = AsyncEtcdMap(c, etcd_prefix + "notes/", value_type=Note)
    await notes.set("n", {"text": "hi"})
    assert await notes["n"] == {"text": "hi"}
    with pytest.raises(TypeError):
        await notes.set("n", {"text": 1})  # type: ignore[typeddict-item]
