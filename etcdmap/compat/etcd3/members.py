"""python-etcd3's ``Member``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["Member"]


class Member:
    """A member of the cluster: ``id``, ``name``, ``peer_urls`` and ``client_urls``."""

    def __init__(
        self,
        id: int,  # noqa: A002 - python-etcd3's name
        name: str,
        peer_urls: Sequence[str],
        client_urls: Sequence[str],
        etcd_client: Any = None,
    ) -> None:
        self.id = id
        self.name = name
        self.peer_urls = peer_urls
        self.client_urls = client_urls
        self._etcd_client = etcd_client

    def __str__(self) -> str:
        return (
            f"Member {self.id}: peer urls: {self.peer_urls}, client urls: {self.client_urls}"
        )

    def _client(self) -> Any:  # an Etcd3Client (which imports this module)
        if self._etcd_client is None:
            raise ValueError(f"member {self.id:x} has no etcd_client")
        return self._etcd_client

    def remove(self) -> None:
        """Remove this member from the cluster (Cluster.MemberRemove)."""
        self._client().remove_member(self.id)

    def update(self, peer_urls: Sequence[str]) -> None:
        """Give this member new peer URLs (Cluster.MemberUpdate)."""
        self._client().update_member(self.id, peer_urls)

    @property
    def active_alarms(self) -> list[Any]:
        """The alarms raised on this member (Maintenance.Alarm GET)."""
        return list(self._client().list_alarms(member_id=self.id))
