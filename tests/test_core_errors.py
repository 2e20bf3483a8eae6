"""The error table and the retry table, without a server."""

from __future__ import annotations

import pickle
import random
from typing import Any

import grpc
import pytest

import etcdmap
import etcdmap.errors
from etcdmap._core import errors
from etcdmap._core.retry import RetryPolicy, backoff, retry_class, should_retry
from etcdmap._core.tls import certificate_rejected


def test_every_table_class_is_public_and_an_etcd_error() -> None:
    for message, cls in errors.ERROR_CLASSES.items():
        assert message.startswith("etcdserver: ")
        assert issubclass(cls, etcdmap.EtcdError)
        assert getattr(etcdmap.errors, cls.__name__) is cls


def test_the_table_covers_every_rpctypes_error() -> None:
    # etcd 3.6 has 63 server-side errors; only "etcdserver: permission not given"'s client
    # twin and a deprecated alias are missing from Go's map, which we include anyway.
    assert len(errors.ERROR_CLASSES) == 63


@pytest.mark.parametrize(
    ("message", "code", "cls"),
    [
        ("etcdserver: key is not provided", grpc.StatusCode.INVALID_ARGUMENT, etcdmap.errors.EmptyKeyError),
        ("etcdserver: mvcc: required revision has been compacted", grpc.StatusCode.OUT_OF_RANGE,
         etcdmap.CompactedError),
        ("etcdserver: no leader", grpc.StatusCode.UNAVAILABLE, etcdmap.errors.NoLeaderError),
        ("etcdserver: request timed out", grpc.StatusCode.UNAVAILABLE, etcdmap.errors.RequestTimeoutError),
        ("Socket closed", grpc.StatusCode.UNAVAILABLE, etcdmap.errors.ConnectionLostError),
        ("Deadline Exceeded", grpc.StatusCode.DEADLINE_EXCEEDED, etcdmap.DeadlineExceededError),
        ("Cancelled", grpc.StatusCode.CANCELLED, etcdmap.errors.RPCCancelledError),
        ("something new", grpc.StatusCode.INTERNAL, etcdmap.ServerError),
    ],
)
def test_message_first_code_second(message: str, code: grpc.StatusCode, cls: type) -> None:
    error = errors.error_from_status(code, message, endpoint="127.0.0.1:2379", action="get b'k'")
    assert type(error) is cls
    assert error.code is code and error.details == message
    assert error.endpoint == "127.0.0.1:2379"
    assert "127.0.0.1:2379" in str(error) and "get b'k'" in str(error)


UNAVAILABLE = grpc.StatusCode.UNAVAILABLE
REFUSED = (
    "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: "
    "Failed to connect to remote host: Connection refused"
)


