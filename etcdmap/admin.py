"""The results of the Cluster, Maintenance and Auth APIs (``client.member_list()``,
``status()``, ``alarms()``, ``snapshot()``, ``user_get()``, ``role_get()``, ...), the
``Permission`` a role grants, and ``verify_snapshot`` for a saved snapshot file.
"""

from __future__ import annotations

from ._core.auth import (
    AuthResponse,
    AuthRoleGetResponse,
    AuthRoleListResponse,
    AuthStatusResponse,
    AuthUserGetResponse,
    AuthUserListResponse,
    Permission,
)
from ._core.cluster import Member, MemberAddResponse, MemberListResponse
from ._core.maintenance import (
    AlarmMember,
    AlarmResponse,
    DefragmentResponse,
    HashKVResponse,
    MoveLeaderResponse,
    SnapshotResult,
    StatusResponse,
    verify_snapshot,
)
from ._core.public import publish

__all__ = [
    "AlarmMember",
    "AlarmResponse",
    "AuthResponse",
    "AuthRoleGetResponse",
    "AuthRoleListResponse",
    "AuthStatusResponse",
    "AuthUserGetResponse",
    "AuthUserListResponse",
    "DefragmentResponse",
    "HashKVResponse",
    "Member",
    "MemberAddResponse",
    "MemberListResponse",
    "MoveLeaderResponse",
    "Permission",
    "SnapshotResult",
    "StatusResponse",
    "verify_snapshot",
]

publish(__name__)
