"""Sync watchers read their shared stream themselves, taking turns: several consumer threads
on one client must each get exactly their own events, whoever happens to be reading."""

from __future__ import annotations

import threading

from etcdmap import Client, Event


def consume(watcher: object, count: int, into: list[Event]) -> None:
    for response in watcher:  # type: ignore[attr-defined]
        into.extend(response.events)
        if len(into) >= count:
            return


def test_consumer_threads_each_get_their_own_events_in_order(etcd_client: Client, etcd_prefix: str) -> None:
    c, writes, prefixes = etcd_client, 40, [f"{etcd_prefix}{n}/" for n in range(4)]
    start = c.get("\x00", count_only=True).header.revision + 1
    watchers = [c.watch(p, prefix=True, start_revision=start) for p in prefixes]
    seen: list[list[Event]] = [[] for _ in prefixes]
    threads = [threading.Thread(target=consume, args=(w, writes, s)) for w, s in zip(watchers, seen, strict=True)]
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


def test_a_thread_waiting_on_a_quiet_watch_reads_for_the_others(etcd_client: Client, etcd_prefix: str) -> None:
    c = etcd_client
    with c.watch(f"{etcd_prefix}quiet/", prefix=True) as quiet, c.watch(f"{etcd_prefix}busy/", prefix=True) as busy:
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