@pytest.mark.parametrize(
    ("code", "details", "cls"),
    [
        # the request provably never left: safe to send again
        (UNAVAILABLE, REFUSED, etcdmap.ConnectionFailedError),
        (UNAVAILABLE, "DNS resolution failed for nowhere.invalid:2379: C-ares status is not "
         "ARES_SUCCESS", etcdmap.ConnectionFailedError),
        (UNAVAILABLE, "empty address list: ", etcdmap.ConnectionFailedError),
        (UNAVAILABLE, "there is no connection available", etcdmap.ConnectionFailedError),
        (UNAVAILABLE, "there is no address available", etcdmap.ConnectionFailedError),
        (UNAVAILABLE, "failed to connect to all addresses; last error: UNKNOWN: "
         "ipv4:127.0.0.1:2379: Ssl handshake failed: SSL_ERROR_SSL: CERTIFICATE_VERIFY_FAILED",
         etcdmap.errors.TLSHandshakeError),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "Sent message larger than max (3 vs. 2)",
         etcdmap.RequestTooLargeError),
        # sent, then the connection went: applied or not
        (UNAVAILABLE, "Socket closed", etcdmap.errors.ConnectionLostError),
        (UNAVAILABLE, "recvmsg:Connection reset by peer", etcdmap.errors.ConnectionLostError),
        (UNAVAILABLE, "Connection reset by peer", etcdmap.errors.ConnectionLostError),
        (UNAVAILABLE, "GOAWAY received", etcdmap.errors.ConnectionLostError),
        (UNAVAILABLE, "keepalive watchdog timeout", etcdmap.errors.ConnectionLostError),
        (UNAVAILABLE, "Broken pipe", etcdmap.errors.ConnectionLostError),
        (UNAVAILABLE, "Transport closed", etcdmap.errors.ConnectionLostError),
        (UNAVAILABLE, "Stream removed", etcdmap.errors.ConnectionLostError),
        (UNAVAILABLE, "", etcdmap.errors.ConnectionLostError),
        (UNAVAILABLE, "something gRPC says one day", etcdmap.errors.ConnectionLostError),
        # the server proposed it, then gave up waiting or stopped
        (grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded", etcdmap.DeadlineExceededError),
        (UNAVAILABLE, "etcdserver: request timed out", etcdmap.errors.RequestTimeoutError),
        (UNAVAILABLE, "etcdserver: request timed out, possibly due to previous leader failure",
         etcdmap.errors.TimeoutDueToLeaderFailError),
        (UNAVAILABLE, "etcdserver: request timed out, possibly due to connection lost",
         etcdmap.errors.TimeoutDueToConnectionLostError),
        (UNAVAILABLE, "etcdserver: server stopped", etcdmap.errors.StoppedError),
        (grpc.StatusCode.CANCELLED, "etcdserver: request canceled", etcdmap.errors.RequestCanceledError),
        (grpc.StatusCode.CANCELLED, "Cancelled", etcdmap.errors.RPCCancelledError),
        (grpc.StatusCode.UNKNOWN, "context deadline exceeded", etcdmap.DeadlineExceededError),
        # refused before anything was proposed: not applied
        (UNAVAILABLE, "etcdserver: no leader", etcdmap.errors.NoLeaderError),
        (UNAVAILABLE, "etcdserver: leader changed", etcdmap.errors.LeaderChangedError),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "etcdserver: too many requests",
         etcdmap.errors.TooManyRequestsError),
        (grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: request is too large",
         etcdmap.RequestTooLargeError),
        (grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: too many operations in txn request",
         etcdmap.errors.TooManyOpsError),
    ],
)
def test_the_class_says_whether_a_write_may_have_applied(
    code: grpc.StatusCode, details: str, cls: type
) -> None:
    error = errors.error_from_status(code, details, endpoint="e:1", action="txn")
    assert type(error) is cls
    unknown = issubclass(cls, etcdmap.OutcomeUnknownError)
    never_sent = issubclass(cls, etcdmap.ConnectionFailedError)
    assert not (unknown and never_sent)
    # the retry policy sends a write again exactly when it provably never left
    assert should_retry("KV/Txn", code, details) is (
        never_sent and not certificate_rejected(details)
    )
    assert ("may or may not have been applied" in str(error)) is unknown
    assert (error.outcome == "unknown") is unknown
    assert (error.outcome == "never sent") is never_sent


def test_every_class_says_its_outcome_as_its_families_do() -> None:
    for name in etcdmap.errors.__all__:
        cls = getattr(etcdmap.errors, name)
        expected = (
            "unknown" if issubclass(cls, etcdmap.OutcomeUnknownError)
            else "never sent" if issubclass(cls, etcdmap.ConnectionFailedError)
            else "applied" if cls is etcdmap.errors.MirrorLagError
            else "partial" if cls is etcdmap.PartialWriteError
            else "not applied"
        )
        assert cls.outcome == expected, name
    cause = etcdmap.DeadlineExceededError("late")
    partial = errors.partial_write_error(cause, "update", written=["a"], not_written=["b"])
    assert partial.outcome == "partial" and isinstance(partial, etcdmap.OutcomeUnknownError)


def test_outcome_unknown_errors_keep_their_families() -> None:
    assert issubclass(etcdmap.OutcomeUnknownError, etcdmap.EtcdError)
    assert issubclass(etcdmap.errors.ConnectionLostError, etcdmap.TransportError)
    assert not issubclass(etcdmap.errors.ConnectionLostError, etcdmap.ConnectionFailedError)
    assert not issubclass(etcdmap.ConnectionFailedError, etcdmap.OutcomeUnknownError)
    for cls in (etcdmap.DeadlineExceededError, etcdmap.errors.RequestTimeoutError):
        assert issubclass(cls, TimeoutError) and issubclass(cls, etcdmap.OutcomeUnknownError)
    assert issubclass(etcdmap.DeadlineExceededError, etcdmap.TransportError)
    for cls in (etcdmap.errors.RequestTimeoutError, etcdmap.errors.StoppedError, etcdmap.errors.RequestCanceledError):
        assert issubclass(cls, etcdmap.ServerError) and issubclass(cls, etcdmap.OutcomeUnknownError)
    for cls in (etcdmap.errors.NoLeaderError, etcdmap.errors.TooManyRequestsError, etcdmap.errors.TLSHandshakeError,
                etcdmap.RequestTooLargeError):
        assert not issubclass(cls, etcdmap.OutcomeUnknownError)


