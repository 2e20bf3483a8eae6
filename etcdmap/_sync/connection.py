# Generated from etcdmap/_async/connection.py by scripts/unasync: do not edit.
"""One endpoint's gRPC channel and a callable per RPC, created once and reused by every call."""

from __future__ import annotations

from typing import Any

from .._backends.threads import open_channel
from .._core.hooks import HookSet
from .._core.tls import TLSMaterial
from .._pb import etcdserverpb, method_path, v3electionpb, v3lockpb

__all__ = ["Connection"]

#: Every unary RPC: (attribute, service, method, request, response). The client calls them by
#: attribute name; ``RPC_NAMES`` gives the "Service/Method" the retry table speaks of.
UNARY_RPCS = [
    ("range", "KV", "Range", "RangeRequest", "RangeResponse"),
    ("put", "KV", "Put", "PutRequest", "PutResponse"),
    ("delete_range", "KV", "DeleteRange", "DeleteRangeRequest", "DeleteRangeResponse"),
    ("txn", "KV", "Txn", "TxnRequest", "TxnResponse"),
    ("compact", "KV", "Compact", "CompactionRequest", "CompactionResponse"),
    ("lease_grant", "Lease", "LeaseGrant", "LeaseGrantRequest", "LeaseGrantResponse"),
    ("lease_revoke", "Lease", "LeaseRevoke", "LeaseRevokeRequest", "LeaseRevokeResponse"),
    ("lease_time_to_live", "Lease", "LeaseTimeToLive", "LeaseTimeToLiveRequest",
     "LeaseTimeToLiveResponse"),
    ("lease_leases", "Lease", "LeaseLeases", "LeaseLeasesRequest", "LeaseLeasesResponse"),
    ("authenticate", "Auth", "Authenticate", "AuthenticateRequest", "AuthenticateResponse"),
    ("member_add", "Cluster", "MemberAdd", "MemberAddRequest", "MemberAddResponse"),
    ("member_remove", "Cluster", "MemberRemove", "MemberRemoveRequest", "MemberRemoveResponse"),
    ("member_update", "Cluster", "MemberUpdate", "MemberUpdateRequest", "MemberUpdateResponse"),
    ("member_list", "Cluster", "MemberList", "MemberListRequest", "MemberListResponse"),
    ("member_promote", "Cluster", "MemberPromote", "MemberPromoteRequest",
     "MemberPromoteResponse"),
    ("alarm", "Maintenance", "Alarm", "AlarmRequest", "AlarmResponse"),
    ("status", "Maintenance", "Status", "StatusRequest", "StatusResponse"),
    ("defragment", "Maintenance", "Defragment", "DefragmentRequest", "DefragmentResponse"),
    ("hash_kv", "Maintenance", "HashKV", "HashKVRequest", "HashKVResponse"),
    ("move_leader", "Maintenance", "MoveLeader", "MoveLeaderRequest", "MoveLeaderResponse"),
    ("auth_enable", "Auth", "AuthEnable", "AuthEnableRequest", "AuthEnableResponse"),
    ("auth_disable", "Auth", "AuthDisable", "AuthDisableRequest", "AuthDisableResponse"),
    ("auth_status", "Auth", "AuthStatus", "AuthStatusRequest", "AuthStatusResponse"),
    ("user_add", "Auth", "UserAdd", "AuthUserAddRequest", "AuthUserAddResponse"),
    ("user_get", "Auth", "UserGet", "AuthUserGetRequest", "AuthUserGetResponse"),
    ("user_list", "Auth", "UserList", "AuthUserListRequest", "AuthUserListResponse"),
    ("user_delete", "Auth", "UserDelete", "AuthUserDeleteRequest", "AuthUserDeleteResponse"),
    ("user_change_password", "Auth", "UserChangePassword", "AuthUserChangePasswordRequest",
     "AuthUserChangePasswordResponse"),
    ("user_grant_role", "Auth", "UserGrantRole", "AuthUserGrantRoleRequest",
     "AuthUserGrantRoleResponse"),
    ("user_revoke_role", "Auth", "UserRevokeRole", "AuthUserRevokeRoleRequest",
     "AuthUserRevokeRoleResponse"),
    ("role_add", "Auth", "RoleAdd", "AuthRoleAddRequest", "AuthRoleAddResponse"),
    ("role_get", "Auth", "RoleGet", "AuthRoleGetRequest", "AuthRoleGetResponse"),
    ("role_list", "Auth", "RoleList", "AuthRoleListRequest", "AuthRoleListResponse"),
    ("role_delete", "Auth", "RoleDelete", "AuthRoleDeleteRequest", "AuthRoleDeleteResponse"),
    ("role_grant_permission", "Auth", "RoleGrantPermission", "AuthRoleGrantPermissionRequest",
     "AuthRoleGrantPermissionResponse"),
    ("role_revoke_permission", "Auth", "RoleRevokePermission",
     "AuthRoleRevokePermissionRequest", "AuthRoleRevokePermissionResponse"),
]
RPC_NAMES = {attr: f"{service}/{method}" for attr, service, method, _, _ in UNARY_RPCS}

