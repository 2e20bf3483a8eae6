# Generated from tests/_async/test_watch_faults.py by scripts/unasync: do not edit.
"""Watches that must not poison their client, against a real etcd: a create that cannot be
sent or that the server refuses, bad arguments, a closed client, and deadlines that hold while
the server is frozen (SIGSTOP), so the stream under a wait makes no progress.

Written for AsyncClient; tests/_sync/test_watch_faults.py is generated from it by
scripts/unasync.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

import etcdmap
from etcdmap import Client
from etcdmap._sync.mirror import Mirror
from etcdmap._sync.syncer import PrefixCopy
from etcdmap._backends.threads import Worker
from etcdmap.concurrency import Election, Mutex, RWMutex, Session
from etcdmap.testing import EtcdServer

from .helpers import collect, frozen

MiB = 1024 * 1024
#: How late past its timeout a wait on a frozen server may return.
SLACK = 1.5


def watch_still_works(client: Client, key: str) -> None:
    """A new watch on ``client`` starts and delivers, and a Mutex on it locks: nothing left
    over from an earlier failed watch blocks the client's stream."""
    with client.watch(key) as watcher:
        revision = (client.put(key, "v")).header.revision
        response = watcher.__next__()
        assert [e.kv.mod_revision for e in response.events] == [revision]
    with Session(client, ttl=5) as session:
        assert Mutex(session, key + "/lock").acquire(timeout=5)


def eventually(outcome: list[Any], within: float) -> Any:
    """The first item of ``outcome`` once a background call has put it there."""
    deadline = time.monotonic() + within
    while not outcome and time.monotonic() < deadline:
        time.sleep(0.02)
    assert outcome, f"the call did not end within {within}s"
    return outcome[0]


def timed(outcome: list[Any], call: Any) -> None:
    """Run ``call()`` and append (what it returned or raised, seconds it took) to ``outcome``."""
    started = time.monotonic()
    try:
        result: Any = call()
    except Exception as error:
        result = error
    outcome.append((result, time.monotonic() - started))


# --- 5: a create that cannot be sent -----------------------------------------------------


def test_a_create_over_max_send_bytes_fails_alone(etcd_server: EtcdServer, etcd_prefix: str) -> None:
    with Client(etcd_server.endpoints) as c:
        with c.watch(etcd_prefix + "other") as other:
            started = time.monotonic()
            with pytest.raises(etcdmap.RequestTooLargeError, match="max_send_bytes"):
                c.watch("k" * (2 * MiB)).start()
            assert time.monotonic() - started < 1.0
            revision = (c.put(etcd_prefix + "other", "1")).header.revision
            assert (other.__next__()).events[0].kv.mod_revision == revision
        watch_still_works(c, etcd_prefix + "after")


def test_a_create_the_server_refuses_fails_alone(etcd_server: EtcdServer, etcd_prefix: str) -> None:
    # Under the client's 8 MiB but over what etcd's gRPC server reads (--max-request-bytes
    # plus 512 KiB): the server breaks the stream, which must not be reopened with it forever.
    with Client(etcd_server.endpoints, max_send_bytes=8 * MiB) as c:
        with c.watch(etcd_prefix + "other") as other:
            started = time.monotonic()
            refused = c.watch("k" * (3 * MiB)).start()  # an error at creation ends
            with pytest.raises(etcdmap.RequestTooLargeError, match="max-request-bytes"):
                refused.__next__()  # the watch: iterating it raises the error
            assert time.monotonic() - started < 2.0
            revision = (c.put(etcd_prefix + "other", "1")).header.revision
            assert (other.__next__()).events[0].kv.mod_revision == revision
        watch_still_works(c, etcd_prefix + "after")


