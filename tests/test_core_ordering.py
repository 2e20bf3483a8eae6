"""Sans-IO parts of the ordering KV: the revision guard, the violation and the switch budget."""

from __future__ import annotations

import pytest

from etcdmap import ClientError
from etcdmap._core.ordering import RevisionGuard, ViolationBudget, violation
from etcdmap.errors import NoGreaterRevisionError, OrderingViolationError


def test_guard_accepts_equal_and_higher_revisions_only() -> None:
    guard = RevisionGuard()
    assert guard.accept(5) and guard.accept(5) and guard.accept(9)
    assert not guard.accept(8)
    assert guard.prev_revision == 9


def test_violation_names_both_revisions_and_the_endpoint() -> None:
    error = violation("get", 3, 9, "127.0.0.1:2379", None)
    assert isinstance(error, ClientError)
    assert (error.revision, error.prev_revision, error.operation) == (3, 9, "get")
    assert "127.0.0.1:2379" in str(error) and "3" in str(error) and "9" in str(error)


def test_budget_is_five_violations_per_endpoint_and_never_resets() -> None:
    budget = ViolationBudget()
    error = violation("txn", 3, 9, None, None)
    for _ in range(10):
        budget.spend(error, endpoints=2)
    with pytest.raises(NoGreaterRevisionError, match="no cluster members have a revision") as caught:
        budget.spend(error, endpoints=2)
    assert isinstance(caught.value, OrderingViolationError) and caught.value.prev_revision == 9
