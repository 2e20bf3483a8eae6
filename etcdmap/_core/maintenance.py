"""Maintenance requests and responses, and the integrity check of snapshots.

etcd ends every snapshot stream with the sha256 of the data before it (32 bytes), which is what
``etcdutl snapshot restore`` checks; ``SnapshotVerifier`` checks it while the stream is written,
so a snapshot cut short or damaged in transit is never mistaken for a good one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any, Literal

import msgspec

from .._pb import etcdserverpb
from .errors import SnapshotIntegrityError
from .kv import parse_header
from .results import ResponseHeader

__all__ = [
    "DIGEST_SIZE",
    "AlarmMember",
    "AlarmResponse",
    "AlarmType",
    "DefragmentResponse",
    "HashKVResponse",
    "MoveLeaderResponse",
    "SnapshotResult",
    "SnapshotVerifier",
    "StatusResponse",
    "alarm_request",
    "hash_kv_request",
    "parse_alarm",
    "parse_hash_kv",
    "parse_status",
    "verify_snapshot",
]

AlarmType = Literal["none", "nospace", "corrupt"]
_ALARMS: dict[str, int] = {"none": 0, "nospace": 1, "corrupt": 2}
_ALARM_NAMES: dict[int, AlarmType] = {0: "none", 1: "nospace", 2: "corrupt"}
_ACTIONS = {"get": 0, "activate": 1, "deactivate": 2}

#: Size of the sha256 digest etcd appends to a snapshot.
DIGEST_SIZE = 32


class StatusResponse(msgspec.Struct, frozen=True):
    """One member's status (Maintenance.Status).

    ``leader`` is the member id of the leader as this member sees it (0: none);
    ``header.member_id`` is the id of the member that answered, so it is the leader when the
    two are equal. ``db_size`` is the backend file size, ``db_size_in_use`` the part in use
    (the rest is reclaimed by ``defragment``). ``storage_version`` and ``db_size_quota`` are
    reported by etcd 3.6 and later (empty / 0 before).
    """

    header: ResponseHeader
    version: str
    db_size: int
    db_size_in_use: int
    leader: int
    raft_index: int
    raft_term: int
    raft_applied_index: int
    errors: list[str]
    is_learner: bool
    storage_version: str = ""
    db_size_quota: int = 0


class AlarmMember(msgspec.Struct, frozen=True, gc=False):
    """An alarm raised on one member: ``"nospace"`` (backend quota exceeded) or ``"corrupt"``."""

    member_id: int
    alarm: AlarmType


class AlarmResponse(msgspec.Struct, frozen=True):
    """Result of Maintenance.Alarm: the alarms listed, or the alarms disarmed."""

    header: ResponseHeader
    alarms: list[AlarmMember]


class HashKVResponse(msgspec.Struct, frozen=True, gc=False):
    """Hash of one member's MVCC keyspace up to a revision (Maintenance.HashKV).

    Members agree on ``hash`` for the same revision and compact revision. ``hash_revision``
    is the revision hashed, reported by etcd 3.5.3+ (None before).
    """

    header: ResponseHeader
    hash: int
    compact_revision: int
    hash_revision: int | None


class DefragmentResponse(msgspec.Struct, frozen=True, gc=False):
    """Result of Maintenance.Defragment."""

    header: ResponseHeader


class MoveLeaderResponse(msgspec.Struct, frozen=True, gc=False):
    """Result of Maintenance.MoveLeader."""

    header: ResponseHeader


class SnapshotResult(msgspec.Struct, frozen=True):
    """A snapshot saved by ``snapshot()``: ``size`` bytes written (data and the 32-byte
    sha256 etcd appends), the ``header`` and server ``version`` when the server sent them
    (etcd 3.6+; None / "" before)."""

    size: int
    header: ResponseHeader | None = None
    version: str = ""


def alarm_request(action: str, member_id: int = 0, alarm: AlarmType = "none") -> Any:
    """An AlarmRequest; GET with member 0 and alarm "none" lists every alarm."""
    if alarm not in _ALARMS:
        raise ValueError(f"unknown alarm {alarm!r}; expected 'none', 'nospace' or 'corrupt'")
    if isinstance(member_id, bool) or not isinstance(member_id, int) or member_id < 0:
        raise ValueError(f"member_id must be a member id (int >= 0), not {member_id!r}")
    return etcdserverpb.AlarmRequest(
        action=_ACTIONS[action], memberID=member_id, alarm=_ALARMS[alarm]
    )


def hash_kv_request(revision: int = 0) -> Any:
    """A HashKVRequest; revision 0 hashes up to the latest revision."""
    if revision < 0:
        raise ValueError(f"revision must be >= 0, not {revision}")
    return etcdserverpb.HashKVRequest(revision=revision)


def parse_status(response: Any) -> StatusResponse:
    """A StatusResponse message as a ``StatusResponse``."""
    return StatusResponse(
        parse_header(response.header),
        response.version,
        response.dbSize,
        response.dbSizeInUse,
        response.leader,
        response.raftIndex,
        response.raftTerm,
        response.raftAppliedIndex,
        list(response.errors),
        response.isLearner,
        response.storageVersion,
        response.dbSizeQuota,
    )


def parse_alarm(response: Any) -> AlarmResponse:
    """An AlarmResponse message as an ``AlarmResponse``."""
    return AlarmResponse(
        parse_header(response.header),
        [AlarmMember(a.memberID, _ALARM_NAMES.get(a.alarm, "none")) for a in response.alarms],
    )


def parse_hash_kv(response: Any) -> HashKVResponse:
    """A HashKVResponse message as a ``HashKVResponse``."""
    return HashKVResponse(
        parse_header(response.header),
        response.hash,
        response.compact_revision,
        response.hash_revision or None,
    )


class SnapshotVerifier:
    """Follows a snapshot stream: size, progress and the trailing sha256.

    Feed every chunk's ``blob`` and ``remaining_bytes``; ``finish()`` raises
    ``SnapshotIntegrityError`` unless the last 32 bytes are the sha256 of all the bytes
    before them. The data is hashed as it arrives, holding back only the last 32 bytes.
    """

    __slots__ = ("_hash", "_tail", "size", "total")

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._tail = b""
        #: Bytes received so far.
        self.size = 0
        #: The expected size of the whole stream (data + digest), once the server said.
        self.total: int | None = None

    def feed(self, blob: bytes, remaining_bytes: int | None = None) -> None:
        """Account for one chunk of the stream."""
        self.size += len(blob)
        data = self._tail + blob if self._tail else blob
        if len(data) > DIGEST_SIZE:
            self._hash.update(memoryview(data)[:-DIGEST_SIZE])
            self._tail = data[-DIGEST_SIZE:]
        else:
            self._tail = data
        if remaining_bytes is not None and self.total is None:
            # remaining_bytes counts the data still to come; the digest follows it.
            self.total = self.size + remaining_bytes + DIGEST_SIZE

    def finish(self, what: str = "snapshot") -> None:
        """Raise ``SnapshotIntegrityError`` unless the stream ended with a matching digest."""
        if self.size < DIGEST_SIZE:
            raise SnapshotIntegrityError(
                f"{what} is incomplete: {self.size} bytes, too short to hold the sha256 digest"
            )
        if self.total is not None and self.size != self.total:
            raise SnapshotIntegrityError(
                f"{what} is incomplete: {self.size} bytes received, the server announced "
                f"{self.total}"
            )
        if not hmac.compare_digest(self._hash.digest(), self._tail):
            raise SnapshotIntegrityError(
                f"{what} is damaged or incomplete: its sha256 does not match the digest etcd "
                f"appended ({self.size} bytes)"
            )


def verify_snapshot(path: str | os.PathLike[str]) -> int:
    """Check a snapshot file saved from etcd (by ``snapshot()`` or ``etcdctl snapshot save``).

    Returns its size in bytes; raises ``SnapshotIntegrityError`` (naming the file) when the
    trailing sha256 does not match the data, e.g. for a truncated or modified file.
    """
    verifier = SnapshotVerifier()
    with open(path, "rb") as file:
        while chunk := file.read(1024 * 1024):
            verifier.feed(chunk)
    verifier.finish(f"snapshot file {os.fspath(path)!r}")
    return verifier.size


#: The oldest server a client with ``reject_old_cluster=True`` accepts (clientv3 3.5's rule).
MIN_SERVER_VERSION = (3, 4)


def is_old_server(version: str) -> bool:
    """Whether a server reporting ``version`` (e.g. ``"3.5.1"``) is older than supported.

    An unparsable version counts as old: the client cannot vouch for it.
    """
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        return True
    return (major, minor) < MIN_SERVER_VERSION