# --- 6: bad arguments --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "error", "named"),
    [
        ({"start_revision": 1.5}, TypeError, "start_revision"),
        ({"start_revision": "7"}, TypeError, "start_revision"),
        ({"start_revision": True}, TypeError, "start_revision"),
        ({"start_revision": 2**64}, ValueError, "start_revision"),
        ({"start_revision": 2**63}, ValueError, "start_revision"),
        ({"start_revision": -1}, ValueError, "start_revision"),
        ({"buffer": -1}, ValueError, "buffer"),
        ({"buffer": 0}, ValueError, "buffer"),
        ({"buffer": 2.5}, TypeError, "buffer"),
        ({"filters": "noput"}, TypeError, "filters"),
        ({"filters": [1]}, ValueError, "filters"),
        ({"filters": 3}, TypeError, "filters"),
        ({"range_end": 5}, TypeError, "range_end"),
        ({"range_end": "/"}, ValueError, "range_end"),
        ({"prefix": "yes"}, TypeError, "prefix"),
        ({"prev_kv": 1}, TypeError, "prev_kv"),
        ({"progress_notify": None}, TypeError, "progress_notify"),
        ({"fragment": "no"}, TypeError, "fragment"),
    ],
)
def test_a_bad_argument_fails_that_call_alone(
    etcd_server: EtcdServer, etcd_prefix: str, arguments: dict[str, Any], error: type, named: str
) -> None:
    with Client(etcd_server.endpoints) as c:
        with pytest.raises(error, match=named):
            c.watch(etcd_prefix + "k", **arguments)
        watch_still_works(c, etcd_prefix + "after")


# --- 7: a closed client ------------------------------------------------------------------


