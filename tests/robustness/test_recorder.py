"""The recorder against a real etcd: kinds, outputs, revisions and outcomes of each call."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest

import etcdmap
from etcdmap.concurrency import Session
from etcdmap.errors import ConnectionFailedError, DeadlineExceededError, EtcdError
from etcdmap.testing import EtcdServer
from etcdmap.testing.checkers import check_linearizability
from etcdmap.testing.history import Outcome, WatchEvent
from etcdmap.testing.nemeses import frozen, outage
from etcdmap.testing.recorder import (
    RecordedMap,
    Recorder,
    outcome_of,
    record_lock,
    record_watch,
)

pytestmark = pytest.mark.robustness


@pytest.fixture(scope="module")
def server() -> Iterator[EtcdServer]:
    with EtcdServer() as started:
        yield started


@pytest.fixture
def prefix() -> str:
    return f"/recorder/{uuid.uuid4().hex[:8]}/"


def test_outcome_of_tells_not_applied_from_unknown() -> None:
    assert outcome_of(None) is Outcome.OK
    assert outcome_of(ConnectionFailedError("refused")) is Outcome.FAILED
    assert outcome_of(etcdmap.ConflictError("lost")) is Outcome.FAILED
    assert outcome_of(TypeError("bad value")) is Outcome.FAILED
    assert outcome_of(DeadlineExceededError("late")) is Outcome.UNKNOWN
    assert outcome_of(TimeoutError()) is Outcome.UNKNOWN
    with pytest.raises(TypeError, match="KeyError is not an outcome"):
        outcome_of(KeyError("k"))


def test_map_calls_are_recorded_in_the_history_vocabulary(
    server: EtcdServer, prefix: str
) -> None:
    recorder = Recorder()
    with etcdmap.Client(server.endpoints) as client:
        kv = RecordedMap(recorder, 0, etcdmap.EtcdMap(client, prefix, value_type=str))
        written = kv.set("a")
        assert kv.get("a").output == "0-1"
        assert kv.delete("b").output is False
        assert kv.put_if_absent("b").output is True
        assert kv.compare_and_swap("a", "0-1").output is True
        assert kv.modify("a").error is None
        assert kv.modify("c").error is None  # absent: a put_if_absent
        assert kv.transaction(["a", "b"]).error is None
        assert kv.txn("b", None).output == {"succeeded": False, "reads": ["0-7"]}
    ops = recorder.history.operations
    assert [op.kind for op in ops] == [
        "put", "get", "delete", "put_if_absent", "cas", "cas", "put_if_absent", "txn", "txn",
    ]  # fmt: skip
    assert ops[0].revision == written.revision and ops[1].revision >= written.revision
    assert ops[5].input == {"expect": "0-3", "new": "0-4"}  # modify read the cas's value
    assert ops[7].input["guard"] == [["a", "0-4"], ["b", "0-2"]]
    assert all(op.outcome is Outcome.OK and op.client == 0 for op in ops)
    values = [op.input for op in ops if op.kind == "put"]
    assert len(set(values)) == len(values)
    assert check_linearizability(ops).ok


def test_refused_calls_fail_and_stuck_calls_are_unknown(
    server: EtcdServer, prefix: str
) -> None:
    recorder = Recorder()
    with etcdmap.Client(server.endpoints, timeout=0.5) as client:
        kv = RecordedMap(recorder, 1, etcdmap.EtcdMap(client, prefix, value_type=str))
        with outage(server):
            refused = kv.set("k")
        with frozen(server):
            stuck = kv.set("k")
    assert isinstance(refused.error, ConnectionFailedError)
    assert isinstance(stuck.error, DeadlineExceededError)
    first, second = recorder.history.operations
    assert (first.outcome, second.outcome) == (Outcome.FAILED, Outcome.UNKNOWN)
    assert first.revision is None and second.output is None
    assert first.invoke <= first.complete <= second.invoke  # type: ignore[operator]


def test_watch_deliveries_are_recorded_without_the_prefix(
    server: EtcdServer, prefix: str
) -> None:
    recorder = Recorder()
    with etcdmap.Client(server.endpoints) as client:
        watcher = client.watch(prefix, prefix=True).start()
        thread = threading.Thread(
            target=record_watch, args=(recorder, 7, watcher, prefix, 0, len(prefix))
        )
        thread.start()
        put = client.put(prefix + "k", "v").header.revision
        deleted = client.delete(prefix + "k").header.revision
        while sum(len(d.events) for d in recorder.history.deliveries) < 2:
            thread.join(0.05)
            assert thread.is_alive()
        watcher.cancel()
        thread.join(10)
    (start,) = recorder.history.watches
    assert (start.watcher, start.prefix, start.current_revision) == (7, "", put - 1)
    events = [e for d in recorder.history.deliveries for e in d.events]
    assert events == [WatchEvent("k", "put", "v", put), WatchEvent("k", "delete", None, deleted)]


def test_lock_holds_are_recorded_with_their_session(server: EtcdServer, prefix: str) -> None:
    recorder = Recorder()
    with etcdmap.Client(server.endpoints) as client, Session(client, ttl=5) as session:
        assert record_lock(recorder, 3, session, prefix + "lock", lambda: None, timeout=5)
    (hold,) = recorder.history.locks
    assert (hold.client, hold.session, hold.ttl) == (3, session.lease_id, 5.0)
    assert hold.released is not None and hold.acquired <= hold.released
    assert hold.expired_by is None


def test_a_bug_of_the_workload_propagates(server: EtcdServer, prefix: str) -> None:
    recorder = Recorder()
    with pytest.raises(ZeroDivisionError):
        with recorder.call(0, "get", "k"):
            _ = 1 / 0
    (op,) = recorder.history.operations
    assert op.outcome is Outcome.UNKNOWN
    with pytest.raises(EtcdError):  # an error of etcd raised outside a recorded call
        raise EtcdError("not recorded")
