"""``PackedTable``: a compact mutable mapping of str keys to bytes values, for mirrors of very
large prefixes (``Mirror(..., packed=True)``).

A dict costs one table slot (~41 B at its usual load), one str object (~49 B header) and one
bytes object (~33 B header) per key before any key or value byte. Here every key's utf-8
bytes and value bytes are appended, one after the other, to one ``bytearray`` heap; per entry
four ``array`` fields hold its heap offset, key and value lengths and the key's hash (24 B);
an open-addressing slot table (4 B entry ids, linear probing, load at most
0.6, tombstones for deleted entries) finds an entry in O(1). Nothing per key is a Python
object. Reads decode nothing but copy the value's bytes out of the heap.

Entries stay in heap order: a changed value of another length is a new entry at the end and
the old one turns to garbage, as a deleted one does. When garbage is over half of the heap the
live entries are moved down in place (no second heap), so deletes are amortised O(1).

``begin_relist`` / ``changed`` / ``unseen`` compare a fresh listing with the held entries
through a seen-bitmap (one byte per entry), without building a second table.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, MutableMapping, Sequence
from itertools import accumulate
from operator import add
from typing import TypeVar, overload

__all__ = ["PackedTable", "decode_key", "encode_keys"]

T = TypeVar("T")

_EMPTY = -1
_DELETED = -2
#: Slot table load: grown past _MAX_LOAD, to _GROW times the live entries' need.
_MAX_LOAD = 0.6
_MIN_SLOTS = 8


def _encode(key: str) -> bytes:
    return key.encode("utf-8", "surrogatepass")


def decode_key(raw: bytes | bytearray) -> str:
    """The key whose bytes in a table are ``raw`` (the inverse of ``encode_keys``)."""
    return raw.decode("utf-8", "surrogatepass")


def encode_keys(keys: Sequence[str]) -> list[bytes]:
    """Every key as a table keeps it (UTF-8, lone surrogates passed through): in one C loop
    unless a key holds a lone surrogate."""
    try:
        return list(map(str.encode, keys))
    except UnicodeEncodeError:
        return [_encode(key) for key in keys]


class PackedTable(MutableMapping[str, bytes]):
    """A ``MutableMapping[str, bytes]`` in shared buffers (see the module docstring).
    Iteration follows insertion order, a changed value moving its key to the end. Not
    thread-safe: the owner serialises writes against readers."""

    __slots__ = (
        "_heap", "_off", "_klen", "_vlen", "_hash", "_slots", "_live", "_filled", "_garbage",
        "_seen",
    )  # fmt: skip

    def __init__(self) -> None:
        self._heap = bytearray()
        self._off = array("q")  # heap offset of the key (then the value); -1 when dead
        self._klen = array("I")
        self._vlen = array("I")
        self._hash = array("q")  # hash() of the key's bytes, kept whole (no masking)
        self._slots = array("i", [_EMPTY]) * _MIN_SLOTS
        self._live = 0  # entries in the mapping
        self._filled = 0  # slots not empty (live entries and tombstones)
        self._garbage = 0  # heap bytes of dead entries
        self._seen: bytearray | None = None

    # --- lookup -------------------------------------------------------------------------------

    def _find(self, raw: bytes) -> tuple[int, int]:
        """``(slot, entry)`` of ``key``; when absent ``(slot to insert at, -1)``."""
        slots, hashes, klen, off, heap = self._slots, self._hash, self._klen, self._off, self._heap
        h = hash(raw)
        size = len(slots)
        i = h % size
        n = len(raw)
        free = -1
        while True:
            e = slots[i]
            if e == _EMPTY:
                return (i if free < 0 else free), -1
            if e == _DELETED:
                if free < 0:
                    free = i
            elif hashes[e] == h and klen[e] == n:
                o = off[e]
                if heap[o:o + n] == raw:
                    return i, e
            i += 1
            if i == size:
                i = 0

    def _entry(self, key: object) -> int:
        if not isinstance(key, str):
            return -1
        return self._find(_encode(key))[1]

    def _value(self, e: int) -> bytes:
        o = self._off[e] + self._klen[e]
        return bytes(self._heap[o:o + self._vlen[e]])

    def __getitem__(self, key: str) -> bytes:
        e = self._entry(key)
        if e < 0:
            raise KeyError(key)
        return self._value(e)

    @overload
    def get(self, key: str, /) -> bytes | None: ...
    @overload
    def get(self, key: str, default: bytes | T, /) -> bytes | T: ...
    def get(self, key: str, default: object = None, /) -> object:
        e = self._entry(key)
        return default if e < 0 else self._value(e)

    def __contains__(self, key: object) -> bool:
        return self._entry(key) >= 0

    def __len__(self) -> int:
        return self._live

    def _entries(self) -> Iterator[int]:
        off = self._off
        for e in range(len(off)):
            if off[e] >= 0:
                yield e

    def _key(self, e: int) -> str:
        o = self._off[e]
        return decode_key(self._heap[o:o + self._klen[e]])

    def __iter__(self) -> Iterator[str]:
        key = self._key
        for e in self._entries():
            yield key(e)

    def pairs(self) -> Iterator[tuple[str, bytes]]:
        """Every ``(key, value)``; the table must not change meanwhile."""
        heap, off, klen, vlen = self._heap, self._off, self._klen, self._vlen
        for e in self._entries():
            o = off[e]
            k = o + klen[e]
            yield decode_key(heap[o:k]), bytes(heap[k:k + vlen[e]])

    # --- changes ------------------------------------------------------------------------------

    def __setitem__(self, key: str, value: bytes) -> None:
        raw = _encode(key)
        slot, e = self._find(raw)
        if e >= 0:
            o = self._off[e]
            n = len(raw)
            if self._vlen[e] == len(value):  # same length: overwrite in place
                self._heap[o + n:o + n + len(value)] = value
                return
            self._kill(e)
            self._live -= 1
        elif self._slots[slot] == _EMPTY:
            self._filled += 1
        self._slots[slot] = self._append(raw, value)
        self._live += 1
        if self._filled > _MAX_LOAD * len(self._slots):
            self._rebuild_slots()
        self._upkeep()

    def _upkeep(self) -> None:
        """Compact once dead entries hold over half of the heap (not during a relist)."""
        if self._garbage > len(self._heap) // 2 and self._seen is None:
            self.compact()

    def reserve(self, n: int) -> None:
        """Make room for ``n`` more keys: no slot table is rebuilt while they are added."""
        if self._filled + n > _MAX_LOAD * len(self._slots):
            self._rebuild_slots(extra=n)

    def extend(self, raws: Sequence[bytes], values: Sequence[bytes]) -> None:
        """Set the key whose bytes (``encode_keys``) are ``raws[i]`` to ``values[i]`` for
        every i (a listing's page): the same as one by one, several times faster for new
        keys (their bytes are appended in one go, and only the slot table is filled key by
        key)."""
        if not raws:
            return
        n = len(raws)
        if len(values) != n:
            raise ValueError(f"extend: {n} keys but {len(values)} values")
        klens = list(map(len, raws))
        vlens = list(map(len, values))
        fresh = list(map(hash, raws))
        self.reserve(n)
        heap, off, hashes, klen, slots = self._heap, self._off, self._hash, self._klen, self._slots
        first = len(off)
        # array.fromlist: half the cost of array.extend per item.
        off.fromlist(list(accumulate(map(add, klens[:-1], vlens[:-1]), initial=len(heap))))
        pieces: list[bytes] = [b""] * (2 * n)  # key, value, key, value...
        pieces[::2] = raws
        pieces[1::2] = values
        heap += b"".join(pieces)
        klen.fromlist(klens)
        self._vlen.fromlist(vlens)
        hashes.fromlist(fresh)
        if self._seen is not None:
            self._seen.extend(bytes([1]) * n)
        size, added = len(slots), 0
        for e, h in enumerate(fresh, first):
            i = h % size
            s = slots[i]
            while s != _EMPTY:
                if s >= 0 and hashes[s] == h and klen[s] == klen[e]:
                    o, n = off[s], klen[s]
                    if heap[o:o + n] == heap[off[e]:off[e] + n]:
                        self._kill(s)  # held already: the new entry replaces it
                        slots[i] = e
                        break
                i += 1
                if i == size:
                    i = 0
                s = slots[i]
            else:
                slots[i] = e
                added += 1
        self._filled += added
        self._live += added
        self._upkeep()

    def _append(self, raw: bytes, value: bytes) -> int:
        heap = self._heap
        self._off.append(len(heap))
        heap += raw
        heap += value
        self._klen.append(len(raw))
        self._vlen.append(len(value))
        self._hash.append(hash(raw))
        if self._seen is not None:
            self._seen.append(1)
        return len(self._off) - 1

    def _kill(self, e: int) -> None:
        self._garbage += self._klen[e] + self._vlen[e]
        self._off[e] = -1

    def __delitem__(self, key: str) -> None:
        if not isinstance(key, str):
            raise KeyError(key)
        slot, e = self._find(_encode(key))
        if e < 0:
            raise KeyError(key)
        self._slots[slot] = _DELETED
        self._kill(e)
        self._live -= 1
        self._upkeep()

    def clear(self) -> None:
        self.__init__()  # type: ignore[misc] # resetting every field is what clear means

    # --- upkeep -------------------------------------------------------------------------------

    def _rebuild_slots(self, extra: int = 0) -> None:
        """A new slot table for the live entries (and ``extra`` more) at 3/4 of the maximum
        load."""
        size = max(_MIN_SLOTS, int((self._live + extra) / (_MAX_LOAD * 0.75)) + 1)
        slots = array("i", [_EMPTY]) * size
        hashes = self._hash
        for e in self._entries():
            i = hashes[e] % size
            while slots[i] != _EMPTY:
                i += 1
                if i == size:
                    i = 0
            slots[i] = e
        self._slots = slots
        self._filled = self._live

    def compact(self) -> None:
        """Drop dead entries and their heap bytes, moving the live ones down in place (the
        peak is the table plus one entry's bytes), then rebuild the slot table."""
        heap, off, klen, vlen, hashes = self._heap, self._off, self._klen, self._vlen, self._hash
        to = kept = 0
        for e in range(len(off)):
            o = off[e]
            if o < 0:
                continue
            n = klen[e] + vlen[e]
            if o != to:
                heap[to:to + n] = heap[o:o + n]
            off[kept], klen[kept], vlen[kept], hashes[kept] = to, klen[e], vlen[e], hashes[e]
            to += n
            kept += 1
        del heap[to:], off[kept:], klen[kept:], vlen[kept:], hashes[kept:]
        self._garbage = 0
        self._rebuild_slots()

    def nbytes(self) -> int:
        """The bytes the table's buffers hold (heap, fields, slots; not their spare room)."""
        return (
            len(self._heap) + sum(a.itemsize * len(a) for a in (self._off, self._klen))
            + sum(a.itemsize * len(a) for a in (self._vlen, self._hash, self._slots))
        )  # fmt: skip

    # --- relists ------------------------------------------------------------------------------

    def begin_relist(self) -> None:
        """Start comparing a listing: every held entry is unseen until ``changed`` meets
        it. The table must not be compacted until ``unseen`` (writes add seen entries)."""
        self._seen = bytearray(len(self._off))

    def changed(self, raws: Sequence[bytes], values: Sequence[bytes]) -> list[int]:
        """Mark every held key of ``raws`` (keys as ``encode_keys`` gives them) seen; the
        indexes ``i`` where ``raws[i]`` is not held with exactly ``values[i]`` (a listing's
        page, compared in place: no bytes are copied out of the heap)."""
        seen = self._seen
        assert seen is not None, "begin_relist() first"
        slots, hashes, klen, vlen, off, heap = (
            self._slots, self._hash, self._klen, self._vlen, self._off, self._heap,
        )  # fmt: skip
        size = len(slots)
        differ: list[int] = []
        for j, (h, raw) in enumerate(zip(map(hash, raws), raws, strict=True)):
            i = h % size
            n = len(raw)
            while (e := slots[i]) != _EMPTY:
                if e >= 0 and hashes[e] == h and klen[e] == n and heap.startswith(raw, off[e]):
                    seen[e] = 1
                    value = values[j]
                    if vlen[e] != len(value) or not heap.startswith(value, off[e] + n):
                        differ.append(j)
                    break
                i += 1
                if i == size:
                    i = 0
            else:
                differ.append(j)
        return differ

    def unseen(self) -> list[str]:
        """The held keys the listing did not meet (it ends the comparison)."""
        seen = self._seen
        assert seen is not None, "begin_relist() first"
        self._seen = None
        key = self._key
        found = [key(e) for e in self._entries() if not seen[e]]
        self._upkeep()
        return found
