"""Copy a prefix to another cluster and keep it in step (Go's ``clientv3/mirror`` and
``etcdctl make-mirror``).

``PrefixCopy(source, destination, prefix)`` (``AsyncPrefixCopy`` for two ``AsyncClient``)
copies and follows the prefix until stopped: ``with PrefixCopy(...) as copy:`` or
``copy = PrefixCopy(...).start()``. ``Syncer`` is Go's lower-level mirror syncer.
"""

from __future__ import annotations

from ._async.syncer import AsyncPrefixCopy, AsyncSyncer
from ._core.public import publish
from ._core.syncer import CopyProgress
from ._sync.syncer import PrefixCopy, Syncer

__all__ = [
    "AsyncPrefixCopy",
    "AsyncSyncer",
    "CopyProgress",
    "PrefixCopy",
    "Syncer",
]

publish(__name__)
