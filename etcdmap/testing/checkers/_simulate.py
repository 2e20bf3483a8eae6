"""Linearizable histories made up from a sequential model, for the checker's self-tests and
benchmark: each client calls one operation after another with random durations, every
operation takes effect at a random moment within its call, and the outputs and revisions
are those of that order.  Some operations are then made ``UNKNOWN`` (applied or not) or
``FAILED`` (not applied)."""

from __future__ import annotations

import random
from typing import Any

from ..history import Operation, Outcome

__all__ = ["simulate"]


def simulate(
    rng: random.Random, n: int, *, clients: int = 5, keys: int = 5, txn: float = 0.0,
    unknown: float = 0.0, failed: float = 0.0,
) -> list[Operation]:  # fmt: skip
    """``n`` operations of ``clients`` clients on ``keys`` keys; ``txn``, ``unknown`` and
    ``failed`` are the shares of transactions, unknown and failed outcomes."""
    names = [f"k{i}" for i in range(keys)]
    calls: list[tuple[float, float, float, int, str, str, Any]] = []
    clock = [0.0] * clients
    for number in range(n):
        client = rng.randrange(clients)
        invoke = clock[client] + rng.expovariate(10.0)
        complete = invoke + rng.expovariate(5.0)
        clock[client] = complete
        point = rng.uniform(invoke, complete)
        kind, key, spec = _draw(rng, names, number, txn)
        calls.append((point, invoke, complete, client, kind, key, spec))
    calls.sort()
    state: dict[str, Any] = {}
    revision = 1
    ops = []
    for _, invoke, complete, client, kind, key, spec in calls:
        roll = rng.random()
        outcome = (Outcome.FAILED if roll < failed else
                   Outcome.UNKNOWN if roll < failed + unknown else Outcome.OK)
        applied = outcome is Outcome.OK or (outcome is Outcome.UNKNOWN and rng.random() < 0.5)
        if applied:
            after = dict(state)
            output = _apply(after, kind, key, spec)
            if after != state:
                revision += 1
            state = after
        if outcome is not Outcome.OK:
            output = None
        end = None if outcome is Outcome.UNKNOWN and rng.random() < 0.3 else complete
        ops.append(Operation(
            client=client, kind=kind, key=key, input=spec, output=output, invoke=invoke,
            complete=end, outcome=outcome,
            revision=revision if outcome is Outcome.OK else None,
        ))  # fmt: skip
    ops.sort(key=lambda op: op.invoke)
    return ops


def _draw(rng: random.Random, names: list[str], number: int, txn: float) -> tuple[str, str, Any]:
    key = rng.choice(names)
    value = f"v{number}"
    if rng.random() < txn:
        a, b = rng.sample(names, 2) if len(names) > 1 else (key, key)
        guard = [[a, rng.choice([None, f"v{rng.randrange(number + 1)}"])]]
        return "txn", "", {"guard": guard, "then": [["put", b, value], ["get", a]],
                           "else": [["get", b], ["delete", a]]}
    kind = rng.choices(["get", "put", "delete", "cas", "put_if_absent"], [4, 3, 1, 1, 1])[0]
    if kind == "cas":
        return kind, key, {"expect": f"v{rng.randrange(number + 1)}", "new": value}
    return kind, key, value if kind in ("put", "put_if_absent") else None


def _apply(state: dict[str, Any], kind: str, key: str, spec: Any) -> Any:
    """Apply one operation to ``state``; its output."""
    current = state.get(key)
    if kind == "get":
        return current
    if kind == "put":
        state[key] = spec
        return None
    if kind == "delete":
        return state.pop(key, None) is not None
    if kind == "cas":
        if current is not None and current == spec["expect"]:
            state[key] = spec["new"]
            return True
        return False
    if kind == "put_if_absent":
        if current is None:
            state[key] = spec
            return True
        return False
    succeeded = all(state.get(k) == v for k, v in spec["guard"])
    reads = []
    for name, k, *value in spec["then" if succeeded else "else"]:
        if name == "get":
            reads.append(state.get(k))
        elif name == "put":
            state[k] = value[0]
        else:
            state.pop(k, None)
    return {"succeeded": succeeded, "reads": reads}
