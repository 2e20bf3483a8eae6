"""Auth builders, permission types and the token refresh rule, without a server."""

from __future__ import annotations

import grpc
import pytest

from etcdmap import AsyncClient, Client
from etcdmap._core import auth
from etcdmap._core.auth import Credentials
from etcdmap._core.errors import error_from_status
from etcdmap._pb import authpb, etcdserverpb
from etcdmap.admin import Permission


def test_credentials_need_both_or_neither() -> None:
    assert Credentials.from_options(None, None) is None
    assert Credentials.from_options("u", "p") == Credentials("u", "p")
    for username, password in (("u", None), (None, "p")):
        with pytest.raises(ValueError, match="both username and password"):
            Credentials.from_options(username, password)
        with pytest.raises(ValueError, match="both username and password"):
            Client("127.0.0.1:1", username=username, password=password)
        with pytest.raises(ValueError, match="both username and password"):
            AsyncClient("127.0.0.1:1", username=username, password=password)
    assert "secret" not in repr(Credentials("u", "secret"))
    assert Credentials("u", "p").request() == etcdserverpb.AuthenticateRequest(
        name="u", password="p"
    )


@pytest.mark.parametrize(
    ("message", "refresh"),
    [
        ("etcdserver: invalid auth token", True),
        ("etcdserver: revision of auth store is old", True),
        ("etcdserver: user name is empty", True),
        ("etcdserver: permission denied", False),
        ("etcdserver: authentication failed, invalid user ID or password", False),
        ("etcdserver: key is not provided", False),
    ],
)
def test_which_errors_ask_for_a_new_token(message: str, refresh: bool) -> None:
    error = error_from_status(
        grpc.StatusCode.INVALID_ARGUMENT, message, endpoint="e", action="put"
    )
    assert auth.needs_new_token(error) is refresh


def test_token_metadata() -> None:
    assert auth.token_metadata("abc.1") == (("token", "abc.1"),)
    assert auth.token_metadata("") is None


def test_user_add_request_with_and_without_password() -> None:
    request = auth.user_add_request("u", "p")
    assert (request.password, request.options.no_password) == ("p", False)
    request = auth.user_add_request("u", None)
    assert (request.password, request.options.no_password) == ("", True)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, (b"/k", b"")),
        ({"prefix": True}, (b"/app/", b"/app0")),
        ({"range_end": "/z"}, (b"/app/", b"/z")),
        ({"range_end": b"\x00"}, (b"/app/", b"\x00")),
    ],
)
def test_permission_ranges(kwargs: dict[str, object], expected: tuple[bytes, bytes]) -> None:
    key = "/k" if not kwargs else "/app/"
    request = auth.role_grant_permission_request("r", "READWRITE", key, **kwargs)  # type: ignore[arg-type]
    assert request.name == "r"
    assert request.perm.permType == authpb.Permission.READWRITE
    assert (request.perm.key, request.perm.range_end) == expected
    revoke = auth.role_revoke_permission_request("r", key, **kwargs)  # type: ignore[arg-type]
    assert (revoke.role, revoke.key, revoke.range_end) == ("r", *expected)


def test_bad_permission_type_is_named() -> None:
    with pytest.raises(ValueError, match="'readonly'"):
        auth.role_grant_permission_request("r", "readonly", "/k", None, False)  # type: ignore[arg-type]
    assert [auth.permission_type(t) for t in ("read", "Write", "readwrite")] == [0, 1, 2]


def test_parse_role_get() -> None:
    response = etcdserverpb.AuthRoleGetResponse(perm=[
        authpb.Permission(permType=authpb.Permission.READ, key=b"a"),
        authpb.Permission(permType=authpb.Permission.WRITE, key=b"b", range_end=b"c"),
    ])
    assert auth.parse_role_get(response).permissions == [
        Permission("read", b"a", b""), Permission("write", b"b", b"c")
    ]
