"""Leases: the handles and results of ``client.lease_grant()``, ``lease_keep_alive()``,
``lease_time_to_live()``, ``leases()``, ... (the ``Async...`` handles for an ``AsyncClient``).
"""

from __future__ import annotations

from ._async.lease import AsyncLease, AsyncLeaseKeepAlive
from ._core.lease import (
    LeaseKeepAliveResponse,
    LeaseRevokeResponse,
    LeaseStatus,
    LeaseTimeToLive,
)
from ._core.public import publish
from ._sync.lease import Lease, LeaseKeepAlive

__all__ = [
    "AsyncLease",
    "AsyncLeaseKeepAlive",
    "Lease",
    "LeaseKeepAlive",
    "LeaseKeepAliveResponse",
    "LeaseRevokeResponse",
    "LeaseStatus",
    "LeaseTimeToLive",
]

publish(__name__)
