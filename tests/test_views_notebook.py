"""What each flavour of map shows in IPython (the display formatter a notebook uses, and the
terminal's ``pretty()``): the blocking map reads a preview, the asyncio map (which a display
cannot await) what it fetched last."""

from __future__ import annotations

from typing import Any

import msgspec
from IPython.core.formatters import DisplayFormatter
from IPython.lib.pretty import pretty

from etcdmap import AsyncClient, AsyncEtcdMap, Client, EtcdMap


class Point(msgspec.Struct):
    x: int
    y: int


def test_terminal_pretty_shows_the_preview_not_the_repr(
    etcd_client: Client, etcd_prefix: str
) -> None:
    m = EtcdMap(etcd_client, etcd_prefix, value_type=Point)
    m.update({f"p{i:02}": Point(i, -i) for i in range(12)})
    text = pretty(m)
    assert text.startswith(f"EtcdMap({etcd_prefix!r}, Json(Point)): 12 keys")
    assert text.splitlines()[1].split() == ["key", "x", "y", "size", "mod_revision"]
    assert text.splitlines()[-1] == "... and 2 more"
    shown, _ = DisplayFormatter().format(m)
    assert "<th>x</th>" in shown["text/html"] and shown["text/plain"] == text
    assert "<td>p09</td>" in shown["text/html"] and "p10" not in shown["text/html"]
    assert pretty([m]).startswith("[EtcdMap(")  # inside a container: one line


async def test_the_asyncio_map_shows_what_it_fetched_last(
    etcd_server: Any, etcd_prefix: str
) -> None:
    async with AsyncClient(etcd_server.endpoints) as client:
        m = AsyncEtcdMap(client, etcd_prefix, value_type=Point)
        await m.update({"a": Point(1, 2), "b": Point(3, 4)})
        formatter = DisplayFormatter()
        before, _ = formatter.format(m)
        assert "await m.preview()" in before["text/html"] and before["text/plain"] == repr(m)
        assert m._ipython_key_completions_() == []
        assert await m.completion_keys() == ["a", "b"]
        assert m._ipython_key_completions_() == ["a", "b"]
        await m.set("c", Point(5, 6))
        preview = await m.preview(2)
        after, _ = formatter.format(m)
        assert after["text/plain"] == preview.text() == pretty(m)
        assert "<th>y</th>" in after["text/html"] and "and 1 more" in after["text/html"]
        assert m._ipython_key_completions_() == ["a", "b"]
