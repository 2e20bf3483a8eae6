"""The packed store of a mirror (etcdmap/_core/mirror_packed.py) against the dict store:
the same events and relists give the same content and the same changes (no server)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from test_core_mirror import P, delete, kvs, put

from etcdmap._core.mirror import Batch, MirrorStore, Store
from etcdmap._core.mirror_packed import PackedStore
from etcdmap._core.results import KeyValue
from etcdmap._core.watch import Event, EventType
from etcdmap.codecs import Str


def both() -> tuple[MirrorStore, PackedStore]:
    return (
        MirrorStore(P, lambda b: b.decode(), json.loads, codec="json"),
        PackedStore(P, lambda b: b.decode(), json.loads, codec="json"),
    )


def relist(s: Store, data: dict[str, object], revision: int) -> Batch:
    listing = s.listing()
    items = list(data.items())
    for start in range(0, len(items), 3):
        listing.add(kvs(dict(items[start:start + 3]), revision))
    return listing.install(revision, "relist", changes=True)


def changes(batch: Batch) -> list[tuple[Any, ...]]:
    return sorted((c.key, c.kind, c.old, c.new, c.revision) for c in batch.changes)


def test_random_events_and_relists_give_what_the_dict_store_gives() -> None:
    rng = random.Random(7)
    plain, packed = both()
    revision = 1
    for round_ in range(30):
        if round_ % 5 == 4:  # a relist: some keys changed, some gone, some new
            listed = {str(k): rng.randrange(3) for k in rng.sample(range(40), 25)}
            revision += 1
            assert changes(relist(plain, listed, revision)) == changes(
                relist(packed, listed, revision)
            )
        else:
            events = []
            for _ in range(rng.randrange(1, 6)):
                revision += rng.randrange(2)
                key = str(rng.randrange(40))
                events.append(put(key, rng.randrange(3), revision + 1)
                              if rng.random() < 0.7 else delete(key, revision + 1))  # fmt: skip
            revision += 1
            got = [changes(b) for b in packed.apply(events)]
            assert got == [changes(b) for b in plain.apply(events)]
        assert dict(packed.data) == plain.data and packed.revision == plain.revision


def test_a_value_that_does_not_decode_is_an_invalid_change_and_raises_when_read() -> None:
    _, packed = both()
    [batch] = packed.apply([put("a", b"{bad", 2)])
    [change] = batch.changes
    assert change.kind.value == "invalid" and change.error.key == "a"
    assert "a" in packed.data and packed.invalid == {}
    try:
        packed.data["a"]
    except ValueError as error:
        assert "does not decode" in str(error)
    else:
        raise AssertionError("a value that does not decode was read")


@pytest.mark.parametrize("utf8_keys", [False, True], ids=["decoded", "utf8_keys"])
def test_keys_that_are_not_utf8_list_and_relist_as_in_the_dict_store(utf8_keys: bool) -> None:
    # A map's key codec takes any bytes (surrogateescape). With utf8_keys a page's key bytes
    # go into the table as they are when the page is valid UTF-8: b"\xc3" and b"\xa9" are not,
    # though the two joined are "é".
    codec = Str("surrogateescape")
    plain = MirrorStore(P, codec.decode, json.loads, codec="json")
    packed = PackedStore(P, codec.decode, json.loads, codec="json", utf8_keys=utf8_keys)
    names = ["a", "\udcc3", "\udca9", "é", "k\udcff", "z"]

    def kv(key: str, value: object, revision: int) -> KeyValue:
        full = P + key.encode("utf-8", "surrogateescape")
        return KeyValue(key=full, value=json.dumps(value).encode(), mod_revision=revision)

    rng = random.Random(3)
    listed: dict[str, object] = dict.fromkeys(names, 0)
    for revision in range(2, 14):
        found = []
        for s in (plain, packed):
            listing = s.listing()
            listing.expect(len(listed))
            items = list(listed.items())
            for start in range(0, len(items), 3):
                listing.add([kv(k, v, revision) for k, v in items[start:start + 3]])
            found.append(changes(listing.install(revision, "relist", changes=True)))
        assert found[0] == found[1]
        assert dict(packed.data) == plain.data
        event = Event(EventType.PUT, kv(rng.choice(names), 7, revision + 100))
        assert [changes(b) for b in packed.apply([event])] == [changes(b) for b in plain.apply([event])]
        assert dict(packed.data) == plain.data
        listed = {k: rng.randrange(3) for k in rng.sample(names, 4)}
