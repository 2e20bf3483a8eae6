"""Sans-IO tests of the lease builders, parsers and the keep-alive schedule (no server)."""

from __future__ import annotations

import pytest

from etcdmap import Op
from etcdmap._core import lease as core
from etcdmap._core.errors import ClientError
from etcdmap._core.lease import KeepAliveSchedule
from etcdmap._core.results import ResponseHeader
from etcdmap._pb import etcdserverpb
from etcdmap.errors import LeaseExpiredError


def header() -> object:
    return etcdserverpb.ResponseHeader(cluster_id=1, member_id=2, revision=3, raft_term=4)


def test_requests() -> None:
    grant = core.grant_request(10)
    assert (grant.TTL, grant.ID) == (10, 0)
    assert core.grant_request(5, 0x77).ID == 0x77
    assert core.revoke_request(7).ID == 7
    ttl = core.time_to_live_request(7, keys=True)
    assert (ttl.ID, ttl.keys) == (7, True)
    assert core.keep_alive_request(9).ID == 9
    assert core.leases_request() == etcdserverpb.LeaseLeasesRequest()


def test_bad_grant_arguments() -> None:
    with pytest.raises(ValueError, match="ttl must be a finite number of seconds > 0"):
        core.grant_request(0)
    assert core.grant_request(1.5).TTL == 2  # leases are whole seconds: rounded up
    with pytest.raises(TypeError, match="id must be an int"):
        core.grant_request(5, True)
    with pytest.raises(ValueError, match="id must not be negative"):
        core.grant_request(5, -1)


def test_parsers() -> None:
    h = ResponseHeader(1, 2, 3, 4)
    granted = core.parse_grant(etcdserverpb.LeaseGrantResponse(header=header(), ID=5, TTL=10))
    assert (granted.header, granted.id, granted.ttl) == (h, 5, 10)
    assert core.parse_revoke(etcdserverpb.LeaseRevokeResponse(header=header())).header == h
    ttl = core.parse_time_to_live(etcdserverpb.LeaseTimeToLiveResponse(
        header=header(), ID=5, TTL=8, grantedTTL=10, keys=[b"a", b"b"]
    ))
    assert ttl == core.LeaseTimeToLive(h, 5, 8, 10, [b"a", b"b"])
    leases = core.parse_leases(etcdserverpb.LeaseLeasesResponse(
        header=header(), leases=[etcdserverpb.LeaseStatus(ID=1), etcdserverpb.LeaseStatus(ID=2)]
    ))
    assert leases == [core.LeaseStatus(1), core.LeaseStatus(2)]
    ka = core.parse_keep_alive(etcdserverpb.LeaseKeepAliveResponse(header=header(), ID=5, TTL=0))
    assert ka == core.LeaseKeepAliveResponse(5, 0, h)


def test_lease_objects_work_as_lease_arguments() -> None:
    class Granted:
        id = 0x1234

    assert Op.put("k", "v", lease=Granted()).request.lease == 0x1234


def test_lease_expired_error() -> None:
    error = LeaseExpiredError("lease 0x1f is lost: gone", lease_id=0x1F)
    assert isinstance(error, ClientError) and error.lease_id == 0x1F and "0x1f" in str(error)


def test_new_lease_is_due_at_once_then_every_third_of_the_ttl() -> None:
    s = KeepAliveSchedule()
    assert s.add(1, now=100.0, ttl=9)
    assert not s.add(1, now=101.0, ttl=9)  # already kept alive: unchanged
    assert s.deadline(1) == 109.0
    assert s.due(100.0) == [1]
    assert s.due(100.5) == []  # sent: the next try is TTL/3 later unless answered
    assert s.next_send(1) == 103.0
    assert s.on_response(1, 9, now=100.2) == "renewed"
    assert (s.next_send(1), s.deadline(1)) == (pytest.approx(103.2), pytest.approx(109.2))
    assert s.due(103.1) == []
    assert s.due(103.2) == [1]


def test_the_ttl_the_server_returns_drives_the_schedule() -> None:
    s = KeepAliveSchedule()
    s.add(1, now=0.0, ttl=30)
    s.due(0.0)
    assert s.on_response(1, 6, now=1.0) == "renewed"  # server granted less
    assert (s.next_send(1), s.deadline(1)) == (3.0, 7.0)
    assert s.wait_time(1.0) == 2.0


def test_unknown_ttl_uses_the_first_keepalive_timeout() -> None:
    s = KeepAliveSchedule(first_timeout=5.0)
    s.add(1, now=10.0)
    assert s.deadline(1) == 15.0


def test_ttl_zero_means_gone() -> None:
    s = KeepAliveSchedule()
    s.add(1, now=0.0, ttl=10)
    assert s.on_response(1, 0, now=0.1) == "gone"
    assert 1 not in s and len(s) == 0
    assert s.on_response(1, 10, now=0.2) == "unknown"  # late answer for a dropped lease
    s.add(2, now=0.0, ttl=10)
    assert s.on_response(2, -1, now=0.1) == "gone"


def test_deadline_without_answer_loses_the_lease() -> None:
    s = KeepAliveSchedule()
    s.add(1, now=0.0, ttl=3)
    s.add(2, now=0.0, ttl=60)
    assert s.expired(2.9) == []
    s.on_response(2, 60, now=1.0)
    assert s.expired(3.0) == [1]
    assert 1 not in s and 2 in s
    assert s.expired(100.0) == [2]
    assert s.wait_time(100.0) is None


def test_unanswered_requests_are_repeated_before_the_deadline() -> None:
    s = KeepAliveSchedule()
    s.add(1, now=0.0, ttl=3)
    assert s.due(0.0) == [1]
    assert s.due(1.0) == [1]
    assert s.due(2.0) == [1]
    assert s.expired(3.0) == [1]


def test_resend_all_after_a_new_stream() -> None:
    s = KeepAliveSchedule()
    for lease in (3, 1, 2):
        s.add(lease, now=0.0, ttl=30)
    assert s.due(0.0) == [1, 2, 3]
    for lease in (1, 2, 3):
        s.on_response(lease, 30, now=0.1)
    assert s.due(5.0) == []
    s.resend_all(5.0)
    assert s.due(5.0) == [1, 2, 3]


def test_remove_and_wait_time() -> None:
    s = KeepAliveSchedule()
    assert s.wait_time(0.0) is None
    s.add(1, now=0.0, ttl=30)
    assert s.wait_time(0.0) == 0.0  # due now
    s.due(0.0)
    assert s.wait_time(0.0) == 10.0
    assert s.remove(1) and not s.remove(1)
    assert s.next_send(1) is None and s.deadline(1) is None