def test_timeouts_are_builtin_timeouts_and_decode_errors_value_errors() -> None:
    assert issubclass(etcdmap.DeadlineExceededError, TimeoutError)
    assert issubclass(etcdmap.errors.RequestTimeoutError, TimeoutError)
    assert issubclass(etcdmap.ValueDecodeError, ValueError)
    assert not issubclass(etcdmap.errors.KeyNotFoundError, KeyError)


def test_too_large_requests_name_the_limit() -> None:
    error = errors.error_from_status(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "Sent message larger than max (3000000 vs. 2097152)",
        endpoint="e:1",
        action="put b'big'",
    )
    assert isinstance(error, etcdmap.RequestTooLargeError)
    assert "put b'big'" in str(error) and "max_send_bytes" in str(error) and "2097152" in str(error)
    error = errors.error_from_status(
        grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: request is too large",
        endpoint="e:1", action="put b'big'",
    )
    assert isinstance(error, etcdmap.RequestTooLargeError)
    assert "--max-request-bytes" in str(error) and "put b'big'" in str(error)
    # a gRPC proxy's own client could not forward it: its --max-send-bytes, 1.5 MiB too
    error = errors.error_from_status(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "trying to send message larger than max (1677810 vs. 1572864)",
        endpoint="proxy:1", action="put b'big'",
    )
    assert isinstance(error, etcdmap.RequestTooLargeError)
    assert "put b'big'" in str(error) and "1572864" in str(error)
    assert "--max-send-bytes" in str(error) and "--max-request-bytes" in str(error)


def test_retry_classes() -> None:
    assert retry_class("KV/Range") == "repeatable"
    for rpc in ("KV/Put", "KV/DeleteRange", "KV/Txn", "KV/Compact", "Auth/AuthStatus"):
        assert retry_class(rpc) == "non-repeatable"
    assert retry_class("Watch/Watch") == "stream"


def test_reads_retry_on_unavailable_only() -> None:
    unavailable = grpc.StatusCode.UNAVAILABLE
    assert should_retry("KV/Range", unavailable, "etcdserver: leader changed")
    assert not should_retry(
        "KV/Range", grpc.StatusCode.OUT_OF_RANGE,
        "etcdserver: mvcc: required revision has been compacted",
    )
    assert not should_retry("KV/Range", grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")


def test_mutations_retry_only_when_never_sent() -> None:
    unavailable = grpc.StatusCode.UNAVAILABLE
    assert should_retry("KV/Put", unavailable, "failed to connect to all addresses; last error")
    assert not should_retry("KV/Put", unavailable, "Socket closed")
    assert not should_retry("KV/Txn", unavailable, "etcdserver: request timed out")
    learner = "etcdserver: rpc not supported for learner"
    assert should_retry("KV/Put", grpc.StatusCode.FAILED_PRECONDITION, learner, endpoints=3)
    assert not should_retry("KV/Put", grpc.StatusCode.FAILED_PRECONDITION, learner, endpoints=1)


def test_backoff_waits_once_per_quorum_round() -> None:
    policy = RetryPolicy(backoff_wait=0.1, backoff_jitter=0.1)
    rand = random.Random(1)
    assert backoff(0, 3, policy, rand) == 0.0
    assert backoff(1, 3, policy, rand) == 0.0
    assert 0.09 <= backoff(2, 3, policy, rand) <= 0.11
    assert all(0.09 <= backoff(n, 1, policy, rand) <= 0.11 for n in range(1, 5))


def test_every_error_pickles_with_its_fields() -> None:
    # errors cross processes (multiprocessing, concurrent.futures) by pickle
    fields: dict[str, Any] = {"compact_revision": 3, "key": b"k", "revision": 5}
    needed: dict[type, dict[str, Any]] = {
        etcdmap.errors.LeaseExpiredError: {"lease_id": 7},
        etcdmap.errors.OrderingViolationError: {"revision": 1, "prev_revision": 2},
        etcdmap.errors.MirrorLagError: {"revision": 7},
    }
    for name in etcdmap.errors.__all__:
        cls = getattr(etcdmap.errors, name)
        if cls is etcdmap.PartialWriteError:
            continue  # made from its cause: tests/test_core_bulk.py
        kwargs = next((kw for base, kw in needed.items() if issubclass(cls, base)), {})
        error = cls("boom", endpoint="e:1", **kwargs)
        for field, value in fields.items():
            if hasattr(error, field):
                setattr(error, field, value)
        copied = pickle.loads(pickle.dumps(error))
        assert type(copied) is cls and str(copied) == "boom", name
        assert vars(copied) == vars(error), name
