"""python-etcd3's ``Lock``: its key layout and protocol, so that python-etcd3 processes and
these locks exclude each other.

The lock is the key ``/locks/<name>``, created (create revision 0 → put) with a random value
on a lease of ``ttl`` seconds; it is released by deleting the key if it still holds that
value, or when the lease expires. Unlike python-etcd3, a waiting ``acquire`` watches for the
key's deletion from the revision it found the key at (so no release is missed), revokes the
lease of each failed attempt, and ``release`` revokes the lease.
"""

from __future__ import annotations

import time
import uuid
from types import TracebackType
from typing import Any

from ...errors import LeaseNotFoundError
from .exceptions import GrpcError, LockTimedOut, WatchTimedOut
from .leases import Lease

__all__ = ["Lock"]


class Lock:
    """A lock on ``/locks/<name>`` held for ``ttl`` seconds unless ``refresh()``-ed.

    Use ``acquire()`` / ``release()``, or ``with client.lock(name, ttl=20) as lock:``
    (``LockTimedOut`` if it is not acquired within 10 s).
    """

    lock_prefix = "/locks/"

    def __init__(self, name: str, ttl: int = 60, etcd_client: Any = None) -> None:
        self.name = name
        self.ttl = ttl
        if etcd_client is not None:
            #: The Etcd3Client the lock runs on (python-etcd3 let a subclass set it instead).
            self.etcd_client = etcd_client
        self.key = self.lock_prefix + name
        self.lease: Lease | None = None
        #: The value that marks this lock object as the holder.
        self.uuid = uuid.uuid1().bytes

    def acquire(self, timeout: float | None = 10) -> bool:
        """Take the lock, waiting up to ``timeout`` seconds (None: as long as it takes; 0:
        one attempt). True once held, False if another holder kept it all along (also when
        this object holds it already: the lock is not reentrant)."""
        client = self.etcd_client
        tx = client.transactions
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            lease = client.lease(self.ttl)
            held, responses = client.transaction(
                compare=[tx.create(self.key) == 0],
                success=[tx.put(self.key, self.uuid, lease=lease)],
                failure=[tx.get(self.key)],
            )
            if held:
                self.lease = lease
                return True
            lease.revoke()
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            self._wait_for_release(responses, left)

    def _wait_for_release(self, responses: list[Any], timeout: float | None) -> None:
        """Wait until the key the failed attempt saw is deleted (a watch from the revision
        after that attempt), or ``timeout`` passes."""
        found = responses[0]
        start = found[0][1].response_header.revision + 1 if found else None
        try:
            self.etcd_client.watch_once(
                self.key, timeout=timeout, start_revision=start, filters=["noput"]
            )
        except WatchTimedOut:
            pass

    def release(self) -> bool:
        """Release the lock if this object holds it: True if it did, False if not."""
        client = self.etcd_client
        tx = client.transactions
        released, _ = client.transaction(
            compare=[tx.value(self.key) == self.uuid],
            success=[tx.delete(self.key)],
            failure=[],
        )
        lease, self.lease = self.lease, None
        if released and lease is not None:
            try:
                lease.revoke()
            except GrpcError as error:  # it expired just after the release: nothing to free
                if not isinstance(error.error, LeaseNotFoundError):
                    raise
        return bool(released)

    def refresh(self) -> list[Any]:
        """Renew the lock's lease (Lease.LeaseKeepAlive); ``ValueError`` before ``acquire``."""
        if self.lease is None:
            raise ValueError(f"lock {self.name!r} has no lease: acquire it first")
        return self.lease.refresh()

    def is_acquired(self) -> bool:
        """Whether this object holds the lock now (a linearizable read of its key)."""
        value, _ = self.etcd_client.get(self.key)
        return bool(value == self.uuid)

    def __enter__(self) -> Lock:
        if not self.acquire():
            raise LockTimedOut(f"lock {self.name!r} not acquired within 10 s")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
