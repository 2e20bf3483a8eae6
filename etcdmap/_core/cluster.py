"""Cluster requests and responses: membership changes and the member list.

Peer URLs are checked on the client before MemberAdd / MemberUpdate, as Go's clientv3 does, so
a typo is reported at once instead of as a vague server error or, worse, a member that can
never join.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import msgspec

from .._pb import etcdserverpb
from .kv import parse_header
from .results import ResponseHeader

__all__ = [
    "Member",
    "MemberAddResponse",
    "MemberListResponse",
    "check_peer_urls",
    "member_add_request",
    "member_id_request",
    "member_list_request",
    "member_update_request",
    "parse_member",
    "parse_member_add",
    "parse_members",
]

_SCHEMES = ("http", "https", "unix", "unixs")


class Member(msgspec.Struct, frozen=True):
    """One cluster member (etcdserverpb.Member).

    ``name`` and ``client_urls`` are empty for a member that was added but has not started
    yet; ``is_learner`` is true for a non-voting member added with ``member_add_as_learner``.
    """

    id: int
    name: str
    peer_urls: list[str]
    client_urls: list[str]
    is_learner: bool


class MemberListResponse(msgspec.Struct, frozen=True):
    """The cluster's members: the result of MemberList, and of MemberRemove, MemberUpdate and
    MemberPromote (the members after the change)."""

    header: ResponseHeader
    members: list[Member]


class MemberAddResponse(msgspec.Struct, frozen=True):
    """Result of MemberAdd: the new ``member`` (with its id) and all ``members`` after it."""

    header: ResponseHeader
    member: Member
    members: list[Member]


def check_peer_urls(peer_urls: str | Iterable[str]) -> list[str]:
    """The peer URLs as a list, or ValueError naming the first bad one.

    As Go's client: at least one URL; scheme http, https, unix or unixs; an http(s) URL has a
    host and a port and no path.
    """
    urls = [peer_urls] if isinstance(peer_urls, str) else list(peer_urls)
    if not urls:
        raise ValueError("no valid URLs given: at least one peer URL is needed")
    for url in urls:
        if not isinstance(url, str):
            raise TypeError(f"a peer URL must be a str, not {type(url).__name__}")
        parts = urlsplit(url)
        if parts.scheme not in _SCHEMES:
            raise ValueError(
                f"peer URL {url!r}: the scheme must be http, https, unix or unixs"
            )
        if parts.scheme in ("http", "https"):
            try:
                port = parts.port
            except ValueError:
                port = None
            if not parts.hostname or port is None:
                raise ValueError(f"peer URL {url!r}: expected scheme://host:port")
            if parts.path not in ("", "/"):
                raise ValueError(f"peer URL {url!r}: a peer URL has no path")
    return urls


def member_list_request(linearizable: bool = True) -> Any:
    """A MemberListRequest; ``linearizable=False`` lets the member answer from local state."""
    return etcdserverpb.MemberListRequest(linearizable=linearizable)


def member_add_request(peer_urls: str | Iterable[str], is_learner: bool = False) -> Any:
    """A MemberAddRequest for a voting member or a learner."""
    return etcdserverpb.MemberAddRequest(peerURLs=check_peer_urls(peer_urls), isLearner=is_learner)


def member_update_request(member_id: int, peer_urls: str | Iterable[str]) -> Any:
    """A MemberUpdateRequest replacing the member's peer URLs."""
    return etcdserverpb.MemberUpdateRequest(
        ID=_member_id(member_id), peerURLs=check_peer_urls(peer_urls)
    )


def member_id_request(kind: str, member_id: int) -> Any:
    """A MemberRemoveRequest (``kind="remove"``) or MemberPromoteRequest (``"promote"``)."""
    cls = {"remove": etcdserverpb.MemberRemoveRequest,
           "promote": etcdserverpb.MemberPromoteRequest}[kind]
    return cls(ID=_member_id(member_id))


def _member_id(member_id: int) -> int:
    if isinstance(member_id, bool) or not isinstance(member_id, int):
        raise TypeError(f"member_id must be an int, not {type(member_id).__name__}")
    if not 0 < member_id < 2**64:
        raise ValueError(f"member_id must be a positive 64-bit member id, not {member_id}")
    return member_id


def parse_member(member: Any) -> Member:
    """An etcdserverpb.Member as a ``Member``."""
    return Member(
        member.ID, member.name, list(member.peerURLs), list(member.clientURLs), member.isLearner
    )


def parse_members(response: Any) -> MemberListResponse:
    """A MemberList/Remove/Update/PromoteResponse as a ``MemberListResponse``."""
    return MemberListResponse(
        parse_header(response.header), [parse_member(m) for m in response.members]
    )


def parse_member_add(response: Any) -> MemberAddResponse:
    """A MemberAddResponse as a ``MemberAddResponse``."""
    return MemberAddResponse(
        parse_header(response.header),
        parse_member(response.member),
        [parse_member(m) for m in response.members],
    )


def endpoints_from_members(members: Sequence[Member]) -> list[str]:
    """The client endpoints to use after a member list (clientv3's Sync): the client URLs of
    every started voting member. Learners are left out: they refuse most requests."""
    urls: list[str] = []
    for member in members:
        if member.name and not member.is_learner:
            urls.extend(url for url in member.client_urls if url not in urls)
    return urls
