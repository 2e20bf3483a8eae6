"""The concurrency protocols of Go's ``clientv3/concurrency`` package, without I/O.

Locks and elections are wire contracts: a lock held by Go code or ``etcdctl lock`` must exclude
ours and the other way round, so the key layout and the waiting rule are Go's exactly.

- A waiter's key is ``prefix + "/" + hex(lease id)`` (Go's ``fmt.Sprintf("%s%x", pfx, lease)``),
  attached to the session's lease, so it vanishes when the session does.
- Whoever owns the key with the smallest create revision under the prefix holds the lock (or
  leads the election). The others wait for the delete of the one key created just before
  theirs (the newest key with a create revision below their own), then look again: no
  thundering herd, and waiters are served in the order they queued.

The STM (software transactional memory) part is ``STMState``: the read and write sets of one
attempt and the conflict checks of each isolation level, as Go's ``stm.go``.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypedDict, TypeVar

import msgspec

from .._pb import v3electionpb, v3lockpb
from .errors import ElectionNoLeaderError, EtcdError, OutcomeUnknownError
from .keys import to_bytes
from .kv import Compare, Op, SortOrder, SortTarget, parse_header, required_lease
from .results import DeleteResponse, GetResponse, KeyValue, ResponseHeader, TxnResponse
from .watch import EventType, WatchResponse

__all__ = [
    "Acquired",
    "AsyncSTMBody",
    "BufferedWrite",
    "CampaignResponse",
    "HeaderResponse",
    "Isolation",
    "LeaderKey",
    "LeaderResponse",
    "LockResponse",
    "RangeOptions",
    "STMBody",
    "STMState",
    "acquire_txn",
    "campaign_txn",
    "delete_owned_txn",
    "first_created",
    "first_put",
    "is_owner",
    "last_created_below",
    "leader_of",
    "leader_updates",
    "may_have_applied",
    "lock_prefix",
    "parse_acquire",
    "parse_campaign",
    "proclaim_txn",
    "sweep_ops",
    "swept",
    "waiter_key",
    "was_deleted",
]

_STM = TypeVar("_STM")
#: The function an asyncio STM runs: ``async def fn(stm)``.
AsyncSTMBody = Callable[[_STM], Awaitable[object]]
#: The function a blocking STM runs: ``def fn(stm)``.
STMBody = Callable[[_STM], object]

Isolation = Literal["serializable_snapshot", "serializable", "repeatable_reads", "read_committed"]
ISOLATIONS: tuple[Isolation, ...] = (
    "serializable_snapshot", "serializable", "repeatable_reads", "read_committed",
)


class RangeOptions(TypedDict, total=False):
    """Keyword options of ``get`` / ``Op.get`` that the protocols use."""

    prefix: bool
    sort_order: SortOrder
    sort_target: SortTarget
    limit: int
    max_create_revision: int
    revision: int
    serializable: bool


def lock_prefix(name: bytes | str) -> bytes:
    """The key prefix of a lock or election called ``name``: ``name + "/"`` (as Go's
    ``NewMutex`` / ``NewElection``)."""
    return to_bytes(name, "name") + b"/"


def waiter_key(prefix: bytes, lease: int) -> bytes:
    """A session's key under ``prefix``: the prefix and the lease id in lowercase hex."""
    if lease <= 0:
        raise ValueError(f"a session lease id must be positive, got {lease}")
    return prefix + b"%x" % lease


def first_created() -> RangeOptions:
    """Range options for the oldest key under a prefix (Go's ``WithFirstCreate``): the owner
    of a lock, the leader of an election."""
    return {"prefix": True, "sort_order": "ascend", "sort_target": "create", "limit": 1}


def last_created_below(revision: int) -> RangeOptions:
    """Range options for the newest key under a prefix created before ``revision`` (Go's
    ``WithLastCreate`` + ``WithMaxCreateRev(revision - 1)``): the one waiter to wait for."""
    if revision <= 1:
        raise ValueError(f"a waiter's create revision is at least 2, got {revision}")
    return {
        "prefix": True, "sort_order": "descend", "sort_target": "create", "limit": 1,
        "max_create_revision": revision - 1,
    }


