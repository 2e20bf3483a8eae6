"""``namespace(client, prefix)``: the namespace view matching the client's flavour."""

from __future__ import annotations

from typing import overload

from ._async.client import AsyncClient
from ._async.namespace import AsyncNamespace
from ._sync.client import Client
from ._sync.namespace import Namespace

__all__ = ["namespace"]


@overload
def namespace(client: AsyncClient | AsyncNamespace, prefix: bytes | str) -> AsyncNamespace: ...


@overload
def namespace(client: Client | Namespace, prefix: bytes | str) -> Namespace: ...


def namespace(
    client: AsyncClient | AsyncNamespace | Client | Namespace, prefix: bytes | str
) -> AsyncNamespace | Namespace:
    """A view of ``client`` whose keys all live under ``prefix`` (no RPC; Go's
    ``namespace.NewKV/NewWatcher/NewLease`` in one object).

    An ``AsyncClient`` (or ``AsyncNamespace``) gives an ``AsyncNamespace``, a ``Client`` (or
    ``Namespace``) a ``Namespace``; a view of a view nests the prefixes. Keys given to the view
    and returned by it are relative to ``prefix``; see ``Namespace``.

    Example::

        app = etcdmap.namespace(client, "/app/")
        app.put("mode", "fast")                  # stored as /app/mode
        assert app.get("mode").kvs[0].key == b"mode"
    """
    if isinstance(client, (AsyncClient, AsyncNamespace)):
        return AsyncNamespace(client, prefix)
    if isinstance(client, (Client, Namespace)):
        return Namespace(client, prefix)
    raise TypeError(
        f"namespace() needs a Client, AsyncClient or namespace view, not {type(client).__name__}"
    )
