"""Async-only concurrency cases: a task cancelled while its lock's queueing Txn is out (the
blocking flavour has no task to cancel; its Ctrl-C takes the same path)."""

from __future__ import annotations

import asyncio

import pytest
from _async.helpers import unknown_outcomes_leave_no_key

from etcdmap import AsyncClient
from etcdmap.concurrency import AsyncMutex, AsyncSession
from etcdmap.testing import EtcdServer


async def test_a_lock_cancelled_while_queueing_leaves_no_key(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    if etcd_server.pid is None:
        pytest.skip("needs a local etcd to freeze")
    lock = etcd_prefix + "lock"
    async with AsyncClient(etcd_server.endpoints) as c, AsyncSession(c, ttl=30) as mine:
        await mine.start()

        async def cancelled_acquire() -> None:
            task = asyncio.create_task(AsyncMutex(mine, lock).acquire())
            await asyncio.sleep(0.2)  # the Txn is out, the server frozen
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        applied = await unknown_outcomes_leave_no_key(
            etcd_server, c, mine.lease_id, lock, cancelled_acquire
        )
        async with AsyncSession(c, ttl=30) as theirs:
            assert await AsyncMutex(theirs, lock).acquire(timeout=1)
    if not applied:
        pytest.skip("the frozen server applied none of the cancelled writes: nothing checked")
