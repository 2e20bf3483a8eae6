"""Planning bulk writes into Txns under etcd's limits, and what a failure midway reports;
no server."""

from __future__ import annotations

import pickle

import grpc
import pytest
from hypothesis import given
from hypothesis import strategies as st

import etcdmap
from etcdmap import Op
from etcdmap._core import errors
from etcdmap._core.bulk import REQUEST_OVERHEAD, BulkWrite, TxnLimits, op_size, plan_txns
from etcdmap._core.kv import txn_request

ops_strategy = st.lists(
    st.builds(
        lambda k, v, lease: Op.put(k, v, lease=lease or None),
        st.binary(min_size=1, max_size=40),
        st.binary(max_size=3000),
        st.integers(0, 2**63 - 1),
    ),
    max_size=60,
)


@given(ops_strategy, st.integers(1, 10), st.integers(REQUEST_OVERHEAD + 3100, 20000))
def test_every_txn_is_under_both_limits_in_order_each_op_once(
    ops: list[Op], max_ops: int, max_bytes: int
) -> None:
    limits = TxnLimits(max_ops, max_bytes)
    batches = plan_txns(ops, limits)
    assert [i for batch in batches for i in batch] == list(range(len(ops)))
    for number, batch in enumerate(batches):
        txn = txn_request([], [ops[i] for i in batch], [])
        assert 1 <= len(batch) <= max_ops
        assert txn.ByteSize() == sum(op_size(ops[i]) for i in batch)  # sizes are exact
        assert txn.ByteSize() + REQUEST_OVERHEAD <= max_bytes
        if number + 1 < len(batches):  # as few Txns as the order allows: the next op did not fit
            after = batch.stop
            assert len(batch) == max_ops or (
                txn.ByteSize() + op_size(ops[after]) + REQUEST_OVERHEAD > max_bytes
            )


def test_an_op_too_large_for_any_txn_is_named_before_anything_is_sent() -> None:
    ops = [Op.put("/m/a", b"x"), Op.put("/m/big", b"x" * 5000)]
    with pytest.raises(etcdmap.RequestTooLargeError, match="'big'.*nothing was sent"):
        plan_txns(ops, TxnLimits(128, 4096), names=["a", "big"])
    with pytest.raises(etcdmap.RequestTooLargeError, match="/m/big"):
        plan_txns(ops, TxnLimits(128, 4096))


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"max_txn_ops": 0}, ValueError),
        ({"max_txn_ops": True}, TypeError),
        ({"max_txn_ops": 1.5}, TypeError),
        ({"max_request_bytes": REQUEST_OVERHEAD}, ValueError),
        ({"max_request_bytes": "1MiB"}, TypeError),
    ],
)
def test_limits_are_checked(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error, match=next(iter(kwargs))):
        TxnLimits(**kwargs)  # type: ignore[arg-type]


def puts(count: int) -> tuple[list[Op], list[str]]:
    names = [f"k{i}" for i in range(count)]
    return [Op.put(name, b"v") for name in names], names


def run(write: BulkWrite, fail_at: int, error: etcdmap.EtcdError) -> etcdmap.EtcdError | None:
    """Acknowledge Txns until the ``fail_at``-th, which fails with ``error``."""
    for _ in range(fail_at):
        assert write.next() is not None
        write.done(7)
    assert write.next() is not None
    return write.failed(error)


def test_a_failure_midway_says_which_keys_were_written() -> None:
    ops, names = puts(10)
    refused = errors.error_from_status(
        grpc.StatusCode.INVALID_ARGUMENT, "etcdserver: request is too large",
        endpoint="e:1", action="txn",
    )
    problem = run(BulkWrite(ops, names, TxnLimits(4), what="update"), 1, refused)
    assert isinstance(problem, etcdmap.PartialWriteError)
    assert isinstance(problem, etcdmap.RequestTooLargeError)
    assert problem.written == names[:4] and problem.not_written == names[4:]
    assert problem.unknown == [] and problem.cause is refused
    assert problem.endpoint == "e:1" and problem.code is grpc.StatusCode.INVALID_ARGUMENT
    assert "update: 4 keys written, 6 not written" in str(problem)

    lost = errors.error_from_status(
        grpc.StatusCode.UNAVAILABLE, "Socket closed", endpoint="e:1", action="txn"
    )
    problem = run(BulkWrite(ops, names, TxnLimits(4), what="update"), 1, lost)
    assert isinstance(problem, etcdmap.PartialWriteError)
    assert isinstance(problem, etcdmap.errors.ConnectionLostError)
    assert isinstance(problem, etcdmap.OutcomeUnknownError)
    assert problem.written == names[:4]
    assert problem.unknown == names[4:8] and problem.not_written == names[8:]
    # one class per cause, reused
    again = run(BulkWrite(ops, names, TxnLimits(4), what="update"), 2, lost)
    assert type(again) is type(problem)
    assert isinstance(again, etcdmap.PartialWriteError) and again.written == names[:8]
    copied = pickle.loads(pickle.dumps(again))
    assert type(copied) is type(again) and str(copied) == str(again)
    assert (copied.written, copied.unknown, copied.not_written) == (
        again.written, again.unknown, again.not_written
    )
    assert copied.endpoint == "e:1"


def test_a_single_txn_raises_the_error_itself() -> None:
    ops, names = puts(3)
    failed = etcdmap.ConnectionFailedError("refused")
    assert run(BulkWrite(ops, names, TxnLimits(), what="update"), 0, failed) is failed


def test_too_many_ops_plans_smaller_txns_for_a_split_write_only() -> None:
    ops, names = puts(10)
    write = BulkWrite(ops, names, TxnLimits(8), what="update")
    assert write.split
    assert run(write, 0, etcdmap.errors.TooManyOpsError("too many")) is None
    sizes = []
    while (batch := write.next()) is not None:
        sizes.append(len(batch))
        write.done(1)
    assert sizes == [4, 4, 2]


def test_atomic_writes_fit_one_txn_or_fail_before_sending() -> None:
    ops, names = puts(10)
    with pytest.raises(etcdmap.errors.TooManyOpsError, match="atomic=True.*max_txn_ops=4"):
        BulkWrite(ops, names, TxnLimits(4), what="update", atomic=True)
    big = [Op.put(f"k{i}", b"x" * 1000) for i in range(3)]
    with pytest.raises(etcdmap.RequestTooLargeError, match="atomic=True.*nothing was sent"):
        BulkWrite(big, ["a", "b", "c"], TxnLimits(128, 2600), what="update", atomic=True)
    write = BulkWrite(ops, names, TxnLimits(), what="update", atomic=True)
    refused = etcdmap.errors.TooManyOpsError("too many")
    assert run(write, 0, refused) is refused  # not split behind the caller's back
