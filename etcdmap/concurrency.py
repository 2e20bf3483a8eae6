"""Locks, elections, software transactions and the recipes built on them (Go's
``clientv3/concurrency`` and ``contrib/recipes``), and the results of etcd's own lock and
election services (``client.lock()``, ``client.election_campaign()``, ...).

``Session(client)`` keeps a lease alive; ``Mutex``, ``RWMutex``, ``Election``, the barriers
and ``Queue`` hold their keys on it. ``Election.resume(session, prefix, key, rev)`` takes over
an election led before a restart. The ``Async...`` classes are the same for an ``AsyncClient``.
"""

from __future__ import annotations

from ._async.concurrency import (
    AsyncElection,
    AsyncElectionObserver,
    AsyncMutex,
    AsyncSession,
    AsyncSTM,
)
from ._async.election_service import AsyncLeaderStream
from ._async.recipes import AsyncBarrier, AsyncDoubleBarrier, AsyncQueue, AsyncRWMutex
from ._core.concurrency import (
    CampaignResponse,
    HeaderResponse,
    LeaderKey,
    LeaderResponse,
    LockResponse,
)
from ._core.public import publish
from ._sync.concurrency import STM, Election, ElectionObserver, Mutex, Session
from ._sync.election_service import LeaderStream
from ._sync.recipes import Barrier, DoubleBarrier, Queue, RWMutex

__all__ = [
    "AsyncBarrier",
    "AsyncDoubleBarrier",
    "AsyncElection",
    "AsyncElectionObserver",
    "AsyncLeaderStream",
    "AsyncMutex",
    "AsyncQueue",
    "AsyncRWMutex",
    "AsyncSTM",
    "AsyncSession",
    "Barrier",
    "CampaignResponse",
    "DoubleBarrier",
    "Election",
    "ElectionObserver",
    "HeaderResponse",
    "LeaderKey",
    "LeaderResponse",
    "LeaderStream",
    "LockResponse",
    "Mutex",
    "Queue",
    "RWMutex",
    "STM",
    "Session",
]

publish(__name__)
