# Generated from etcdmap/_async/cluster.py by scripts/unasync: do not edit.
"""The Cluster service: the member list and membership changes."""

from __future__ import annotations

from collections.abc import Iterable

from .._core import cluster
from .._core.cluster import MemberAddResponse, MemberListResponse
from .base import ClientBase

__all__ = ["Cluster"]


class Cluster(ClientBase):
    """Cluster methods of ``Client``. They go to the client's connection (its first
    endpoint); membership changes are raft proposals, so any member may take them."""

    def member_list(
        self, *, linearizable: bool = True, timeout: float | None = None
    ) -> MemberListResponse:
        """Every member of the cluster (Cluster.MemberList).

        Linearizable by default (etcd 3.5+ confirms with the leader first); with
        ``linearizable=False`` the member answers from its own, possibly stale, view.
        A member added but not started yet has an empty ``name`` and no ``client_urls``.

        Example: ``[m.name for m in (client.member_list()).members]``.
        """
        request = cluster.member_list_request(linearizable)
        return cluster.parse_members(self._unary("member_list", request, timeout))

    def member_add(
        self, peer_urls: str | Iterable[str], *, timeout: float | None = None
    ) -> MemberAddResponse:
        """Add a voting member reachable at ``peer_urls`` (Cluster.MemberAdd).

        The new member must then be started with ``--initial-cluster-state existing``.
        Until it has started, the cluster counts it for its quorum: prefer
        ``member_add_as_learner`` and ``member_promote``. Peer URLs are checked first
        (``ValueError``); the result holds the new ``member`` with its id.
        """
        request = cluster.member_add_request(peer_urls, is_learner=False)
        return cluster.parse_member_add(self._unary("member_add", request, timeout))

    def member_add_as_learner(
        self, peer_urls: str | Iterable[str], *, timeout: float | None = None
    ) -> MemberAddResponse:
        """Add a non-voting learner reachable at ``peer_urls`` (Cluster.MemberAdd, isLearner).

        A learner receives the log but does not count for the quorum; promote it with
        ``member_promote`` once it has caught up with the leader.
        """
        request = cluster.member_add_request(peer_urls, is_learner=True)
        return cluster.parse_member_add(self._unary("member_add", request, timeout))

    def member_remove(
        self, member_id: int, *, timeout: float | None = None
    ) -> MemberListResponse:
        """Remove the member ``member_id`` (Cluster.MemberRemove); it stops itself.

        ``MemberNotFoundError`` for an unknown id. Returns the remaining members.
        """
        request = cluster.member_id_request("remove", member_id)
        return cluster.parse_members(self._unary("member_remove", request, timeout))

    def member_update(
        self, member_id: int, peer_urls: str | Iterable[str], *, timeout: float | None = None
    ) -> MemberListResponse:
        """Replace the peer URLs of member ``member_id`` (Cluster.MemberUpdate).

        The other members then reach it at the new URLs: the member itself must listen on
        them. Returns the members after the change.
        """
        request = cluster.member_update_request(member_id, peer_urls)
        return cluster.parse_members(self._unary("member_update", request, timeout))

    def member_promote(
        self, member_id: int, *, timeout: float | None = None
    ) -> MemberListResponse:
        """Make the learner ``member_id`` a voting member (Cluster.MemberPromote).

        ``LearnerNotReadyError`` while the learner has not caught up with the leader (e.g. it
        was never started), ``MemberNotLearnerError`` for a voting member.
        """
        request = cluster.member_id_request("promote", member_id)
        return cluster.parse_members(self._unary("member_promote", request, timeout))
