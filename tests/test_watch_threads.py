"""Sync watchers read their shared stream themselves, taking turns: several consumer threads
on one client must each get exactly their own events, whoever happens to be reading."""

from __future__ import annotations

import threading

import pytest

from etcdmap import Client, Event


def consume(watcher: object, count: int, into: list[Event]) -> None:
    for response in watcher:  # type: ignore[attr-defined]
        into.extend(response.events)
        if len(into) >= count:
            return


def test_consumer_threads_each_get_their_own_events_in_order(
    etcd_client: Client, etcd_prefix: str
) -> None:
    c, writes, prefixes = etcd_client, 40, [f"{etcd_prefix}{n}/" for n in range(4)]
    start = c.get("\x00", count_only=True).header.revision + 1
    watchers = [c.watch(p, prefix=True, start_revision=start) for p in prefixes]
    seen: list[list[Event]] = [[] for _ in prefixes]
    threads = [
        threading.Thread(target=consume, args=(w, writes, s))
        for w, s in zip(watchers, seen, strict=True)
    ]
    for t in threads:
        t.start()
    expected: list[list[int]] = [[] for _ in prefixes]
    for i in range(writes):
        for n, p in enumerate(prefixes):
            expected[n].append(c.put(f"{p}{i}", str(i)).header.revision)
    for t in threads:
        t.join(20)
    for w in watchers:
        w.cancel()
    assert not any(t.is_alive() for t in threads)
    assert [[e.kv.mod_revision for e in s] for s in seen] == expected


def test_a_thread_waiting_on_a_quiet_watch_reads_for_the_others(
    etcd_client: Client, etcd_prefix: str
) -> None:
    c = etcd_client
    with (
        c.watch(f"{etcd_prefix}quiet/", prefix=True) as quiet,
        c.watch(f"{etcd_prefix}busy/", prefix=True) as busy,
    ):
        # The quiet watcher's thread takes the turn and waits in the stream for anything.
        nothing: list[Event] = []
        reader = threading.Thread(target=consume, args=(quiet, 1, nothing))
        reader.start()
        revisions = [c.put(f"{etcd_prefix}busy/{i}", "x").header.revision for i in range(20)]
        got: list[Event] = []
        consumer = threading.Thread(target=consume, args=(busy, 20, got))
        consumer.start()
        consumer.join(10)
        assert not consumer.is_alive()
        assert [e.kv.mod_revision for e in got] == revisions
        quiet.cancel()  # ends the quiet thread's iteration
        reader.join(10)
        assert not reader.is_alive() and nothing == []


class Interrupted(Exception):  # noqa: N818 - it stands for KeyboardInterrupt
    """Raised where Ctrl-C would be: in the reading thread, between two statements."""


def test_a_read_interrupted_before_its_response_is_handed_out_loses_nothing(
    etcd_client: Client, etcd_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = etcd_client
    start = c.get("\x00", count_only=True).header.revision + 1
    mine, theirs = f"{etcd_prefix}main/", f"{etcd_prefix}other/"
    with (
        c.watch(mine, prefix=True, start_revision=start) as main_watch,
        c.watch(theirs, prefix=True, start_revision=start) as other,
    ):
        written: dict[str, list[int]] = {mine: [], theirs: []}
        for i in range(5):
            for prefix in (theirs, mine):  # the first response on the stream is the other's
                written[prefix].append(c.put(f"{prefix}{i}", "x").header.revision)
        stream = c._watch_stream
        assert stream is not None
        deliver, interrupted = stream._deliver, []

        def interrupt_once(response: object, conn: object) -> None:
            if not interrupted:
                interrupted.append(response)
                raise Interrupted  # the response is in hand, handed out to no one
            deliver(response, conn)  # type: ignore[arg-type]

        monkeypatch.setattr(stream, "_deliver", interrupt_once)
        connects = stream.connects
        with pytest.raises(Interrupted):
            next(main_watch)
        assert interrupted and stream.connects == connects
        events = {prefix: [] for prefix in written}  # type: dict[str, list[Event]]
        for prefix, watcher in ((mine, main_watch), (theirs, other)):
            for response in watcher:
                events[prefix].extend(response.events)
                if events[prefix][-1].kv.mod_revision >= written[prefix][-1]:
                    break
        assert {p: [e.kv.mod_revision for e in got] for p, got in events.items()} == written
        assert stream.connects == connects + 1  # the stream was reopened and both resumed
