"""The v3lock service: locks held by the server for the caller's lease."""

from __future__ import annotations

from .._core import concurrency as core
from .._core.concurrency import HeaderResponse, LockResponse
from .._core.kv import LeaseLike
from .base import AsyncClientBase

__all__ = ["AsyncLockService"]


class AsyncLockService(AsyncClientBase):
    """``lock`` / ``unlock`` of ``AsyncClient``: etcd's server-side lock service (the same
    keys and queue as ``AsyncMutex`` and ``etcdctl lock``, run by the server)."""

    async def lock(
        self, name: bytes | str, lease: LeaseLike, *, timeout: float | None = None
    ) -> LockResponse:
        """Wait until the lock ``name`` is held for ``lease`` (Lock.Lock) and return its
        owner ``key`` (``name/<lease in hex>``).

        The server queues and waits as ``AsyncMutex`` does; the key lives as long as
        ``lease``, which the caller keeps alive (e.g. ``lease_keep_alive``). When ``timeout``
        passes first, ``DeadlineExceededError`` and the server withdraws the key.
        """
        request = core.lock_request(name, lease)
        return core.parse_lock(await self._unary("lock", request, timeout))

    async def unlock(self, key: bytes | str, *, timeout: float | None = None) -> HeaderResponse:
        """Release a lock by deleting the ``key`` that ``lock`` returned (Lock.Unlock)."""
        response = await self._unary("unlock", core.unlock_request(key), timeout)
        return core.parse_header_only(response)