def was_deleted(response: WatchResponse) -> bool:
    """Whether a watch response on a single key reports its delete."""
    return any(event.type is EventType.DELETE for event in response.events)


# --- mutex ------------------------------------------------------------------------------------


class Acquired:
    """The outcome of the acquire transaction: ``rev`` is the create revision of our key
    (new or found), ``owner_rev`` that of the oldest key under the prefix, ``held`` whether
    it is ours."""

    __slots__ = ("header", "owner_rev", "rev")

    def __init__(self, rev: int, owner_rev: int, header: ResponseHeader) -> None:
        self.rev = rev
        self.owner_rev = owner_rev
        self.header = header

    @property
    def held(self) -> bool:
        """Whether our key is the oldest: the lock is ours (or the leadership)."""
        return self.owner_rev in (0, self.rev)

    def __repr__(self) -> str:
        return f"Acquired(rev={self.rev}, owner_rev={self.owner_rev}, held={self.held})"


def acquire_txn(prefix: bytes, key: bytes, lease: int) -> tuple[list[Compare], list[Op], list[Op]]:
    """The one transaction that queues a waiter: if ``key`` does not exist, create it (empty
    value, on ``lease``), else read it (this session already waits or holds); either way read
    the owner (the oldest key under ``prefix``)."""
    owner = Op.get(prefix, **first_created())
    return (
        [Compare.create_revision(key, "==", 0)],
        [Op.put(key, b"", lease=lease), owner],
        [Op.get(key), owner],
    )


def parse_acquire(response: TxnResponse) -> Acquired:
    """Read the acquire transaction's answer into ``Acquired``."""
    mine, owner = response.responses
    assert isinstance(owner, GetResponse)
    if response.succeeded:
        rev = response.header.revision
    else:
        assert isinstance(mine, GetResponse)
        rev = mine.kvs[0].create_revision
    return Acquired(rev, owner.kvs[0].create_revision if owner.kvs else 0, response.header)


def is_owner(key: bytes, rev: int) -> Compare:
    """The comparison that holds while the key created at ``rev`` still exists: the guard
    for a transaction that must run only while a lock is held (Go's ``Mutex.IsOwner``)."""
    return Compare.create_revision(key, "==", rev)


# --- election ---------------------------------------------------------------------------------


def campaign_txn(
    key: bytes, value: bytes | str, lease: int
) -> tuple[list[Compare], list[Op], list[Op]]:
    """Queue a candidate: create ``key`` with ``value`` on ``lease`` unless it exists (then
    read it: this session already campaigns)."""
    return (
        [Compare.create_revision(key, "==", 0)],
        [Op.put(key, value, lease=lease)],
        [Op.get(key)],
    )


def parse_campaign(response: TxnResponse, value: bytes | str) -> tuple[int, bool]:
    """The create revision of the candidate's key, and whether its stored value differs from
    ``value`` (then the campaign proclaims ``value`` before waiting)."""
    if response.succeeded:
        return response.header.revision, False
    found = response.responses[0]
    assert isinstance(found, GetResponse)
    kv = found.kvs[0]
    return kv.create_revision, kv.value != to_bytes(value, "value")


def proclaim_txn(
    key: bytes, rev: int, value: bytes | str, lease: int
) -> tuple[list[Compare], list[Op], list[Op]]:
    """A new value for the leader key, only while it is still the key created at ``rev``."""
    return [is_owner(key, rev)], [Op.put(key, value, lease=lease)], []


def delete_owned_txn(key: bytes, rev: int) -> tuple[list[Compare], list[Op], list[Op]]:
    """Delete ``key`` only while it is still the key created at ``rev``: a lock, leader or
    leasing key this session owns (resign, unlock, give up)."""
    return [is_owner(key, rev)], [Op.delete(key)], []


