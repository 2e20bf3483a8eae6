"""The watch multiplexer, driven with hand-made server responses (no server)."""

from __future__ import annotations

import grpc
import pytest

import etcdmap
from etcdmap._core.watch import (
    EventType,
    Subscription,
    WatchMux,
    WatchResponse,
    check_buffer,
    check_revision,
    watch_options,
)
from etcdmap._pb import etcdserverpb, mvccpb


def sub(key: str = "k", start: int = 0, **options: object) -> Subscription:
    return Subscription(watch_options(key, **options), start)  # type: ignore[arg-type]


def created(watch_id: int, revision: int = 10, **fields: object) -> object:
    return etcdserverpb.WatchResponse(
        header=etcdserverpb.ResponseHeader(revision=revision), watch_id=watch_id, created=True,
        **fields,
    )


def events(watch_id: int, *revisions: int, fragment: bool = False, key: bytes = b"k") -> object:
    return etcdserverpb.WatchResponse(
        header=etcdserverpb.ResponseHeader(revision=max(revisions)),
        watch_id=watch_id,
        fragment=fragment,
        events=[
            mvccpb.Event(type=mvccpb.Event.PUT, kv=mvccpb.KeyValue(key=key, mod_revision=r))
            for r in revisions
        ],
    )


def creates(requests: list[object]) -> list[tuple[bytes, int]]:
    return [
        (r.create_request.key, r.create_request.start_revision)  # type: ignore[attr-defined]
        for r in requests
        if r.WhichOneof("request_union") == "create_request"  # type: ignore[attr-defined]
    ]


def connected_mux() -> WatchMux:
    mux = WatchMux()
    assert mux.on_connect("e:1") == []
    return mux


def test_creates_go_out_one_at_a_time_in_order() -> None:
    mux = connected_mux()
    a, b = sub("a"), sub("b", start=5)
    assert creates(mux.add(a)) == [(b"a", 0)]
    assert mux.add(b) == []  # waits for a's created response
    requests, deliveries = mux.on_response(created(0, revision=10))
    assert creates(requests) == [(b"b", 5)]
    ((target, response),) = deliveries
    assert target is a and isinstance(response, WatchResponse) and response.created
    assert a.watch_id == 0 and a.next_revision == 11
    mux.on_response(created(1, revision=10))
    assert b.watch_id == 1 and b.next_revision == 5


def test_events_are_routed_and_advance_the_resume_revision() -> None:
    mux = connected_mux()
    a, b = sub("a"), sub("b")
    mux.add(a)
    mux.on_response(created(7))
    mux.add(b)
    mux.on_response(created(8))
    _, deliveries = mux.on_response(events(8, 12, 13))
    ((target, response),) = deliveries
    assert target is b and isinstance(response, WatchResponse)
    assert [e.kv.mod_revision for e in response.events] == [12, 13]
    assert response.events[0].type is EventType.PUT
    assert b.next_revision == 14 and a.next_revision == 11


def test_fragments_are_reassembled() -> None:
    mux = connected_mux()
    a = sub("a", fragment=True)
    mux.add(a)
    mux.on_response(created(0))
    assert mux.on_response(events(0, 12, fragment=True)) == ([], [])
    assert mux.on_response(events(0, 12, fragment=True)) == ([], [])
    _, ((_, response),) = mux.on_response(events(0, 12))
    assert isinstance(response, WatchResponse) and len(response.events) == 3


def test_resume_after_disconnect_from_the_next_revision_in_order() -> None:
    mux = connected_mux()
    a, b, c = sub("a"), sub("b"), sub("c", start=3)
    mux.add(a)
    mux.on_response(created(0, revision=10))
    mux.add(b)
    mux.add(c)
    mux.on_response(created(1, revision=10))
    mux.on_response(events(0, 15))
    # c's create is in flight when the stream breaks
    mux.on_disconnect()
    assert mux.watchers == 3 and a.watch_id is None
    requests = mux.on_connect("e:2")
    assert creates(requests) == [(b"a", 16)]
    assert creates(mux.on_response(created(0, revision=20))[0]) == [(b"b", 11)]
    assert creates(mux.on_response(created(1, revision=20))[0]) == [(b"c", 3)]


