"""The shared argument checks of ``etcdmap._core.checks`` (no server)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etcdmap._core.checks import (
    INT64_MAX,
    MAX_LEASE_TTL,
    MAX_TIMEOUT,
    check_client,
    check_count,
    check_lease_id,
    check_revision,
    check_seconds,
    check_timeout,
    check_ttl,
)
from etcdmap._core.endpoints import resolve_endpoints
from etcdmap._core.retry import RetryPolicy


@given(st.floats(min_value=0, max_value=MAX_TIMEOUT, exclude_min=True)
       | st.integers(min_value=1, max_value=MAX_TIMEOUT))
def test_a_finite_positive_timeout_is_kept(seconds: float) -> None:
    assert check_timeout(seconds) == seconds
    assert check_timeout(seconds, zero=True) == seconds


@pytest.mark.parametrize(
    "bad", [math.inf, -math.inf, math.nan, -1, -0.001, 0, 0.0, MAX_TIMEOUT + 1, 1e300]
)
def test_bad_timeout_values_name_the_argument(bad: float) -> None:
    with pytest.raises(ValueError, match="^lease_timeout must be"):
        check_timeout(bad, "lease_timeout")


def test_zero_is_a_timeout_only_where_asked_and_none_is_no_limit() -> None:
    assert check_timeout(0, zero=True) == 0.0
    assert check_timeout(None) is None
    with pytest.raises(TypeError, match="keepalive_time must be a number of seconds, not None"):
        check_seconds(None, "keepalive_time")


@pytest.mark.parametrize("bad", [True, False, "5", b"5", [5], object()])
def test_timeout_of_the_wrong_type(bad: Any) -> None:
    with pytest.raises(TypeError, match="^timeout must be a number of seconds, not"):
        check_timeout(bad)


@given(st.floats(min_value=1e-9, max_value=MAX_LEASE_TTL, allow_nan=False)
       | st.integers(min_value=1, max_value=MAX_LEASE_TTL))
def test_a_ttl_is_rounded_up_to_whole_seconds(seconds: float) -> None:
    ttl = check_ttl(seconds)
    assert isinstance(ttl, int)
    assert seconds <= ttl < seconds + 1


@pytest.mark.parametrize(
    ("bad", "error"),
    [(0, ValueError), (-1, ValueError), (math.inf, ValueError), (math.nan, ValueError),
     (2**63, ValueError), (1e300, ValueError), (True, TypeError), ("10", TypeError), (None, TypeError)],
)
def test_bad_ttls_name_the_argument(bad: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="^ttl must"):
        check_ttl(bad)


@given(st.integers())
def test_counts_and_revisions_are_ints_within_int64(number: int) -> None:
    if 0 <= number <= INT64_MAX:
        assert check_count(number, "retries") == number
        assert check_revision(number) == number
    else:
        with pytest.raises(ValueError, match="^retries must"):
            check_count(number, "retries")
        with pytest.raises(ValueError, match="^revision must"):
            check_revision(number)


@pytest.mark.parametrize("bad", [1.0, True, "3", None])
def test_a_count_of_the_wrong_type(bad: Any) -> None:
    with pytest.raises(TypeError, match="^limit must be an int"):
        check_count(bad, "limit")


def test_lease_ids() -> None:
    assert check_lease_id(1) == 1
    assert check_lease_id(INT64_MAX) == INT64_MAX
    assert check_lease_id(0, zero=True) == 0
    with pytest.raises(ValueError, match="^lease must be positive, got 0"):
        check_lease_id(0)
    with pytest.raises(ValueError, match="^id must not be negative"):
        check_lease_id(-1, "id", zero=True)
    with pytest.raises(ValueError, match="^lease must be <= 9223372036854775807"):
        check_lease_id(2**63)


class AsyncWidget:
    pass


class Widget:
    pass


class _AsyncKV:
    async def get(self, key: str) -> None:
        return None


class _KV:
    def get(self, key: str) -> None:
        return None


def test_check_client_tells_the_flavour_apart() -> None:
    check_client(_AsyncKV(), AsyncWidget)
    check_client(_KV(), Widget)
    with pytest.raises(TypeError, match="^Widget needs a Client; use AsyncWidget with an "
                                        "AsyncClient$"):
        check_client(_AsyncKV(), Widget)
    with pytest.raises(TypeError, match="^AsyncWidget needs an AsyncClient; use Widget with a "
                                        "Client$"):
        check_client(_KV(), AsyncWidget)
    with pytest.raises(TypeError, match="^Widget needs a Client, not NoneType$"):
        check_client(None, Widget)


@pytest.mark.parametrize(
    ("endpoints", "error", "message"),
    [
        ([None], TypeError, "endpoints must hold str"),
        ([b"127.0.0.1:2379"], TypeError, "endpoints must hold str"),
        (2379, TypeError, "endpoints must be a str or a sequence of str"),
        (["localhost"], ValueError, "endpoints: 'localhost' is not host:port"),
        (["localhost:0"], ValueError, "is not host:port"),
        (["localhost:65536"], ValueError, "is not host:port"),
        (["a b:2379"], ValueError, "is not host:port"),
        (["  "], ValueError, "an endpoint is empty"),
    ],
)
def test_bad_endpoints(endpoints: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        resolve_endpoints(endpoints)


def test_endpoint_forms_that_are_kept() -> None:
    assert resolve_endpoints(
        ["http://[::1]:2379", "etcd-0.etcd:2379", "10.0.0.1:1", "unix:///run/etcd.sock"]
    ) == ["[::1]:2379", "etcd-0.etcd:2379", "10.0.0.1:1", "unix:///run/etcd.sock"]


def test_retry_policy_is_checked() -> None:
    with pytest.raises(ValueError, match="max_attempts must be positive"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="backoff_wait must be"):
        RetryPolicy(backoff_wait=-1)
    with pytest.raises(ValueError, match="backoff_jitter"):
        RetryPolicy(backoff_jitter=2)
