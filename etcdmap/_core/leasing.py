"""Sans-IO parts of the leasing KV (Go's ``clientv3/leasing``): key layout, the acquire,
guarded-write and revoke transactions, and the cache of the keys this client holds.

Protocol. A client that reads ``key`` tries to take its *leasing key* ``<prefix><key>``: one
transaction creates it (value ``""``, on the client's session lease) only if nobody holds it
and ``key`` has no lease of its own, and reads ``key`` in the same revision. While it holds
the leasing key, its reads of ``key`` are served from memory. Writers go through a
transaction guarded on the leasing key: the holder's guard is "my leasing key is still the one
created at revision r", anybody else's is "no leasing key". A writer that finds a foreign
leasing key puts ``"REVOKE"`` into it (keeping its lease) and waits for it to be deleted; the
holder watches the leasing prefix, and on a revoke marker for one of its keys forgets the
cached value first, then deletes the leasing key. A revoked key is not taken again for
``REVOKE_HOLDOFF`` seconds, so a busy writer is not starved. Writes by plain clients, which
skip the protocol, reach the holder through its watch on the key and invalidate the cache.

Cache validity is tracked by revision: an entry caches the key as of revision ``revision``,
and ``seen`` is the newest modification of the key the holder has heard of; the cached value
is served only while ``revision >= seen``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from .kv import Compare, Op
from .results import GetResponse, KeyValue, PutResponse, ResponseHeader, TxnResponse

__all__ = [
    "REVOKE",
    "REVOKE_HOLDOFF",
    "LeasingCache",
    "acquire_result",
    "acquire_txn",
    "conflicts",
    "guarded_txn",
    "is_plain_get",
    "put_result",
    "revoke_txn",
    "revoke_target",
    "with_prev_kv",
    "written_keys",
]

#: The value a writer puts into a foreign leasing key to ask its holder to give it up.
REVOKE = b"REVOKE"
#: Seconds during which a client does not take again a leasing key it was asked to give up.
REVOKE_HOLDOFF = 2.0

Txn = tuple[list[Compare], list[Op], list[Op]]


def acquire_txn(key: bytes, leasing_key: bytes, lease: int) -> Txn:
    """Take ``leasing_key`` on ``lease`` if nobody holds it and ``key`` has no lease, and
    read ``key`` in either case (the first response of both branches)."""
    return (
        [Compare.create_revision(leasing_key, "==", 0), Compare.lease(key, "==", 0)],
        [Op.get(key), Op.put(leasing_key, b"", lease=lease)],
        [Op.get(key)],
    )


def guarded_txn(guards: Sequence[tuple[bytes, int]], op: Op) -> Txn:
    """Run ``op`` only if each leasing key of ``guards`` still has the create revision we
    know (0: nobody holds it); otherwise read those leasing keys, to revoke or forget them."""
    return (
        [Compare.create_revision(leasing_key, "==", rev) for leasing_key, rev in guards],
        [op],
        [Op.get(leasing_key) for leasing_key, _ in guards],
    )


def revoke_txn(leasing_key: bytes, create_revision: int) -> Txn:
    """Put the revoke marker into the leasing key created at ``create_revision`` (keeping
    its holder's lease), if it is still that one."""
    return (
        [Compare.create_revision(leasing_key, "==", create_revision)],
        [Op.put(leasing_key, REVOKE, ignore_lease=True)],
        [],
    )


def revoke_target(kv: KeyValue, prefix: bytes, lease: int) -> bytes | None:
    """The user key whose leasing key ``kv`` (from a PUT event under ``prefix``) now holds a
    revoke marker addressed to ``lease``; None if the event is anything else."""
    if kv.value != REVOKE or kv.lease != lease or not kv.key.startswith(prefix):
        return None
    return kv.key[len(prefix):]


def written_keys(ops: Iterable[Op]) -> set[bytes]:
    """Every key that ``ops`` (nested transactions included) may write.

    Raises ``ValueError`` for a ranged delete, which the leasing KV does not support.
    """
    keys: set[bytes] = set()
    for op in ops:
        _collect(op.kind, op.request, keys)
    return keys


def _collect(kind: str, request: Any, keys: set[bytes]) -> None:
    if kind == "put":
        keys.add(request.key)
    elif kind == "delete":
        if request.range_end:
            raise ValueError(
                f"leasing KV: ranged delete from {request.key!r} is not supported; "
                "delete single keys"
            )
        keys.add(request.key)
    elif kind == "txn":
        for request_op in (*request.success, *request.failure):
            field = request_op.WhichOneof("request")
            inner = {"request_put": "put", "request_delete_range": "delete",
                     "request_txn": "txn"}.get(field or "")
            if inner is not None:
                _collect(inner, getattr(request_op, field), keys)


def is_plain_get(op: Op[GetResponse]) -> bool:
    """Whether ``op`` reads one key with no option at all (what the cache can answer)."""
    return len(op.request.ListFields()) == 1


def with_prev_kv(op: Op[PutResponse]) -> Op[PutResponse]:
    """A copy of the put ``op`` that asks for ``prev_kv`` (the cache needs the key's previous
    create revision and version to know what the put left)."""
    request = type(op.request)()
    request.CopyFrom(op.request)
    request.prev_kv = True
    return Op("put", request)


def put_result(key: bytes, value: bytes, revision: int, prev: KeyValue | None) -> KeyValue:
    """The key as a Put without lease at ``revision`` left it, from its previous state."""
    if prev is None:
        return KeyValue(key=key, value=value, create_revision=revision,
                        mod_revision=revision, version=1)
    return KeyValue(key=key, value=value, create_revision=prev.create_revision,
                    mod_revision=revision, version=prev.version + 1)


class _Entry:
    """One key whose leasing key we hold (created at ``leasing_rev``)."""

    __slots__ = ("header", "kv", "leasing_rev", "revision", "seen")

    def __init__(self, leasing_rev: int) -> None:
        self.leasing_rev = leasing_rev
        self.header: ResponseHeader | None = None  # None: nothing cached
        self.kv: KeyValue | None = None
        self.revision = 0
        self.seen = 0


class LeasingCache:
    """The keys this client holds and what it knows of them (no I/O, no clock: callers pass
    ``now``, a ``time.monotonic()`` value)."""

    def __init__(self, holdoff: float = REVOKE_HOLDOFF) -> None:
        self._entries: dict[bytes, _Entry] = {}
        #: key -> (create revision of the revoked leasing key, when it was revoked)
        self._revoked: dict[bytes, tuple[int, float]] = {}
        self._holdoff = holdoff

    def __len__(self) -> int:
        return len(self._entries)

    def owned(self, key: bytes) -> int:
        """The create revision of our leasing key of ``key``; 0 if we hold none."""
        entry = self._entries.get(key)
        return 0 if entry is None else entry.leasing_rev

    def get(self, key: bytes) -> GetResponse | None:
        """The cached answer to a plain get of ``key``, or None (not held, or stale)."""
        entry = self._entries.get(key)
        if entry is None or entry.header is None or entry.revision < entry.seen:
            return None
        kvs = [] if entry.kv is None else [entry.kv]
        return GetResponse(entry.header, kvs, len(kvs), False)

    def may_acquire(self, key: bytes, now: float) -> bool:
        """Whether to try taking ``key``'s leasing key (not held, not revoked lately)."""
        if key in self._entries:
            return False
        revoked = self._revoked.get(key)
        if revoked is not None and now - revoked[1] < self._holdoff:
            return False
        self._revoked.pop(key, None)
        return True

    def acquired(self, key: bytes, leasing_rev: int, response: GetResponse) -> bool:
        """Record that the acquire transaction created our leasing key at ``leasing_rev``
        and read ``response``; False if a revoke of that very leasing key was already
        handled (the key is then not held)."""
        revoked = self._revoked.get(key)
        if key in self._entries or (revoked is not None and revoked[0] >= leasing_rev):
            return False
        self._entries[key] = _Entry(leasing_rev)
        self.fill(key, response)
        return True

    def fill(self, key: bytes, response: GetResponse) -> None:
        """Cache ``response`` (a plain get of ``key``) if we hold the key and it is not older
        than what we know."""
        entry = self._entries.get(key)
        kv = response.kvs[0] if response.kvs else None
        if entry is not None and (kv is None or kv.lease == 0):
            self._store(entry, response.header, kv)

    def wrote(self, key: bytes, header: ResponseHeader, kv: KeyValue | None) -> None:
        """Our write left ``key`` as ``kv`` (None: deleted) at ``header.revision``."""
        entry = self._entries.get(key)
        if entry is not None:
            self._store(entry, header, kv)

    def _store(self, entry: _Entry, header: ResponseHeader, kv: KeyValue | None) -> None:
        if header.revision >= max(entry.seen, entry.revision):
            entry.header, entry.kv, entry.revision = header, kv, header.revision

    def modified(self, key: bytes, revision: int) -> None:
        """``key`` was written at ``revision`` (a watch event, or a write whose result we do
        not cache): the cached value is stale unless it is at least that new."""
        entry = self._entries.get(key)
        if entry is not None:
            entry.seen = max(entry.seen, revision)

    def revoked(self, key: bytes, leasing_rev: int, now: float) -> bool:
        """We were asked to give up the leasing key of ``key`` created at ``leasing_rev``:
        forget the key (True if it was held with that leasing key)."""
        previous = self._revoked.get(key, (0, now))[0]
        self._revoked[key] = (max(previous, leasing_rev), now)
        entry = self._entries.get(key)
        if entry is None or entry.leasing_rev > leasing_rev:
            return False
        del self._entries[key]
        return True

    def lost(self, key: bytes, leasing_rev: int) -> bool:
        """A guarded write found that our leasing key created at ``leasing_rev`` is gone:
        forget the key (True if it was held with that leasing key)."""
        entry = self._entries.get(key)
        if entry is None or entry.leasing_rev != leasing_rev:
            return False
        del self._entries[key]
        return True

    def clear(self) -> list[bytes]:
        """Forget every key (the session lease is lost); returns the keys that were held."""
        keys = list(self._entries)
        self._entries.clear()
        self._revoked.clear()
        return keys


def acquire_result(response: TxnResponse) -> tuple[GetResponse, int]:
    """The read of an acquire transaction and the create revision of our new leasing key
    (0 if someone else holds it or the key has a lease)."""
    read = response.responses[0]
    assert isinstance(read, GetResponse)
    # The transaction's header is the one whose revision the read reflects.
    read = msgspec.structs.replace(read, header=response.header)
    return read, response.header.revision if response.succeeded else 0


def conflicts(
    guards: Sequence[tuple[bytes, int]], response: TxnResponse
) -> tuple[list[tuple[bytes, int]], list[tuple[bytes, int]]]:
    """After a failed guarded transaction: the leasing keys we held but lost (key, our rev),
    and the foreign leasing keys to revoke (leasing key, its create revision)."""
    lost: list[tuple[bytes, int]] = []
    foreign: list[tuple[bytes, int]] = []
    for (leasing_key, rev), read in zip(guards, response.responses, strict=True):
        assert isinstance(read, GetResponse)
        found = read.kvs[0].create_revision if read.kvs else 0
        if found == rev:
            continue
        if rev:
            lost.append((leasing_key, rev))
        if found:
            foreign.append((leasing_key, found))
    return lost, foreign
