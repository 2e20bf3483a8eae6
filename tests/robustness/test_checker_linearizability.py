"""The linearizability checker on hand-written and generated histories (no server)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from etcdmap.testing.checkers import LinearizabilityResult, check_linearizability
from etcdmap.testing.checkers._simulate import simulate
from etcdmap.testing.history import Operation, Outcome

OK, UNKNOWN, FAILED = Outcome.OK, Outcome.UNKNOWN, Outcome.FAILED


def op(
    client: int, kind: str, key: str, value: Any, output: Any, invoke: float,
    complete: float | None, outcome: Outcome = OK, revision: int | None = None,
) -> Operation:  # fmt: skip
    return Operation(client, kind, key, value, output, invoke, complete, outcome, revision)


def put(client: int, key: str, value: Any, invoke: float, complete: float | None,
        outcome: Outcome = OK, revision: int | None = None) -> Operation:  # fmt: skip
    return op(client, "put", key, value, None, invoke, complete, outcome, revision)


def get(client: int, key: str, output: Any, invoke: float, complete: float,
        revision: int | None = None) -> Operation:  # fmt: skip
    return op(client, "get", key, None, output, invoke, complete, OK, revision)


def refuted(ops: list[Operation], kind: str = "not linearizable") -> LinearizabilityResult:
    result = check_linearizability(ops)
    assert not result.ok, result.explain()
    assert [v.kind for v in result.violations] == [kind], result.explain()
    return result


def test_sequential_and_concurrent_histories_are_accepted() -> None:
    result = check_linearizability([
        put(0, "k", "v1", 0, 1, revision=2),
        get(1, "k", "v1", 2, 3, revision=2),
        put(0, "k", "v2", 4, 10, revision=3),  # concurrent with both reads below
        get(1, "k", "v1", 5, 6, revision=2),
        get(2, "k", "v2", 7, 8, revision=3),
        op(1, "delete", "k", None, True, 11, 12, revision=4),
        get(2, "k", None, 13, 14, revision=4),
    ])  # fmt: skip
    assert result.ok, result.explain()
    assert result.operations == 7 and result.partitions == 1
    assert "linearizable" in result.explain()


def test_stale_read_is_refuted() -> None:
    result = refuted([
        put(0, "k", "v1", 0, 1), put(1, "k", "v2", 2, 3), get(2, "k", "v1", 4, 5),
    ])  # fmt: skip
    (violation,) = result.violations
    assert violation.offending and violation.offending[0].kind in ("get", "put")
    assert "cannot have answered" in violation.explanation or "returned before" in (
        violation.explanation
    )


def test_lost_update_is_refuted() -> None:
    cas = {"expect": "v0", "new": "a"}
    refuted([
        put(0, "k", "v0", 0, 1),
        get(1, "k", "v0", 2, 3), get(2, "k", "v0", 2, 3),
        op(1, "cas", "k", cas, True, 4, 5), op(2, "cas", "k", {**cas, "new": "b"}, True, 4, 6),
    ])  # fmt: skip


def test_read_of_a_value_never_written_is_refuted_by_itself() -> None:
    result = refuted([put(0, "k", "v1", 0, 1), get(1, "k", "zz", 2, 3)], "value never written")
    assert [o.output for o in result.violations[0].operations] == ["zz"]
    assert "'zz'" in result.violations[0].explanation


def test_an_unknown_write_may_have_happened_or_not() -> None:
    seen = [put(0, "k", "v1", 0, None, UNKNOWN), get(1, "k", "v1", 5, 6)]
    assert check_linearizability(seen).ok  # a later read saw it: it happened
    never = [put(0, "k", "v1", 0, 1), put(1, "k", "v2", 2, None, UNKNOWN), get(0, "k", "v1", 3, 4)]
    assert check_linearizability(never).ok  # not yet, or never
    failed = [put(1, "k", "v2", 0, 1, FAILED), get(0, "k", "v2", 3, 4)]
    refuted(failed, "value never written")  # a FAILED write was not applied


def test_an_unknown_write_takes_effect_once() -> None:
    refuted([
        put(0, "k", "v1", 0, 1), put(1, "k", "v2", 2, None, UNKNOWN),
        get(0, "k", "v1", 3, 4), get(0, "k", "v2", 5, 6), get(0, "k", "v1", 7, 8),
    ])  # fmt: skip


def test_revisions_refute_what_times_alone_allow() -> None:
    ops = [
        put(0, "k", "a", 0, 1, revision=2),
        put(1, "k", "b", 0, 5, revision=3),
        get(2, "k", "a", 2, 3, revision=3),  # at revision 3, b was already written
    ]
    assert check_linearizability([msgspec.structs.replace(o, revision=None) for o in ops]).ok
    refuted(ops)


def test_revision_anomalies_across_keys() -> None:
    backwards = [put(0, "a", "1", 0, 1, revision=5), get(1, "b", None, 2, 3, revision=4)]
    result = refuted(backwards, "revision against real time")
    assert "revision 5" in result.violations[0].explanation
    twice = [put(0, "a", "1", 0, 1, revision=5), put(1, "b", "1", 0, 1, revision=5)]
    refuted(twice, "revision written twice")


def test_a_txn_is_atomic_across_keys() -> None:
    txn = op(0, "txn", "", {"guard": [], "then": [["put", "a", "1"], ["put", "b", "1"]]},
             {"succeeded": True, "reads": []}, 0, 1)  # fmt: skip
    assert check_linearizability([txn, get(1, "a", "1", 2, 3), get(1, "b", "1", 4, 5)]).ok
    result = refuted([txn, get(1, "a", "1", 2, 3), get(1, "b", None, 4, 5)])
    assert result.partitions == 1 and result.violations[0].keys == ("a", "b")


def test_txn_guard_and_reads() -> None:
    spec = {"guard": [["a", None]], "then": [["put", "a", "x"], ["get", "b"]],
            "else": [["get", "a"]]}  # fmt: skip
    taken = op(0, "txn", "", spec, {"succeeded": True, "reads": ["y"]}, 2, 3)
    assert check_linearizability([put(1, "b", "y", 0, 1), taken]).ok
    wrong_branch = msgspec.structs.replace(taken, output={"succeeded": False, "reads": [None]})
    refuted([put(1, "b", "y", 0, 1), wrong_branch])


def test_put_if_absent_delete_and_cas_responses_are_checked() -> None:
    assert check_linearizability([
        op(0, "put_if_absent", "k", "v", True, 0, 1),
        op(1, "put_if_absent", "k", "w", False, 2, 3),
        op(0, "cas", "k", {"expect": "w", "new": "z"}, False, 4, 5),
        op(0, "delete", "k", None, True, 6, 7),
        op(1, "delete", "k", None, False, 8, 9),
    ]).ok  # fmt: skip
    refuted([op(0, "put_if_absent", "k", "v", True, 0, 1),
             op(1, "put_if_absent", "k", "w", True, 2, 3)])  # fmt: skip
    refuted([op(0, "delete", "k", None, True, 0, 1)])


def test_initial_values() -> None:
    assert check_linearizability([get(0, "k", "old", 0, 1)], initial={"k": "old"}).ok
    assert not check_linearizability([get(0, "k", None, 0, 1)], initial={"k": "old"}).ok


def test_the_failing_sub_history_is_small_and_drawn(tmp_path: Path) -> None:
    ops = [put(i % 3, "k", f"v{i}", 2 * i, 2 * i + 1, revision=i + 2) for i in range(200)]
    ops.append(get(3, "k", "v100", 500, 501, revision=500))  # v100 was overwritten long ago
    ops.append(get(4, "other", None, 0, 1000))
    result = refuted(ops)
    (violation,) = result.violations
    assert len(violation.operations) <= 3, result.explain()
    assert violation.keys == ("k",)
    page = result.write_timeline_html(tmp_path / "timeline.html").read_text()
    assert "client 3" in page and "class='op bad" in page and "not linearizable" in page


def test_a_search_out_of_time_is_undecided_not_ok() -> None:
    ops = simulate(random.Random(0), 3000, clients=8, keys=1)
    ops = [msgspec.structs.replace(o, revision=None) for o in ops]
    result = check_linearizability(ops, timeout=0.0, shrink_timeout=0.0)
    assert not result.ok and result.undecided == (("k0",),)
    assert "ran out of time" in result.explain()


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32), n=st.integers(1, 120), clients=st.integers(1, 6),
    keys=st.integers(1, 4), unknown=st.sampled_from([0.0, 0.05, 0.1]),
    revisions=st.booleans(), txn=st.sampled_from([0.0, 0.1]),
)  # fmt: skip
def test_generated_histories_are_accepted_and_a_read_of_the_future_is_not(
    seed: int, n: int, clients: int, keys: int, unknown: float, revisions: bool, txn: float
) -> None:
    rng = random.Random(seed)
    ops = simulate(rng, n, clients=clients, keys=keys, unknown=unknown, failed=0.1, txn=txn)
    if not revisions:
        ops = [msgspec.structs.replace(o, revision=None) for o in ops]
    result = check_linearizability(ops)
    assert result.ok, result.explain()
    # A read that returns the value of a write called only after the read returned can be
    # placed nowhere (values are unique): a mutation that is always refuted.
    mutations = [
        (i, w.input) for i, r in enumerate(ops) if r.kind == "get" and r.outcome is OK
        for w in ops if w.kind == "put" and w.key == r.key and w.outcome is not FAILED
        and r.complete is not None and w.invoke > r.complete
    ]  # fmt: skip
    if mutations:
        i, value = rng.choice(mutations)
        ops[i] = msgspec.structs.replace(ops[i], output=value)
        result = check_linearizability(ops)
        assert not result.ok
        assert result.violations[0].kind in ("not linearizable",), result.explain()