def may_have_applied(error: BaseException) -> bool:
    """Whether a write that raised ``error`` may have been applied: an
    ``OutcomeUnknownError``, or no ``EtcdError`` at all (cancelled, interrupted by Ctrl-C
    while the request was out)."""
    return isinstance(error, OutcomeUnknownError) or not isinstance(error, EtcdError)


def sweep_ops(keys: list[bytes]) -> list[Op]:
    """The ops of the one Txn that deletes a session's keys no object holds any more (left
    by a write whose outcome is unknown, or a clean-up that failed)."""
    return [Op.delete(key) for key in keys]


def swept(keys: list[bytes], response: TxnResponse) -> set[bytes]:
    """Which of ``keys`` the ``sweep_ops`` Txn found (and deleted)."""
    return {
        key for key, op in zip(keys, response.responses, strict=True)
        if isinstance(op, DeleteResponse) and op.deleted
    }


def leader_of(prefix: bytes, response: GetResponse) -> GetResponse:
    """The leader (``first_created`` range under ``prefix``), or ``ElectionNoLeaderError``."""
    if not response.kvs:
        raise ElectionNoLeaderError(f"election: no leader (under {prefix!r})")
    return response


def first_put(response: WatchResponse) -> GetResponse | None:
    """A new leader from a watch on an empty election's prefix: the first PUT, as a
    one-key ``GetResponse`` whose header revision is that key's (as Go's ``Observe``)."""
    for event in response.events:
        if event.type is EventType.PUT:
            header = response.header
            header = ResponseHeader(
                header.cluster_id, header.member_id, event.kv.mod_revision, header.raft_term
            )
            return GetResponse(header, [event.kv], 1, False)
    return None


def leader_updates(response: WatchResponse) -> tuple[list[GetResponse], bool]:
    """What a watch on the leader key tells observers: each new value (a PUT), as a one-key
    ``GetResponse``, up to its delete; and whether it was deleted (the leader is gone)."""
    updates: list[GetResponse] = []
    for event in response.events:
        if event.type is EventType.DELETE:
            return updates, True
        updates.append(GetResponse(response.header, [event.kv], 1, False))
    return updates, False


# --- STM --------------------------------------------------------------------------------------


class BufferedWrite:
    """A write buffered by an STM attempt: the value it leaves (None for a delete), its op."""

    __slots__ = ("op", "value")

    def __init__(self, value: bytes | None, op: Op) -> None:
        self.value = value
        self.op = op


