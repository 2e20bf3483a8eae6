"""The mirror and lock checkers on hand-written samples and holds (no server)."""

from __future__ import annotations

from etcdmap.testing.checkers import check_locks, check_mirrors, content_at
from etcdmap.testing.history import LockHold, MirrorSample, WatchEvent

COMMITTED = [
    WatchEvent("p/a", "put", "1", 2),
    WatchEvent("p/b", "put", "1", 3),
    WatchEvent("q/x", "put", "1", 4),
    WatchEvent("p/a", "delete", None, 5),
]


def sample(time: float, revision: int, content: dict[str, str], state: str = "ready",
           down: float | None = None, mirror: int = 0) -> MirrorSample:  # fmt: skip
    return MirrorSample(mirror, time, revision, state, content, stream_down_since=down)


def test_content_at_replays_the_committed_events() -> None:
    assert content_at(COMMITTED, 4, "p/") == {"p/a": "1", "p/b": "1"}
    assert content_at(COMMITTED, 5) == {"p/b": "1", "q/x": "1"}
    assert content_at(COMMITTED, 1) == {}


def test_mirror_content_matches_the_server_at_its_revision() -> None:
    good = [sample(1.0, 3, {"a": "1", "b": "1"}), sample(2.0, 5, {"b": "1"}),
            sample(2.5, 0, {}, state="syncing", mirror=1)]  # fmt: skip
    result = check_mirrors(good, COMMITTED, degraded_after=3.0, prefix="p/")
    assert result.ok, result.explain()
    stale = [sample(2.0, 5, {"a": "1", "b": "1"})]  # says revision 5, holds revision 3's data
    result = check_mirrors(stale, COMMITTED, degraded_after=3.0, prefix="p/")
    assert [f.kind for f in result.problems] == ["content"]
    assert "'a' = '1' should not exist" in result.explain()


def test_mirror_checked_against_a_get_at_its_revision() -> None:
    def server(revision: int) -> dict[str, str]:
        return {"k": str(revision)}

    assert check_mirrors([sample(1.0, 7, {"k": "7"})], server, degraded_after=3.0).ok
    result = check_mirrors([sample(1.0, 7, {})], server, degraded_after=3.0)
    assert "'k' missing (server: '7')" in result.explain()


def test_mirror_must_not_be_ready_long_after_its_stream_went_down() -> None:
    content = {"a": "1", "b": "1"}
    fine = [sample(10.0, 3, content, down=8.0), sample(14.0, 3, content, "degraded", down=8.0)]
    assert check_mirrors(fine, COMMITTED, degraded_after=3.0, prefix="p/").ok
    late = [sample(12.0, 3, content, down=8.0)]
    result = check_mirrors(late, COMMITTED, degraded_after=3.0, prefix="p/")
    assert [f.kind for f in result.problems] == ["ready while down"]
    assert "down for 4.00 s" in result.explain()


def test_mirror_revision_never_goes_back() -> None:
    back = [sample(1.0, 5, {"b": "1"}), sample(2.0, 3, {"a": "1", "b": "1"})]
    result = check_mirrors(back, COMMITTED, degraded_after=3.0, prefix="p/")
    assert [f.kind for f in result.problems] == ["revision went back"]


def test_lock_holds_that_do_not_overlap_are_accepted() -> None:
    holds = [LockHold(0, "l", 1, 0.0, 1.0), LockHold(1, "l", 2, 1.0, 2.0),
             LockHold(2, "other", 3, 0.5, None)]  # fmt: skip
    result = check_locks(holds)
    assert result.ok and not result.notes, result.explain()


def test_overlapping_lock_holds_are_found() -> None:
    result = check_locks([LockHold(0, "l", 0x10, 0.0, 2.0), LockHold(1, "l", 0x20, 1.0, 3.0)])
    assert [f.kind for f in result.problems] == ["overlap"]
    assert "client 1 (session 20) acquired it at 1.000" in result.explain()
    never = check_locks([LockHold(0, "l", 1, 0.0, None), LockHold(1, "l", 2, 5.0, 6.0)])
    assert "never released" in never.explain() and not never.ok


def test_an_overlap_after_the_session_expired_is_a_note() -> None:
    expired = LockHold(0, "l", 1, 0.0, None, ttl=2.0, expired_by=2.5)
    result = check_locks([expired, LockHold(1, "l", 2, 3.0, 4.0)])
    assert result.ok and [n.kind for n in result.notes] == ["expired session"]
    assert "may have expired at 2.500" in result.explain()
    too_soon = check_locks([expired, LockHold(1, "l", 2, 2.0, 4.0)])
    assert not too_soon.ok
