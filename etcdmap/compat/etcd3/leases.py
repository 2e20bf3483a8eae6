"""python-etcd3's ``Lease``."""

from __future__ import annotations

from typing import Any

__all__ = ["Lease"]


class Lease:
    """A granted lease: ``id`` and the ``ttl`` the server granted, with the calls of its
    client that take it."""

    def __init__(self, lease_id: int, ttl: int, etcd_client: Any = None) -> None:
        self.id = lease_id
        self.ttl = ttl
        self.etcd_client = etcd_client

    def _client(self) -> Any:  # an Etcd3Client (which imports this module)
        if self.etcd_client is None:
            raise ValueError(f"lease {self.id:#x} has no etcd_client")
        return self.etcd_client

    def _get_lease_info(self) -> Any:
        return self._client().get_lease_info(self.id)

    def revoke(self) -> None:
        """Revoke the lease, deleting its keys (Lease.LeaseRevoke)."""
        self._client().revoke_lease(self.id)

    def refresh(self) -> list[Any]:
        """Renew the lease once (Lease.LeaseKeepAlive): ``[LeaseKeepAliveResponse]``, whose
        ``TTL`` is 0 when the lease is gone."""
        return list(self._client().refresh_lease(self.id))

    @property
    def remaining_ttl(self) -> int:
        """Seconds left (Lease.LeaseTimeToLive); -1 once expired."""
        return int(self._get_lease_info().TTL)

    @property
    def granted_ttl(self) -> int:
        """The TTL it was granted with (Lease.LeaseTimeToLive)."""
        return int(self._get_lease_info().grantedTTL)

    @property
    def keys(self) -> list[bytes]:
        """The keys attached to it (Lease.LeaseTimeToLive)."""
        return list(self._get_lease_info().keys)