def test_progress_moves_every_watcher_forward() -> None:
    mux = connected_mux()
    a = sub("a")
    mux.add(a)
    mux.on_response(created(0, revision=10))
    progress = etcdserverpb.WatchResponse(
        header=etcdserverpb.ResponseHeader(revision=40), watch_id=-1
    )
    _, ((target, response),) = mux.on_response(progress)
    assert target is a and isinstance(response, WatchResponse) and response.progress_notify
    assert a.next_revision == 41


def test_compacted_start_ends_the_watcher_with_compacted_error() -> None:
    mux = connected_mux()
    a = sub("a", start=2)
    mux.add(a)
    _, ((target, error),) = mux.on_response(created(0, canceled=True, compact_revision=9))
    assert target is a and a.ended
    assert isinstance(error, etcdmap.CompactedError) and error.compact_revision == 9


def test_server_cancel_reason_becomes_a_typed_error() -> None:
    mux = connected_mux()
    a = sub("a")
    mux.add(a)
    mux.on_response(created(0))
    cancel = etcdserverpb.WatchResponse(
        header=etcdserverpb.ResponseHeader(revision=3), watch_id=0, canceled=True,
        cancel_reason="etcdserver: permission denied",
    )
    _, ((_, error),) = mux.on_response(cancel)
    assert isinstance(error, etcdmap.errors.PermissionDeniedError)


def test_cancel_in_each_state() -> None:
    mux = connected_mux()
    a, b, c = sub("a"), sub("b"), sub("c")
    mux.add(a)
    mux.add(b)
    assert mux.cancel(b) == []  # only queued: never sent
    # a is being created: cancelled as soon as its id is known
    assert mux.cancel(a) == []
    requests, _ = mux.on_response(created(4))
    assert [r.WhichOneof("request_union") for r in requests] == ["cancel_request"]
    mux.add(c)
    mux.on_response(created(5))
    (request,) = mux.cancel(c)
    assert request.cancel_request.watch_id == 5
    assert mux.on_response(events(5, 30)) == ([], [])  # late events of a cancelled watcher
    assert mux.watchers == 0


