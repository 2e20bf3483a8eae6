# Generated from etcdmap/_async/auth.py by scripts/unasync: do not edit.
"""The Auth service: enabling auth, users, roles and their permissions."""

from __future__ import annotations

from .._core import auth
from .._core.auth import (
    AuthResponse,
    AuthRoleGetResponse,
    AuthRoleListResponse,
    AuthStatusResponse,
    AuthUserGetResponse,
    AuthUserListResponse,
    PermissionType,
)
from .._core.kv import parse_header
from .._pb import etcdserverpb
from .base import ClientBase

__all__ = ["Auth"]


class Auth(ClientBase):
    """Auth methods of ``Client``. They go to the client's connection (its first
    endpoint); changes are raft proposals and reads are answered by that member.

    Once auth is enabled every call needs a user: create the client with ``username=`` and
    ``password=`` (it fetches and renews its token by itself). Managing users and roles needs
    the ``root`` role.
    """

    def _auth_change(self, rpc: str, request: object, timeout: float | None) -> AuthResponse:
        response = self._unary(rpc, request, timeout)
        return AuthResponse(parse_header(response.header))

    def auth_enable(self, *, timeout: float | None = None) -> AuthResponse:
        """Turn authentication on (Auth.AuthEnable).

        The user ``root`` with the role ``root`` must exist (``RootUserNotExistError``,
        ``RootRoleNotExistError``). From then on, calls without a valid token fail.
        """
        return self._auth_change("auth_enable", etcdserverpb.AuthEnableRequest(), timeout)

    def auth_disable(self, *, timeout: float | None = None) -> AuthResponse:
        """Turn authentication off (Auth.AuthDisable, needs the root role)."""
        return self._auth_change("auth_disable", etcdserverpb.AuthDisableRequest(), timeout)

    def auth_status(self, *, timeout: float | None = None) -> AuthStatusResponse:
        """Whether auth is enabled and the auth store's revision (Auth.AuthStatus)."""
        response = self._unary("auth_status", etcdserverpb.AuthStatusRequest(), timeout)
        return AuthStatusResponse(
            parse_header(response.header), response.enabled, response.authRevision
        )

    def authenticate(
        self, name: str, password: str, *, timeout: float | None = None
    ) -> str:
        """Log in as ``name`` and return a token (Auth.Authenticate).

        The token is returned, not installed: a client logs in by itself when given
        ``username=`` and ``password=``. ``AuthFailedError`` for a wrong name or password,
        ``AuthNotEnabledError`` when auth is off.
        """
        request = auth.Credentials(name, password).request()
        response = self._unary("authenticate", request, timeout)
        token: str = response.token
        return token

    def user_add(
        self, name: str, password: str | None = None, *, timeout: float | None = None
    ) -> AuthResponse:
        """Create the user ``name`` (Auth.UserAdd).

        With ``password=None`` the user has no password and cannot log in with one (for
        users authenticated by a TLS client certificate). ``UserAlreadyExistError`` if taken.
        """
        return self._auth_change("user_add", auth.user_add_request(name, password), timeout)

    def user_delete(self, name: str, *, timeout: float | None = None) -> AuthResponse:
        """Delete the user ``name`` (Auth.UserDelete); ``UserNotFoundError`` if unknown."""
        request = etcdserverpb.AuthUserDeleteRequest(name=name)
        return self._auth_change("user_delete", request, timeout)

    def user_change_password(
        self, name: str, password: str, *, timeout: float | None = None
    ) -> AuthResponse:
        """Set a new password for ``name`` (Auth.UserChangePassword)."""
        request = etcdserverpb.AuthUserChangePasswordRequest(name=name, password=password)
        return self._auth_change("user_change_password", request, timeout)

    def user_grant_role(
        self, name: str, role: str, *, timeout: float | None = None
    ) -> AuthResponse:
        """Give ``role`` to the user ``name`` (Auth.UserGrantRole)."""
        request = etcdserverpb.AuthUserGrantRoleRequest(user=name, role=role)
        return self._auth_change("user_grant_role", request, timeout)

    def user_revoke_role(
        self, name: str, role: str, *, timeout: float | None = None
    ) -> AuthResponse:
        """Take ``role`` away from the user ``name`` (Auth.UserRevokeRole);
        ``RoleNotGrantedError`` if the user does not have it."""
        request = etcdserverpb.AuthUserRevokeRoleRequest(name=name, role=role)
        return self._auth_change("user_revoke_role", request, timeout)

    def user_get(self, name: str, *, timeout: float | None = None) -> AuthUserGetResponse:
        """The roles of the user ``name`` (Auth.UserGet, answered by the member)."""
        request = etcdserverpb.AuthUserGetRequest(name=name)
        response = self._unary("user_get", request, timeout)
        return AuthUserGetResponse(parse_header(response.header), list(response.roles))

    def user_list(self, *, timeout: float | None = None) -> AuthUserListResponse:
        """Every user name (Auth.UserList, answered by the member)."""
        response = self._unary("user_list", etcdserverpb.AuthUserListRequest(), timeout)
        return AuthUserListResponse(parse_header(response.header), list(response.users))

    def role_add(self, name: str, *, timeout: float | None = None) -> AuthResponse:
        """Create the role ``name`` without permissions (Auth.RoleAdd)."""
        request = etcdserverpb.AuthRoleAddRequest(name=name)
        return self._auth_change("role_add", request, timeout)

    def role_delete(self, name: str, *, timeout: float | None = None) -> AuthResponse:
        """Delete the role ``name`` (Auth.RoleDelete); users lose it."""
        request = etcdserverpb.AuthRoleDeleteRequest(role=name)
        return self._auth_change("role_delete", request, timeout)

    def role_get(self, name: str, *, timeout: float | None = None) -> AuthRoleGetResponse:
        """The permissions of the role ``name`` (Auth.RoleGet, answered by the member)."""
        request = etcdserverpb.AuthRoleGetRequest(role=name)
        return auth.parse_role_get(self._unary("role_get", request, timeout))

    def role_list(self, *, timeout: float | None = None) -> AuthRoleListResponse:
        """Every role name (Auth.RoleList, answered by the member)."""
        response = self._unary("role_list", etcdserverpb.AuthRoleListRequest(), timeout)
        return AuthRoleListResponse(parse_header(response.header), list(response.roles))

    def role_grant_permission(
        self,
        name: str,
        perm_type: PermissionType,
        key: bytes | str,
        *,
        range_end: bytes | str | None = None,
        prefix: bool = False,
        timeout: float | None = None,
    ) -> AuthResponse:
        """Let the role ``name`` read, write or both on a key or range
        (Auth.RoleGrantPermission).

        ``perm_type`` is ``"read"``, ``"write"`` or ``"readwrite"`` (else ``ValueError``). The
        permission covers ``key`` alone, ``[key, range_end)``, or with ``prefix=True`` every key
        starting with ``key`` (``range_end=b"\\x00"``: every key from ``key`` on).

        Example: ``client.role_grant_permission("app", "readwrite", "/app/", prefix=True)``.
        """
        request = auth.role_grant_permission_request(name, perm_type, key, range_end, prefix)
        return self._auth_change("role_grant_permission", request, timeout)

    def role_revoke_permission(
        self,
        name: str,
        key: bytes | str,
        *,
        range_end: bytes | str | None = None,
        prefix: bool = False,
        timeout: float | None = None,
    ) -> AuthResponse:
        """Remove the role's permission on exactly this key or range
        (Auth.RoleRevokePermission); ``PermissionNotGrantedError`` if it has none there."""
        request = auth.role_revoke_permission_request(name, key, range_end, prefix)
        return self._auth_change("role_revoke_permission", request, timeout)
