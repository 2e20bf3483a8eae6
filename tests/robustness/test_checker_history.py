"""The history model: records, the recorder's outcomes, JSON-lines round trip (no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from etcdmap.errors import ConflictError, ConnectionFailedError, DeadlineExceededError
from etcdmap.testing.history import (
    History,
    HistoryRecorder,
    LockHold,
    MirrorSample,
    Operation,
    Outcome,
    WatchDelivery,
    WatchEvent,
    WatchStart,
)


def test_recorder_takes_the_outcome_from_the_exception() -> None:
    recorder = HistoryRecorder()
    with recorder.record(0, "put", "k", "v1") as call:
        call.ok(revision=5)
    with recorder.record(1, "put", "k", "v2"):
        raise DeadlineExceededError("deadline passed")
    with recorder.record(2, "get", "k"):
        raise ConnectionFailedError("refused")
    with recorder.record(3, "cas", "k", {"expect": "v1", "new": "v3"}):
        raise ConflictError("lost")
    with pytest.raises(ZeroDivisionError), recorder.record(4, "get", "k"):
        raise ZeroDivisionError
    ops = recorder.history.operations
    assert [op.outcome for op in ops] == [
        Outcome.OK, Outcome.UNKNOWN, Outcome.FAILED, Outcome.FAILED, Outcome.UNKNOWN,
    ]  # fmt: skip
    assert ops[0].revision == 5 and ops[1].revision is None
    assert all(op.complete is not None and op.invoke <= op.complete for op in ops)


def test_a_block_that_forgets_ok_is_recorded_unknown_and_raises() -> None:
    recorder = HistoryRecorder()
    with pytest.raises(RuntimeError, match="without call.ok"), recorder.record(0, "get", "k"):
        pass
    assert recorder.history.operations[0].outcome is Outcome.UNKNOWN


def test_txn_keys_and_describe() -> None:
    txn = Operation(
        client=1, kind="txn", key="",
        input={"guard": [["a", "1"]], "then": [["put", "b", "2"], ["get", "a"]], "else": []},
        output={"succeeded": True, "reads": ["1"]}, invoke=1.0, complete=1.5,
        outcome=Outcome.OK, revision=7,
    )  # fmt: skip
    assert txn.keys == ("a", "b")
    put = Operation(1, "put", "k", "v", None, 1.0, None, Outcome.UNKNOWN)
    assert put.describe() == "client 1: put('k', 'v') -> unknown [1.000, never]"


def test_unknown_kinds_and_records_are_refused() -> None:
    with pytest.raises(ValueError, match="kind='range'"):
        History([Operation(0, "range", "k", None, None, 0.0, 1.0, Outcome.OK)])
    with pytest.raises(TypeError, match="no history record"):
        History().append("put k v")  # type: ignore[arg-type]  # the refusal is tested


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    history = History([
        Operation(0, "put", "k", "v", None, 1.0, 1.1, Outcome.OK, revision=2),
        Operation(1, "get", "k", None, "v", 1.2, None, Outcome.UNKNOWN),
        WatchStart(watcher=0, prefix="", start_revision=1, time=0.5),
        WatchDelivery(0, 2, (WatchEvent("k", "put", "v", 2),), 1.3, after_reconnect=True),
        LockHold(0, "lock", 7, 1.0, None, ttl=2.0, expired_by=3.0),
        MirrorSample(0, 1.4, 2, "ready", {"k": "v"}, stream_down_since=None),
        WatchEvent("k", "put", "v", 2),
    ])  # fmt: skip
    loaded = History.load(history.save(tmp_path / "h.jsonl"))
    assert loaded.records() == history.records()
    assert len(loaded.committed) == 1 and loaded.operations[1].complete is None
    (tmp_path / "bad.jsonl").write_text('{"type": "op"}\n')
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        History.load(tmp_path / "bad.jsonl")