def test_bad_watch_arguments() -> None:
    with pytest.raises(ValueError, match="filters may hold 'noput' and 'nodelete'"):
        watch_options("k", filters=["nope"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="start_revision must not be negative"):
        sub("k", start=-1)
    options = watch_options("/p/", prefix=True, filters=["noput"], prev_kv=True)
    request = Subscription(options, 4).create_request().create_request
    assert (request.key, request.range_end, request.start_revision) == (b"/p/", b"/p0", 4)
    assert list(request.filters) == [0] and request.prev_kv


def test_fail_all_ends_every_watcher_in_order() -> None:
    mux = connected_mux()
    a, b, c = sub("a"), sub("b"), sub("c")
    mux.add(a)
    mux.on_response(created(0))
    mux.add(b)  # being created
    mux.add(c)  # queued
    error = etcdmap.ConnectionFailedError("certificate refused")
    deliveries = mux.fail_all(error)
    assert [(s, e) for s, e in deliveries] == [(a, error), (b, error), (c, error)]
    assert all(s.ended for s in (a, b, c)) and mux.watchers == 0


def test_prev_kv_is_read_only_when_asked() -> None:
    mux = connected_mux()
    plain, with_prev = sub("k"), sub("k", prev_kv=True)
    mux.add(plain)
    mux.on_response(created(0))
    mux.add(with_prev)
    mux.on_response(created(1))
    response = etcdserverpb.WatchResponse(
        header=etcdserverpb.ResponseHeader(revision=9), watch_id=1,
        events=[mvccpb.Event(kv=mvccpb.KeyValue(key=b"k", mod_revision=9),
                             prev_kv=mvccpb.KeyValue(key=b"k", value=b"old"))],
    )
    _, ((_, parsed),) = mux.on_response(response)
    assert isinstance(parsed, WatchResponse) and parsed.events[0].prev_kv is not None
    response.watch_id = 0
    _, ((_, parsed),) = mux.on_response(response)
    assert isinstance(parsed, WatchResponse) and parsed.events[0].prev_kv is None


@pytest.mark.parametrize(
    ("arguments", "error", "named"),
    [
        ({"prefix": "yes"}, TypeError, "prefix must be True or False"),
        ({"prev_kv": 1}, TypeError, "prev_kv must be True or False"),
        ({"progress_notify": None}, TypeError, "progress_notify must be True or False"),
        ({"fragment": "no"}, TypeError, "fragment must be True or False"),
        ({"filters": "noput"}, TypeError, "filters must be a list"),
        ({"filters": 3}, TypeError, "filters must be a list"),
        ({"filters": [["noput"]]}, ValueError, "filters may hold"),
        ({"range_end": 5}, TypeError, "range_end must be bytes or str"),
        ({"range_end": "a"}, ValueError, "range_end b'a' must sort after the key b'k'"),
        ({"range_end": "k"}, ValueError, "range_end b'k' must sort after"),
        ({"range_end": "a", "prefix": True}, ValueError, "at most one of range_end, prefix"),
    ],
)
def test_each_bad_option_is_named(arguments: dict[str, object], error: type, named: str) -> None:
    with pytest.raises(error, match=named):
        watch_options("k", **arguments)  # type: ignore[arg-type]


def test_range_ends_etcd_accepts() -> None:
    assert watch_options("k", range_end="l").range_end == b"l"
    assert watch_options("k", range_end="\x00").range_end == b"\x00"  # from the key on
    assert watch_options("", range_end="a").range_end == b"a"  # etcd reads "" as "\x00"
    assert watch_options("k", range_end="").range_end == b""  # the key alone
    assert watch_options(b"\xff", prefix=True).range_end == b"\x00"


@pytest.mark.parametrize(
    ("revision", "error", "message"),
    [
        (1.5, TypeError, "start_revision must be an int, not float"),
        ("7", TypeError, "start_revision must be an int, not str"),
        (True, TypeError, "start_revision must be an int, not bool"),
        (-1, ValueError, "start_revision must not be negative"),
        (2**63, ValueError, "start_revision must be below 2\\*\\*63"),
        (2**64, ValueError, "start_revision must be below 2\\*\\*63"),
    ],
)
def test_bad_start_revisions(revision: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        sub("k", start=revision)  # type: ignore[arg-type]
    assert check_revision(2**63 - 1) == 2**63 - 1
    assert sub("k", start=2**63 - 1).create_request().create_request.start_revision == 2**63 - 1


@pytest.mark.parametrize(
    ("buffer", "error"), [(0, ValueError), (-1, ValueError), (2.5, TypeError), (True, TypeError)]
)
def test_bad_buffers(buffer: object, error: type) -> None:
    with pytest.raises(error, match="buffer must"):
        check_buffer(buffer)  # type: ignore[arg-type]
    assert check_buffer(1) == 1


def test_create_bytes_is_the_largest_create() -> None:
    watcher = sub("k" * 100, start=5)
    largest = watcher.create_request()
    largest.create_request.start_revision = 2**63 - 1
    assert watcher.create_bytes() == largest.ByteSize() > watcher.create_request().ByteSize()
    assert watcher.next_revision == 5  # measuring changed nothing


@pytest.mark.parametrize(
    "details",
    [
        "grpc: received message larger than max (3145738 vs. 2097152)",  # etcd's gRPC server
        "Sent message larger than max (3145738 vs. 2097152)",  # this client's gRPC
    ],
)
def test_a_create_too_large_for_grpc_ends_that_watcher_alone(details: str) -> None:
    mux = connected_mux()
    active, big, queued = sub("a"), sub("b"), sub("c")
    mux.add(active)
    mux.on_response(created(0))
    mux.add(big)  # its create broke the stream
    mux.add(queued)
    ((ended, error),) = mux.on_stream_error(grpc.StatusCode.RESOURCE_EXHAUSTED, details)
    assert ended is big and big.ended and isinstance(error, etcdmap.RequestTooLargeError)
    assert error.code is grpc.StatusCode.RESOURCE_EXHAUSTED and details in str(error)
    mux.on_disconnect()
    assert creates(mux.on_connect("e")) == [(b"a", 11)]  # the others resume, in order
    assert creates(mux.on_response(created(1))[0]) == [(b"c", 0)]
    assert creates(mux.on_response(created(2))[0]) == []
    assert mux.watchers == 2


def test_other_stream_errors_end_no_watcher() -> None:
    mux = connected_mux()
    mux.add(sub("a"))
    assert mux.on_stream_error(grpc.StatusCode.UNAVAILABLE, "connection refused") == []
    assert mux.on_stream_error(
        grpc.StatusCode.RESOURCE_EXHAUSTED, "Received message larger than max (9 vs. 4)"
    ) == []  # a response too large for this client: not the create's fault
    idle = connected_mux()
    assert idle.on_stream_error(grpc.StatusCode.RESOURCE_EXHAUSTED, "Sent message larger") == []
