"""Auth requests and responses, permission types, and when a client needs a (new) token.

A client given ``username`` and ``password`` authenticates on first use and sends the token
as ``("token", token)`` metadata on every call. etcd's simple tokens expire
(``--auth-token-ttl``, 300 s by default, counted from the last use) and are lost when a member
restarts; the server then answers ``invalid auth token`` and the client authenticates again and
repeats the call once, as Go's clientv3 does.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from .._pb import authpb, etcdserverpb
from .errors import AuthOldRevisionError, EtcdError, InvalidAuthTokenError, UserEmptyError
from .keys import to_bytes
from .kv import parse_header, resolve_range
from .results import ResponseHeader

__all__ = [
    "AuthResponse",
    "AuthRoleGetResponse",
    "AuthRoleListResponse",
    "AuthStatusResponse",
    "AuthUserGetResponse",
    "AuthUserListResponse",
    "Credentials",
    "Metadata",
    "Permission",
    "PermissionType",
    "needs_new_token",
    "parse_role_get",
    "permission_key_range",
    "permission_type",
    "role_grant_permission_request",
    "role_revoke_permission_request",
    "token_metadata",
    "user_add_request",
]

PermissionType = Literal["read", "write", "readwrite"]
_PERM_TYPES: dict[str, int] = {"read": 0, "write": 1, "readwrite": 2}
_PERM_NAMES: dict[int, PermissionType] = {0: "read", 1: "write", 2: "readwrite"}

#: gRPC metadata: a tuple of (key, value) pairs.
Metadata = tuple[tuple[str, str], ...]


class Credentials(msgspec.Struct, frozen=True):
    """A user name and password to authenticate with."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=...)"

    @classmethod
    def from_options(cls, username: str | None, password: str | None) -> Credentials | None:
        """Credentials from the client's options; None when neither is given."""
        if username is None and password is None:
            return None
        if username is None or password is None:
            raise ValueError("give both username and password, or neither")
        if not isinstance(username, str) or not isinstance(password, str):
            raise TypeError("username and password must be str")
        return cls(username, password)

    def request(self) -> Any:
        """The AuthenticateRequest for these credentials."""
        return etcdserverpb.AuthenticateRequest(name=self.username, password=self.password)


def token_metadata(token: str) -> Metadata | None:
    """The call metadata carrying ``token``; None for an empty token (auth is disabled)."""
    return (("token", token),) if token else None


def needs_new_token(error: EtcdError) -> bool:
    """Whether a call that failed with ``error`` should be repeated with a new token.

    ``invalid auth token``: the token expired or the member restarted. ``revision of auth store
    is old``: users or roles changed since the token was issued. ``user name is empty``: the
    call went out without a token (auth was enabled after the client started).
    """
    return isinstance(error, (InvalidAuthTokenError, AuthOldRevisionError, UserEmptyError))


class AuthStatusResponse(msgspec.Struct, frozen=True, gc=False):
    """Whether auth is enabled, and the auth store's revision (bumped by every change)."""

    header: ResponseHeader
    enabled: bool
    auth_revision: int


class AuthResponse(msgspec.Struct, frozen=True, gc=False):
    """Result of an Auth change (enable, disable, user and role changes): the header only."""

    header: ResponseHeader


class AuthUserGetResponse(msgspec.Struct, frozen=True):
    """A user's roles (Auth.UserGet)."""

    header: ResponseHeader
    roles: list[str]


class AuthUserListResponse(msgspec.Struct, frozen=True):
    """Every user name (Auth.UserList)."""

    header: ResponseHeader
    users: list[str]


class AuthRoleListResponse(msgspec.Struct, frozen=True):
    """Every role name (Auth.RoleList)."""

    header: ResponseHeader
    roles: list[str]


class Permission(msgspec.Struct, frozen=True, gc=False):
    """A permission of a role on the key ``key`` or the range ``[key, range_end)``.

    ``range_end`` is ``b""`` for a single key and ``b"\\x00"`` for every key from ``key`` on.
    """

    perm_type: PermissionType
    key: bytes
    range_end: bytes


class AuthRoleGetResponse(msgspec.Struct, frozen=True):
    """A role's permissions (Auth.RoleGet)."""

    header: ResponseHeader
    permissions: list[Permission]


def permission_type(perm_type: str) -> int:
    """The authpb.Permission.Type of ``"read"``, ``"write"`` or ``"readwrite"`` (any case)."""
    value = _PERM_TYPES.get(perm_type.lower()) if isinstance(perm_type, str) else None
    if value is None:
        raise ValueError(
            f"invalid permission type: {perm_type!r}; expected 'read', 'write' or 'readwrite'"
        )
    return value


def permission_key_range(
    key: bytes | str, range_end: bytes | str | None, prefix: bool
) -> tuple[bytes, bytes]:
    """The key and range end a permission covers (an empty range end: the key alone)."""
    return resolve_range(to_bytes(key), range_end, prefix, False)


def user_add_request(name: str, password: str | None) -> Any:
    """An AuthUserAddRequest; no password makes a user that cannot log in with one."""
    return etcdserverpb.AuthUserAddRequest(
        name=name,
        password=password or "",
        options=authpb.UserAddOptions(no_password=password is None),
    )


def role_grant_permission_request(
    role: str,
    perm_type: str,
    key: bytes | str,
    range_end: bytes | str | None = None,
    prefix: bool = False,
) -> Any:
    """An AuthRoleGrantPermissionRequest."""
    start, end = permission_key_range(key, range_end, prefix)
    perm = authpb.Permission(permType=permission_type(perm_type), key=start, range_end=end)
    return etcdserverpb.AuthRoleGrantPermissionRequest(name=role, perm=perm)


def role_revoke_permission_request(
    role: str, key: bytes | str, range_end: bytes | str | None = None, prefix: bool = False
) -> Any:
    """An AuthRoleRevokePermissionRequest."""
    start, end = permission_key_range(key, range_end, prefix)
    return etcdserverpb.AuthRoleRevokePermissionRequest(role=role, key=start, range_end=end)


def parse_role_get(response: Any) -> AuthRoleGetResponse:
    """An AuthRoleGetResponse message as an ``AuthRoleGetResponse``."""
    return AuthRoleGetResponse(
        parse_header(response.header),
        [Permission(_PERM_NAMES[p.permType], p.key, p.range_end)
         for p in response.perm],
    )