class STMState:
    """One STM's read set, write set and reads' revision, and its conflict rules.

    The shell runs each attempt: ``reset()``; the user's function reads (``missing`` /
    ``read_ops`` + ``record``) and writes (``put`` / ``delete``, buffered); then one Txn of
    ``commit_txn()`` whose answer goes to ``committed()``. Per isolation level, as Go's STM:

    - ``serializable_snapshot`` (the default): every read at the revision of the attempt's
      first read; commits only if no key read changed since it was read and no key written
      changed after that first read.
    - ``serializable``: reads as above; commits only if no key read changed.
    - ``repeatable_reads``: each key read once per attempt (latest revision); commits only if
      no key read changed.
    - ``read_committed``: reads as above, no conflict check (lost updates are possible).

    After a conflict the serializable levels receive the current values of the keys read in
    the same round trip, and the next attempt starts from them if its first read is among
    them.
    """

    def __init__(self, isolation: Isolation = "serializable_snapshot") -> None:
        if isolation not in ISOLATIONS:
            raise ValueError(f"isolation must be one of {', '.join(ISOLATIONS)}; got {isolation!r}")
        self.isolation = isolation
        self._pinned = isolation in ("serializable_snapshot", "serializable")
        self.reads: dict[bytes, GetResponse] = {}
        self.writes: dict[bytes, BufferedWrite] = {}
        self._prefetched: dict[bytes, GetResponse] = {}
        #: The revision reads are pinned to (serializable levels, after the first read).
        self.read_revision = 0

    def reset(self) -> None:
        """Start an attempt: empty read and write sets (prefetched values stay)."""
        self.reads = {}
        self.writes = {}
        self.read_revision = 0

    def buffered(self, keys: list[bytes]) -> BufferedWrite | None:
        """The buffered write of the first of ``keys`` written in this attempt, if any."""
        for key in keys:
            if key in self.writes:
                return self.writes[key]
        return None

    def missing(self, keys: list[bytes]) -> list[bytes]:
        """Which of ``keys`` must be fetched (not read yet in this attempt). Values the last
        conflict returned count as read, in the serializable levels, if the attempt's first
        read finds all its keys among them: they then pin the read revision. Otherwise they
        are dropped, so no later read mixes their revision with a fresh one."""
        if not self.reads and self._prefetched:
            if all(key in self._prefetched for key in keys):
                self.reads = {key: self._prefetched.pop(key) for key in dict.fromkeys(keys)}
                self.read_revision = min(r.header.revision for r in self.reads.values())
            else:
                self._prefetched = {}
        elif self._prefetched:
            for key in keys:
                if key in self._prefetched:
                    self.reads[key] = self._prefetched.pop(key)
        return [key for key in dict.fromkeys(keys) if key not in self.reads]

    def read_ops(self, keys: list[bytes], *, serializable: bool = True) -> list[Op]:
        """Gets of ``keys`` in one Txn. As Go's STM: in the serializable levels the attempt's
        first read is linearizable and later ones are serializable at its revision (the
        same on every member that has reached it); the other levels read serializable.
        ``serializable=False`` reads linearizable anyway (a member behind the read revision
        answers the serializable read with ``FutureRevisionError``; a linearizable one
        waits for it to catch up)."""
        if self._pinned:
            serializable = serializable and bool(self.read_revision)
        return [
            Op.get(key, serializable=serializable, revision=self.read_revision) for key in keys
        ]

    def record(self, keys: list[bytes], response: TxnResponse) -> None:
        """Add the reads of ``read_ops(keys)`` to the read set."""
        first_read = not self.reads
        for key, result in zip(keys, response.responses, strict=True):
            assert isinstance(result, GetResponse)
            self.reads[key] = result
        if first_read and self._pinned:
            self.read_revision = response.header.revision

    def value(self, key: bytes) -> bytes | None:
        """The value of a key in the read set; None if it does not exist."""
        kvs = self.reads[key].kvs
        return kvs[0].value if kvs else None

    def mod_revision(self, key: bytes) -> int:
        """The mod revision of a key in the read set; 0 if it does not exist."""
        kvs = self.reads[key].kvs
        return kvs[0].mod_revision if kvs else 0

    def put(self, key: bytes, value: bytes, lease: int) -> None:
        """Buffer a write of ``key``."""
        self.writes[key] = BufferedWrite(value, Op.put(key, value, lease=lease or None))

    def delete(self, key: bytes) -> None:
        """Buffer a delete of ``key``."""
        self.writes[key] = BufferedWrite(None, Op.delete(key))

    def conflicts(self) -> list[Compare]:
        """The comparisons under which the buffered writes may commit."""
        if self.isolation == "read_committed":
            return []
        checks = [
            Compare.mod_revision(key, "==", self.mod_revision(key)) for key in self.reads
        ]
        if self.isolation == "serializable_snapshot":
            first = min((r.header.revision for r in self.reads.values()), default=sys.maxsize - 1)
            checks += [Compare.mod_revision(key, "<", first + 1) for key in self.writes]
        return checks

    def commit_txn(self) -> tuple[list[Compare], list[Op], list[Op]]:
        """The commit: the writes if no conflict; else (serializable levels) fresh reads of
        the read set, to start the next attempt from."""
        writes = [write.op for write in self.writes.values()]
        refetch: list[Op] = [Op.get(key) for key in self.reads] if self._pinned else []
        return self.conflicts(), writes, refetch

    def committed(self, response: TxnResponse) -> bool:
        """Whether the commit went through; on a conflict, keep what it read for the next
        attempt."""
        if response.succeeded:
            return True
        if self._pinned:
            self._prefetched = {}
            for key, result in zip(self.reads, response.responses, strict=True):
                assert isinstance(result, GetResponse)
                self._prefetched[key] = result
        return False