#: The unary RPCs of the server-side concurrency services, which live in proto packages of
#: their own: (attribute, package, full service name, method, request, response).
CONCURRENCY_RPCS = [
    ("lock", v3lockpb, "v3lockpb.Lock", "Lock", "LockRequest", "LockResponse"),
    ("unlock", v3lockpb, "v3lockpb.Lock", "Unlock", "UnlockRequest", "UnlockResponse"),
    ("election_campaign", v3electionpb, "v3electionpb.Election", "Campaign", "CampaignRequest",
     "CampaignResponse"),
    ("election_proclaim", v3electionpb, "v3electionpb.Election", "Proclaim", "ProclaimRequest",
     "ProclaimResponse"),
    ("election_leader", v3electionpb, "v3electionpb.Election", "Leader", "LeaderRequest",
     "LeaderResponse"),
    ("election_resign", v3electionpb, "v3electionpb.Election", "Resign", "ResignRequest",
     "ResignResponse"),
]
RPC_NAMES.update({
    attr: f"{service.split('.')[1]}/{method}" for attr, _, service, method, _, _ in CONCURRENCY_RPCS
})


class Connection:
    """The channel to one endpoint and the unary method callables on it."""

    authenticate: Any  # like every entry of UNARY_RPCS, set in __init__

    def __init__(
        self,
        endpoint: str,
        options: list[tuple[str, Any]],
        tls: TLSMaterial | None = None,
        hooks: HookSet | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.channel = open_channel(endpoint, options, tls, hooks)
        for attr, service, method, request, response in UNARY_RPCS:
            setattr(self, attr, self._unary(service, method, request, response))
        self.lease_keep_alive = self.channel.stream_stream(
            method_path("etcdserverpb.Lease", "LeaseKeepAlive"),
            request_serializer=etcdserverpb.LeaseKeepAliveRequest.SerializeToString,
            response_deserializer=etcdserverpb.LeaseKeepAliveResponse.FromString,
            _registered_method=True,
        )
        self.snapshot = self.channel.unary_stream(
            method_path("etcdserverpb.Maintenance", "Snapshot"),
            request_serializer=etcdserverpb.SnapshotRequest.SerializeToString,
            response_deserializer=etcdserverpb.SnapshotResponse.FromString,
            _registered_method=True,
        )
        self.watch = self.channel.stream_stream(
            method_path("etcdserverpb.Watch", "Watch"),
            request_serializer=etcdserverpb.WatchRequest.SerializeToString,
            response_deserializer=etcdserverpb.WatchResponse.FromString,
            _registered_method=True,
        )
        for attr, package, service, method, request, response in CONCURRENCY_RPCS:
            setattr(self, attr, self.channel.unary_unary(
                method_path(service, method),
                request_serializer=getattr(package, request).SerializeToString,
                response_deserializer=getattr(package, response).FromString,
                _registered_method=True,
            ))
        self.election_observe = self.channel.unary_stream(
            method_path("v3electionpb.Election", "Observe"),
            request_serializer=v3electionpb.LeaderRequest.SerializeToString,
            response_deserializer=v3electionpb.LeaderResponse.FromString,
            _registered_method=True,
        )

    def _unary(self, service: str, method: str, request: str, response: str) -> Any:
        return self.channel.unary_unary(
            method_path(f"etcdserverpb.{service}", method),
            request_serializer=getattr(etcdserverpb, request).SerializeToString,
            response_deserializer=getattr(etcdserverpb, response).FromString,
            _registered_method=True,
        )

    def close(self) -> None:
        """Close the channel; calls still in flight fail with CANCELLED."""
        self.channel.close()
