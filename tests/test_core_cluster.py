"""Cluster request builders, peer URL checks and response parsers, without a server."""

from __future__ import annotations

import pytest

from etcdmap import ResponseHeader
from etcdmap._core import cluster
from etcdmap._pb import etcdserverpb
from etcdmap.admin import Member, MemberAddResponse, MemberListResponse


def test_member_list_request_is_linearizable_by_default() -> None:
    assert cluster.member_list_request().linearizable
    assert not cluster.member_list_request(linearizable=False).linearizable


def test_member_add_request() -> None:
    request = cluster.member_add_request("http://10.0.0.1:2380")
    assert list(request.peerURLs) == ["http://10.0.0.1:2380"] and not request.isLearner
    request = cluster.member_add_request(["https://a:2380", "unix://sock"], is_learner=True)
    assert list(request.peerURLs) == ["https://a:2380", "unix://sock"] and request.isLearner


@pytest.mark.parametrize(
    ("urls", "message"),
    [
        ([], "no valid URLs"),
        (["10.0.0.1:2380"], "scheme"),
        (["ftp://a:21"], "scheme"),
        (["http://a"], "host:port"),
        (["http://:2380"], "host:port"),
        (["http://a:notaport"], "host:port"),
        (["http://a:2380/path"], "no path"),
    ],
)
def test_bad_peer_urls_are_refused_before_any_rpc(urls: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cluster.member_add_request(urls)
    with pytest.raises(ValueError, match=message):
        cluster.member_update_request(1, urls)


def test_member_id_requests() -> None:
    assert cluster.member_id_request("remove", 42) == etcdserverpb.MemberRemoveRequest(ID=42)
    assert cluster.member_id_request("promote", 2**64 - 1).ID == 2**64 - 1
    update = cluster.member_update_request(7, "http://h:1")
    assert (update.ID, list(update.peerURLs)) == (7, ["http://h:1"])
    with pytest.raises(ValueError, match="member_id"):
        cluster.member_id_request("remove", 0)
    with pytest.raises(TypeError, match="member_id"):
        cluster.member_id_request("remove", "42")  # type: ignore[arg-type]


def _member(id_: int, name: str, learner: bool = False) -> object:
    return etcdserverpb.Member(
        ID=id_, name=name, peerURLs=[f"http://{name}:2380"],
        clientURLs=[f"http://{name}:2379"] if name else [], isLearner=learner,
    )


def test_parse_members_and_member_add() -> None:
    header = etcdserverpb.ResponseHeader(cluster_id=1, member_id=2, revision=3, raft_term=4)
    response = etcdserverpb.MemberListResponse(header=header, members=[_member(5, "a")])
    assert cluster.parse_members(response) == MemberListResponse(
        ResponseHeader(1, 2, 3, 4), [Member(5, "a", ["http://a:2380"], ["http://a:2379"], False)]
    )
    added = etcdserverpb.MemberAddResponse(
        header=header, member=_member(6, "", True), members=[_member(5, "a"), _member(6, "", True)]
    )
    result = cluster.parse_member_add(added)
    assert isinstance(result, MemberAddResponse)
    assert result.member == Member(6, "", ["http://:2380"], [], True)
    assert [m.id for m in result.members] == [5, 6]


def test_endpoints_from_members_skip_learners_and_unstarted() -> None:
    from etcdmap._core.cluster import Member, endpoints_from_members

    members = [
        Member(1, "a", ["http://p1"], ["http://127.0.0.1:1", "http://127.0.0.1:2"], False),
        Member(2, "", ["http://p2"], [], False),  # added, never started
        Member(3, "c", ["http://p3"], ["http://127.0.0.1:3"], True),  # learner
        Member(4, "d", ["http://p4"], ["http://127.0.0.1:1"], False),  # shares a URL
    ]
    assert endpoints_from_members(members) == ["http://127.0.0.1:1", "http://127.0.0.1:2"]


def test_old_servers_are_recognised() -> None:
    from etcdmap._core.maintenance import is_old_server

    assert not is_old_server("3.5.1")
    assert not is_old_server("3.4.0")
    assert not is_old_server("4.0.0")
    assert is_old_server("3.3.27")
    assert is_old_server("garbage")