def test_a_closed_client_refuses_watches_keep_alives_and_mirrors(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    c = Client(etcd_server.endpoints)
    lease = c.lease_grant(5)
    c.close()
    started = time.monotonic()
    with pytest.raises(etcdmap.ClientClosedError):
        c.watch(etcd_prefix).start()
    with pytest.raises(etcdmap.ClientClosedError):
        for _ in c.watch(etcd_prefix):
            pass
    with pytest.raises(etcdmap.ClientClosedError):
        c.add_watch_callback(etcd_prefix, lambda item: None)
    with pytest.raises(etcdmap.ClientClosedError):
        c.lease_keep_alive(lease)
    with pytest.raises(etcdmap.ClientClosedError):
        Mirror(c, etcd_prefix)
    assert time.monotonic() - started < 1.0


def test_a_waiting_watcher_ends_with_client_closed(etcd_server: EtcdServer, etcd_prefix: str) -> None:
    c = Client(etcd_server.endpoints)
    watcher = c.watch(etcd_prefix).start()
    items: list[Any] = []
    handle = c.add_watch_callback(etcd_prefix, items.append)
    outcome: list[Any] = []
    worker = Worker(timed, outcome, watcher.__next__, name="test-waiting-watcher")
    time.sleep(0.2)  # the worker waits in the iteration
    c.close()
    error, _ = eventually(outcome, 5)
    assert isinstance(error, etcdmap.ClientClosedError)
    eventually(items, 5)
    assert isinstance(items[0], etcdmap.ClientClosedError)
    handle.cancel()
    worker.join()


def test_closing_a_client_while_a_call_retries(etcd_prefix: str) -> None:
    with EtcdServer() as server:
        c = Client(server.endpoints)
        c.put(etcd_prefix + "k", "v")
        server.kill()
        try:
            outcome: list[Any] = []
            worker = Worker(
                timed, outcome, lambda: c.get(etcd_prefix + "k", timeout=30),
                name="test-retrying-get",
            )
            time.sleep(0.5)  # the get fails and is retried
            c.close()
            error, _ = eventually(outcome, 5)
            assert isinstance(error, etcdmap.ClientClosedError), error
            worker.join()
        finally:
            server.restart()


def drain(watcher: Any) -> int:
    """Iterate ``watcher`` to its end: how many responses it gave."""
    count = 0
    for _ in watcher:
        count += 1
    return count


def test_cancel_ends_an_iteration_on_a_frozen_server(etcd_server: EtcdServer, etcd_prefix: str) -> None:
    # The iterating worker (a thread with Client) waits in the shared stream's read, which
    # nothing answers: cancel() must end it anyway, and the other watcher loses nothing.
    with Client(etcd_server.endpoints) as c, c.watch(etcd_prefix + "other/", prefix=True) as other:
        watcher = c.watch(etcd_prefix + "mine").start()
        outcome: list[Any] = []
        worker = Worker(timed, outcome, lambda: drain(watcher), name="test-frozen-iteration")
        try:
            written = [(c.put(f"{etcd_prefix}other/{i}", "x")).header.revision for i in range(3)]
            time.sleep(0.2)  # the worker waits in the iteration
            with frozen(etcd_server):
                watcher.cancel()
                assert eventually(outcome, 2.0) == (0, outcome[0][1])
            written += [(c.put(f"{etcd_prefix}other/{i}", "x")).header.revision for i in range(3, 6)]
            assert [e.kv.mod_revision for e in collect(other, written[-1])] == written
        finally:
            worker.join()


def test_close_ends_an_iteration_on_a_frozen_server(etcd_server: EtcdServer, etcd_prefix: str) -> None:
    c = Client(etcd_server.endpoints)
    watcher = c.watch(etcd_prefix).start()
    outcome: list[Any] = []
    worker = Worker(timed, outcome, lambda: drain(watcher), name="test-frozen-iteration")
    try:
        time.sleep(0.2)  # the worker waits in the iteration
        with frozen(etcd_server):
            started = time.monotonic()
            c.close()
            assert time.monotonic() - started < SLACK
            error, _ = eventually(outcome, 2.0)
        assert isinstance(error, etcdmap.ClientClosedError), error
    finally:
        worker.join()


# --- 8: deadlines that hold on a frozen server -------------------------------------------


def test_watch_start_timeout_on_a_frozen_server(etcd_server: EtcdServer, etcd_prefix: str) -> None:
    with Client(etcd_server.endpoints) as c:
        with c.watch(etcd_prefix + "open"):  # the stream is up before the freeze
            with frozen(etcd_server):
                started = time.monotonic()
                with pytest.raises(etcdmap.DeadlineExceededError, match="watch"):
                    c.watch(etcd_prefix + "k").start(timeout=1.0)
                assert time.monotonic() - started < 1.0 + SLACK
        watch_still_works(c, etcd_prefix + "after")


def test_first_watch_and_session_end_at_their_timeout_on_a_frozen_server(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    """The client's first stream is opened on a frozen server, which accepted the connection
    but answers nothing: the watch start and the session's lease grant still end at their
    timeouts (the server runs again later, so a wait that ignored them would end there)."""
    with Client(etcd_server.endpoints) as c:
        with frozen(etcd_server, thaw_after=8):
            started = time.monotonic()
            with pytest.raises(etcdmap.DeadlineExceededError, match="watch"):
                c.watch(etcd_prefix + "k").start(timeout=1.0)
            assert time.monotonic() - started < 1.0 + SLACK
            started = time.monotonic()
            with pytest.raises(etcdmap.DeadlineExceededError):
                Session(c, ttl=5).start(timeout=1.0)
            assert time.monotonic() - started < 1.0 + SLACK
        watch_still_works(c, etcd_prefix + "after-first")


def wait_frozen_while_waiting(
    server: EtcdServer, client: Client, prefix: str, call: Any, timeout: float
) -> Any:
    """Run ``call()`` in the background; once it has queued its key under ``prefix`` (it now
    waits for an older holder), freeze the server. What the call returned or raised, checked
    to have taken at most ``timeout`` + slack."""
    outcome: list[Any] = []
    worker = Worker(timed, outcome, call, name="test-frozen-wait")
    try:
        deadline = time.monotonic() + 5
        while (client.get(prefix, prefix=True, count_only=True)).count < 2:
            assert time.monotonic() < deadline, "the waiter never queued"
            time.sleep(0.02)
        with frozen(server):
            result, seconds = eventually(outcome, timeout + 2 * SLACK)
        assert seconds < timeout + SLACK, seconds
        return result
    finally:
        worker.join()


def test_mutex_acquire_timeout_on_a_frozen_server(etcd_server: EtcdServer, etcd_prefix: str) -> None:
    prefix = etcd_prefix + "lock"
    with Client(etcd_server.endpoints) as holder_client, \
            Client(etcd_server.endpoints) as waiter_client, \
            Session(holder_client, ttl=30) as holder, Session(waiter_client, ttl=30) as waiter:
        assert Mutex(holder, prefix).acquire(timeout=5)
        mutex = Mutex(waiter, prefix)
        acquired = wait_frozen_while_waiting(
            etcd_server, holder_client, prefix, lambda: mutex.acquire(timeout=2.0), 2.0
        )
        assert acquired is False
        watch_still_works(waiter_client, etcd_prefix + "after")


def test_campaign_timeout_on_a_frozen_server(etcd_server: EtcdServer, etcd_prefix: str) -> None:
    prefix = etcd_prefix + "election"
    with Client(etcd_server.endpoints) as leader_client, \
            Client(etcd_server.endpoints) as candidate_client, \
            Session(leader_client, ttl=30) as leader, Session(candidate_client, ttl=30) as candidate:
        Election(leader, prefix).campaign("leader", timeout=5)
        election = Election(candidate, prefix)
        error = wait_frozen_while_waiting(
            etcd_server, leader_client, prefix, lambda: election.campaign("second", timeout=2.0), 2.0
        )
        assert isinstance(error, etcdmap.DeadlineExceededError), error
        watch_still_works(candidate_client, etcd_prefix + "after")


def test_rwmutex_lock_timeout_on_a_frozen_server(etcd_server: EtcdServer, etcd_prefix: str) -> None:
    prefix = etcd_prefix + "rw"
    with Client(etcd_server.endpoints) as holder_client, \
            Client(etcd_server.endpoints) as waiter_client, \
            Session(holder_client, ttl=30) as holder, Session(waiter_client, ttl=30) as waiter:
        RWMutex(holder, prefix).lock(timeout=5)
        rw = RWMutex(waiter, prefix)
        error = wait_frozen_while_waiting(
            etcd_server, holder_client, prefix, lambda: rw.lock(timeout=2.0), 2.0
        )
        assert isinstance(error, etcdmap.DeadlineExceededError), error
        watch_still_works(waiter_client, etcd_prefix + "after")


def test_mirror_waits_time_out_on_a_frozen_server(etcd_server: EtcdServer, etcd_prefix: str) -> None:
    with Client(etcd_server.endpoints) as c:
        revision = (c.put(etcd_prefix + "k", "v")).header.revision
        with Mirror(c, etcd_prefix) as mirror:
            mirror.wait_synced(timeout=5)
            with frozen(etcd_server):
                started = time.monotonic()
                with pytest.raises(TimeoutError):
                    mirror.wait_for(revision + 1000, timeout=1.0)
                assert time.monotonic() - started < 1.0 + SLACK


def test_mirror_and_map_writes_end_at_their_timeout_on_a_frozen_server(
    etcd_server: EtcdServer, etcd_prefix: str
) -> None:
    """A write through a mirror is bounded by the mirror's ``timeout`` (its RPC too, not only
    the wait for the copy), and a map's RPCs by the map's ``timeout``: typed errors that say
    the outcome is unknown, on a client that has no default timeout."""
    with Client(etcd_server.endpoints) as c:
        m = etcdmap.EtcdMap(c, etcd_prefix + "map/", codec=etcdmap.codecs.Str(), timeout=1.0)
        m.set("k", "v")
        with Mirror(c, etcd_prefix + "mirror/", timeout=1.0) as mirror:
            mirror.wait_synced(timeout=5)
            with frozen(etcd_server, thaw_after=8):
                for write in (lambda: mirror.set("k", b"v"), lambda: m.set("k", "w"), lambda: m.get("k")):
                    started = time.monotonic()
                    with pytest.raises(etcdmap.errors.DeadlineExceededError):
                        write()
                    assert time.monotonic() - started < 1.0 + SLACK


def test_stopping_a_prefix_copy_on_a_frozen_server(etcd_server: EtcdServer, etcd_prefix: str) -> None:
    with Client(etcd_server.endpoints) as c:
        revision = (c.put(etcd_prefix + "source/k", "v")).header.revision
        copy = PrefixCopy(c, c, etcd_prefix + "source/", etcd_prefix + "copy/").start()
        try:
            assert copy.wait_for(revision, timeout=5)
            with frozen(etcd_server):
                started = time.monotonic()
                copy.stop()  # its worker waits in the watch: stop() joins it
                assert time.monotonic() - started < SLACK
        finally:
            copy.stop()
