"""The handles of a watch: ``client.watch()`` gives a ``Watcher``, ``client.watch_callback()``
a ``WatchCallback``, a namespace view's ``watch()`` a ``NamespaceWatcher``, a map's
``watch()`` a ``MapWatcher`` (the ``Async...``
ones for an ``AsyncClient``). What they deliver, ``WatchResponse``, ``Event`` and
``EventType``, is in ``etcdmap``.
"""

from __future__ import annotations

from ._async.map_watch import AsyncMapWatcher
from ._async.namespace import AsyncNamespaceWatcher
from ._async.watch import AsyncWatchCallback, AsyncWatcher
from ._core.public import publish
from ._sync.map_watch import MapWatcher
from ._sync.namespace import NamespaceWatcher
from ._sync.watch import WatchCallback, Watcher

__all__ = [
    "AsyncMapWatcher",
    "AsyncNamespaceWatcher",
    "AsyncWatchCallback",
    "AsyncWatcher",
    "MapWatcher",
    "NamespaceWatcher",
    "WatchCallback",
    "Watcher",
]

publish(__name__)
