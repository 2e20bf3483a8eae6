"""The Txns of a map's conditional writes and how their responses read (no server)."""

from __future__ import annotations

from typing import Any

import pytest

from etcdmap import Compare, ConflictError, KeyValue
from etcdmap._core import map_writes as writes
from etcdmap._core.bulk import TxnLimits
from etcdmap._core.results import GetResponse, PutResponse, ResponseHeader, TxnResponse
from etcdmap.errors import TooManyOpsError

K = b"/m/k"


def header(revision: int) -> ResponseHeader:
    return ResponseHeader(1, 2, revision, 3)


def succeeded(revision: int) -> TxnResponse:
    return TxnResponse(header(revision), True, [PutResponse(header(revision), None)])


def failed(revision: int, *kvs: Any) -> TxnResponse:
    got = GetResponse(header(revision), list(kvs), len(kvs), False)
    return TxnResponse(header(revision), False, [got])


def ops(plan: writes.TxnPlan[Any]) -> tuple[list[str], list[str]]:
    return [op.kind for op in plan.success], [op.kind for op in plan.failure]


def test_put_if_unchanged_writes_or_reads_the_key_back() -> None:
    plan = writes.put_if_unchanged(K, b"v", 5, 7)
    assert plan.compare == [Compare.mod_revision(K, "==", 5)]
    assert ops(plan) == (["put"], ["get"])
    put = plan.success[0].request
    assert (put.key, put.value, put.lease) == (K, b"v", 7)
    assert plan.failure[0].request.key == K
    done = plan.result(succeeded(9))
    assert done.written and done.revision == 9 and done.current is None
    now = KeyValue(key=K, value=b"w", mod_revision=8)
    lost = plan.result(failed(9, now))
    assert not lost.written and lost.current is now
    gone = plan.result(failed(9))
    assert not gone.written and gone.current is None
    assert "revision=0" in repr(gone)


def test_delete_if_unchanged_and_create() -> None:
    delete = writes.delete_if_unchanged(K, 4)
    assert delete.compare == [Compare.mod_revision(K, "==", 4)]
    assert ops(delete) == (["delete"], ["get"])
    create = writes.create(K, b"d", None)
    assert create.compare == [Compare.create_revision(K, "==", 0)]
    assert ops(create) == (["put"], ["get"])
    assert create.result(succeeded(3)).written
    existing = KeyValue(key=K, value=b"x", mod_revision=2)
    assert create.result(failed(3, existing)).current is existing


@pytest.mark.parametrize(
    ("plan", "compare"),
    [
        (writes.put_if_absent(K, b"v", None), Compare.create_revision(K, "==", 0)),
        (writes.compare_and_swap(K, b"old", b"v", None), Compare.value(K, "==", b"old")),
        (writes.replace(K, b"v", 6, None), Compare.mod_revision(K, "==", 6)),
    ],
)
def test_single_put_plans_answer_whether_they_stored(
    plan: writes.TxnPlan[bool], compare: Compare
) -> None:
    assert plan.compare == [compare]
    assert ops(plan) == (["put"], [])
    assert plan.success[0].request.value == b"v"
    assert plan.result(succeeded(8)) is True
    assert plan.result(TxnResponse(header(8), False, [])) is False


def test_remove_compares_the_listed_revision() -> None:
    kv = KeyValue(key=K, value=b"v", mod_revision=12)
    plan = writes.remove(kv)
    assert plan.compare == [Compare.mod_revision(K, "==", 12)]
    assert ops(plan) == (["delete"], [])
    assert plan.result(succeeded(13)) is True
    assert "TxnPlan(" in repr(plan)


def test_bulk_put_plans_under_the_limits() -> None:
    data = {b"/m/a": ("a", b"1"), b"/m/b": ("b", b"2"), b"/m/c": ("c", b"3")}
    write = writes.bulk_put(data, 7, TxnLimits(max_txn_ops=2), what="update", atomic=False)
    first = write.next()
    assert first is not None and [op.request.key for op in first] == [b"/m/a", b"/m/b"]
    assert first[0].request.lease == 7
    with pytest.raises(TooManyOpsError, match="update: atomic=True needs one Txn"):
        writes.bulk_put(data, None, TxnLimits(max_txn_ops=2), what="update", atomic=True)


def test_conflict_errors_name_the_key_and_its_revision() -> None:
    now = KeyValue(key=K, value=b"w", mod_revision=8)
    error = writes.modify_conflict("/m/", "k", 3, now)
    assert isinstance(error, ConflictError) and (error.key, error.revision) == ("k", 8)
    assert "modify('k') on map '/m/'" in str(error) and "3 attempts" in str(error)
    editing = writes.editing_conflict("/m/", "k", 5, None, None)
    assert editing.revision == 0 and "read at mod_revision 5 (now deleted)" in str(editing)
    assert writes.editing_conflict("/m/", "k", 5, now, "w").current == "w"