# --- the v3lock and v3election services -------------------------------------------------------


class LockResponse(msgspec.Struct, frozen=True):
    """Result of ``lock`` (Lock.Lock): ``key`` is the lock's owner key, which ``unlock``
    takes; it lives as long as the lease given to ``lock``."""

    header: ResponseHeader
    key: bytes


class LeaderKey(msgspec.Struct, frozen=True):
    """A campaign's key in the v3election service: ``name`` of the election, the leader
    ``key``, its create revision ``rev`` and ``lease``. ``proclaim`` and ``resign`` take it."""

    name: bytes
    key: bytes
    rev: int
    lease: int


class CampaignResponse(msgspec.Struct, frozen=True):
    """Result of ``election_campaign`` (Election.Campaign): the caller's ``leader`` key."""

    header: ResponseHeader
    leader: LeaderKey


class LeaderResponse(msgspec.Struct, frozen=True):
    """The leader of an election (Election.Leader, and each item of Election.Observe):
    ``kv`` is the leader key with its value."""

    header: ResponseHeader
    kv: KeyValue


class HeaderResponse(msgspec.Struct, frozen=True, gc=False):
    """Result of ``unlock``, ``election_proclaim`` and ``election_resign``: only a header."""

    header: ResponseHeader


def lock_request(name: bytes | str, lease: object) -> Any:
    """A ``v3lockpb.LockRequest`` for the lock ``name`` held with ``lease``."""
    return v3lockpb.LockRequest(name=to_bytes(name, "name"), lease=required_lease(lease))


def unlock_request(key: bytes | str) -> Any:
    """A ``v3lockpb.UnlockRequest`` for the owner key ``lock`` returned."""
    return v3lockpb.UnlockRequest(key=to_bytes(key))


def campaign_request(name: bytes | str, value: bytes | str, lease: object) -> Any:
    """A ``v3electionpb.CampaignRequest``."""
    return v3electionpb.CampaignRequest(
        name=to_bytes(name, "name"), lease=required_lease(lease), value=to_bytes(value, "value")
    )


def leader_key_message(leader: LeaderKey) -> Any:
    """``LeaderKey`` as a ``v3electionpb.LeaderKey``."""
    return v3electionpb.LeaderKey(
        name=leader.name, key=leader.key, rev=leader.rev, lease=leader.lease
    )


def proclaim_request(leader: LeaderKey, value: bytes | str) -> Any:
    """A ``v3electionpb.ProclaimRequest``."""
    return v3electionpb.ProclaimRequest(
        leader=leader_key_message(leader), value=to_bytes(value, "value")
    )


def resign_request(leader: LeaderKey) -> Any:
    """A ``v3electionpb.ResignRequest``."""
    return v3electionpb.ResignRequest(leader=leader_key_message(leader))


def leader_request(name: bytes | str) -> Any:
    """A ``v3electionpb.LeaderRequest`` (Leader and Observe)."""
    return v3electionpb.LeaderRequest(name=to_bytes(name, "name"))


def parse_lock(response: Any) -> LockResponse:
    """``v3lockpb.LockResponse`` -> LockResponse."""
    return LockResponse(parse_header(response.header), response.key)


def parse_header_only(response: Any) -> HeaderResponse:
    """Any response with only a header -> HeaderResponse."""
    return HeaderResponse(parse_header(response.header))


def parse_campaign_response(response: Any) -> CampaignResponse:
    """``v3electionpb.CampaignResponse`` -> CampaignResponse."""
    leader = response.leader
    return CampaignResponse(
        parse_header(response.header),
        LeaderKey(leader.name, leader.key, leader.rev, leader.lease),
    )


def parse_leader(response: Any) -> LeaderResponse:
    """``v3electionpb.LeaderResponse`` -> LeaderResponse."""
    return LeaderResponse(parse_header(response.header), response.kv)
