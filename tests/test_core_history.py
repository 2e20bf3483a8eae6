"""Replaying a key's history from watch responses: when the replay has everything up to
"now", from what the events prove (no server)."""

from __future__ import annotations

from etcdmap import Event, EventType, KeyValue, ResponseHeader, WatchResponse
from etcdmap._core.history import REPLAY_BATCH, HistoryReplay, versions_of

K = b"/m/k"


def put(revision: int, version: int, created: int, value: bytes = b"1") -> Event:
    kv = KeyValue(
        key=K, value=value, mod_revision=revision, version=version, create_revision=created
    )
    return Event(EventType.PUT, kv)


def delete(revision: int) -> Event:
    return Event(EventType.DELETE, KeyValue(key=K, mod_revision=revision))


def response(header: int, *events: Event) -> WatchResponse:
    return WatchResponse(ResponseHeader(1, 2, header, 3), list(events))


def test_a_key_that_exists_now_is_done_at_its_mod_revision() -> None:
    now = KeyValue(key=K, value=b"2", mod_revision=7, version=2, create_revision=5)
    replay = HistoryReplay(10, now, 1)
    assert not replay.done and not replay.needs_quiet
    replay.feed(response(10))  # a progress notification proves nothing (etcd < 3.5.8)
    assert not replay.done
    replay.feed(response(6, put(5, 1, 5)))
    assert not replay.done  # read before now: 7 is still to come
    replay.feed(response(10, put(7, 2, 5), put(11, 3, 5)))
    assert replay.done and [e.kv.mod_revision for e in replay.events] == [5, 7]


def test_nothing_to_replay_when_the_key_is_older_than_since_or_since_is_ahead() -> None:
    now = KeyValue(key=K, value=b"2", mod_revision=7, version=2, create_revision=5)
    assert HistoryReplay(10, now, 8).done
    assert HistoryReplay(10, None, 11).done


def test_a_key_missing_now_is_done_at_the_last_page_of_a_replay() -> None:
    replay = HistoryReplay(20, None, 1)
    assert replay.needs_quiet  # nothing received yet: only silence can tell
    replay.feed(response(20, put(3, 1, 3), delete(9)))
    assert replay.done  # fewer than 1,000 revisions, read at now: the last page


def test_a_full_page_needs_more_or_silence() -> None:
    replay = HistoryReplay(5000, None, 1)
    page = [put(r, r, 1) for r in range(1, REPLAY_BATCH + 1)]
    replay.feed(response(5000, *page))
    assert not replay.done and replay.needs_quiet
    replay.feed(response(5000, delete(REPLAY_BATCH + 1)))
    assert replay.done and len(replay.events) == REPLAY_BATCH + 1
    silent = HistoryReplay(5000, None, 1)
    silent.feed(response(5000, *page))
    silent.quiet()
    assert silent.done


def test_an_event_after_now_ends_the_replay_and_is_left_out() -> None:
    replay = HistoryReplay(8, None, 1)
    replay.feed(response(9, put(9, 1, 9)))
    assert replay.done and replay.events == []


def test_versions_carry_generations_and_decode_errors() -> None:
    def decode(kv: KeyValue) -> int:
        if kv.value == b"bad":
            raise ValueError("no int")
        return int(kv.value)

    events = [put(2, 1, 2, b"1"), delete(3), put(4, 1, 4, b"bad"), delete(5)]
    versions = versions_of(events, decode)
    assert [(v.kind, v.value, v.create_revision) for v in versions] == [
        (EventType.PUT, 1, 2), (EventType.DELETE, None, 2),
        (EventType.PUT, None, 4), (EventType.DELETE, None, 4),
    ]  # fmt: skip
    assert str(versions[2].error) == "no int" and versions[2].data == b"bad"
