"""``PackedTable`` (etcdmap/_core/packed.py): the same behaviour as a dict, in far less memory."""

from __future__ import annotations

import gc
import tracemalloc

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from etcdmap._core.packed import PackedTable, encode_keys

# Lone surrogates too: such keys cannot be encoded in strict UTF-8 (a page with one takes the
# slow path).
keys = st.one_of(st.text(max_size=6), st.sampled_from(["\udc80", "a\ud800b"]))
values = st.binary(max_size=12)


class SameAsDict(RuleBasedStateMachine):
    """Random sets, deletes, reads, compactions and relists: the table answers as a dict."""

    def __init__(self) -> None:
        super().__init__()
        self.table = PackedTable()
        self.model: dict[str, bytes] = {}

    @rule(key=keys, value=values)
    def set(self, key: str, value: bytes) -> None:
        self.table[key] = value
        self.model[key] = value

    @rule(key=keys)
    def delete(self, key: str) -> None:
        if key in self.model:
            del self.table[key]
            del self.model[key]
        else:
            with pytest.raises(KeyError):
                del self.table[key]

    @rule(key=keys)
    def read(self, key: str) -> None:
        assert self.table.get(key) == self.model.get(key)
        assert (key in self.table) == (key in self.model)
        if key not in self.model:
            with pytest.raises(KeyError):
                self.table[key]

    @rule(pairs=st.lists(st.tuples(keys, values), max_size=8))
    def extend(self, pairs: list[tuple[str, bytes]]) -> None:
        self.table.extend(encode_keys([k for k, _ in pairs]), [v for _, v in pairs])
        self.model.update(pairs)

    @rule(n=st.integers(0, 40))
    def reserve(self, n: int) -> None:
        self.table.reserve(n)

    @rule()
    def compact(self) -> None:
        self.table.compact()

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def relist(self, data: st.DataObject) -> None:
        listed = data.draw(st.dictionaries(st.sampled_from(sorted(self.model)) | keys, values))
        self.table.begin_relist()
        pairs = list(listed.items())
        found = self.table.changed(encode_keys([k for k, _ in pairs]), [v for _, v in pairs])
        changed = dict(pairs[i] for i in found)
        assert changed == {k: v for k, v in listed.items() if self.model.get(k) != v}
        gone = self.table.unseen()
        assert sorted(gone) == sorted(self.model.keys() - listed.keys())
        for key in gone:
            del self.table[key]
            del self.model[key]
        for key, value in changed.items():
            self.table[key] = value
            self.model[key] = value

    @invariant()
    def same(self) -> None:
        assert len(self.table) == len(self.model)
        assert sorted(self.table) == sorted(self.model)
        assert dict(self.table.pairs()) == self.model == dict(self.table.items())


TestSameAsDict = SameAsDict.TestCase
TestSameAsDict.settings = settings(max_examples=40, stateful_step_count=50, deadline=None)


def test_a_lookup_is_not_fooled_by_keys_of_another_type() -> None:
    table = PackedTable()
    table["a"] = b"1"
    others: list[object] = [1, b"a", None]
    assert not any(other in table for other in others)


@pytest.mark.parametrize("deletes", [True, False])
def test_garbage_is_compacted_so_the_heap_stays_bounded(deletes: bool) -> None:
    table = PackedTable()
    for round_ in range(20):
        for i in range(1000):
            table[f"k{i}"] = b"x" * (round_ % 3 + 10)  # another length: a new entry
        if deletes:
            for i in range(0, 1000, 2):
                del table[f"k{i}"]
    assert len(table) == (500 if deletes else 1000)
    assert table.nbytes() < len(table) * (5 + 12 + 24) * 3


def _kept_per_key(make: type, n: int) -> float:
    """tracemalloc bytes per key over the raw key and value bytes, for ``n`` keys of 100 B
    values (the bench's shape: 9-digit keys); the key and value objects count when the
    store keeps them."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        pairs = [(f"{i:09d}", (b"v%d" % i).ljust(100, b".")) for i in range(n)]
        raw = sum(len(key) + len(value) for key, value in pairs)
        store = make()
        for key, value in pairs:
            store[key] = value
        del pairs  # a dict keeps the objects: their bytes are then part of the store's
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(store) == n
    return (kept - raw) / n


def test_kept_memory_per_key_is_far_below_a_dicts() -> None:
    per_key = _kept_per_key(PackedTable, 100_000)
    assert per_key <= 40, f"{per_key:.1f} B/key over raw"
