"""The watch checker on hand-written deliveries (no server)."""

from __future__ import annotations

from etcdmap.testing.checkers import CheckResult, check_watches
from etcdmap.testing.history import WatchDelivery, WatchEvent, WatchStart

A2 = WatchEvent("p/a", "put", "1", 2)
B3 = WatchEvent("p/b", "put", "1", 3)
A4 = WatchEvent("p/a", "put", "2", 4)  # revision 4: one txn, two keys
B4 = WatchEvent("p/b", "put", "2", 4)
D5 = WatchEvent("p/a", "delete", None, 5)
X6 = WatchEvent("q/x", "put", "1", 6)  # outside the watched prefix
COMMITTED = [A2, B3, A4, B4, D5, X6]
START = WatchStart(watcher=1, prefix="p/", start_revision=2, time=0.0)


def deliver(*events: WatchEvent, progress: int = 0, reconnect: bool = False) -> WatchDelivery:
    revision = progress or max(e.mod_revision for e in events)
    return WatchDelivery(1, revision, events, time=float(revision), after_reconnect=reconnect)


def check(*deliveries: WatchDelivery, committed: list[WatchEvent] = COMMITTED) -> CheckResult:
    return check_watches([START], deliveries, committed)


def kinds(result: CheckResult) -> set[str]:
    return {f.kind for f in result.problems}


def test_a_complete_ordered_stream_is_accepted() -> None:
    result = check(deliver(A2), deliver(B3), deliver(A4, B4), deliver(D5), deliver(progress=6))
    assert result.ok, result.explain()
    assert "1 watchers, 5 responses, 5 events" in result.explain()


def test_a_gap_is_found() -> None:
    result = check(deliver(A2), deliver(A4, B4), deliver(D5))
    assert kinds(result) == {"gap"}, result.explain()
    assert "revisions 3 " in result.problems[0].explanation


def test_a_gap_before_a_progress_notification_is_found() -> None:
    result = check(deliver(A2), deliver(B3), deliver(progress=6))
    assert kinds(result) == {"bookmark"}, result.explain()
    assert "4, 5" in result.problems[0].explanation


def test_the_first_event_must_be_the_start_revision() -> None:
    assert kinds(check(deliver(B3))) == {"gap"}


def test_a_duplicate_is_found() -> None:
    result = check(deliver(A2), deliver(B3), deliver(B3))
    assert kinds(result) == {"duplicate"}, result.explain()


def test_a_reordered_event_is_found() -> None:
    result = check(deliver(A2), deliver(A4, B4), deliver(B3))
    assert "unordered" in kinds(result), result.explain()


def test_a_split_txn_is_found() -> None:
    result = check(deliver(A2), deliver(B3), deliver(A4), deliver(B4))
    assert kinds(result) == {"split revision"}, result.explain()


def test_resuming_after_a_reconnect() -> None:
    assert check(deliver(A2), deliver(B3, reconnect=True)).ok
    result = check(deliver(A2), deliver(A4, B4, reconnect=True))
    assert "not resumed" in kinds(result), result.explain()
    assert "the next one after 2 is 3" in result.explain()
    again = check(deliver(A2), deliver(B3), deliver(B3, reconnect=True))
    assert "not resumed" in kinds(again) and "duplicate" in kinds(again)


def test_events_must_be_the_committed_ones() -> None:
    wrong = WatchEvent("p/b", "put", "9", 3)
    assert kinds(check(deliver(A2), deliver(wrong))) == {"wrong event"}
    assert kinds(check(deliver(A2), deliver(B3), deliver(A4, B4), deliver(D5), deliver(X6))) == {
        "unexpected event"}


def test_without_committed_events_only_the_order_is_checked() -> None:
    result = check(deliver(A2), deliver(A4, B4), committed=[])
    assert result.ok and [n.kind for n in result.notes] == ["no committed events"]
    assert kinds(check(deliver(A2), deliver(A2), committed=[])) == {"duplicate"}


def test_deliveries_of_an_unknown_watcher() -> None:
    result = check_watches([], [deliver(A2)], COMMITTED)
    assert kinds(result) == {"unknown watcher"}
