"""Maintenance builders and parsers, and the snapshot integrity check, without a server."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etcdmap._core import maintenance
from etcdmap._core.maintenance import SnapshotVerifier
from etcdmap._pb import etcdserverpb
from etcdmap.admin import AlarmMember, verify_snapshot
from etcdmap.errors import SnapshotIntegrityError


def stream(data: bytes, chunk: int) -> list[tuple[bytes, int]]:
    """(blob, remaining_bytes) as etcd sends a snapshot: data chunks, then the sha256."""
    out = []
    for start in range(0, len(data), chunk):
        blob = data[start:start + chunk]
        out.append((blob, len(data) - start - len(blob)))
    out.append((hashlib.sha256(data).digest(), 0))
    return out


@given(st.binary(min_size=1, max_size=300), st.integers(1, 64))
def test_verifier_accepts_any_chunking_of_a_good_stream(data: bytes, chunk: int) -> None:
    verifier = SnapshotVerifier()
    seen = []
    for blob, remaining in stream(data, chunk):
        verifier.feed(blob, remaining)
        seen.append((verifier.size, verifier.total))
    verifier.finish()
    assert verifier.size == len(data) + 32
    assert all(total == len(data) + 32 for _, total in seen)


def test_verifier_detects_damage_and_truncation() -> None:
    data = os.urandom(5000)
    chunks = stream(data, 1024)
    damaged = SnapshotVerifier()
    for blob, remaining in chunks:
        damaged.feed(blob.replace(blob[:1], bytes([blob[0] ^ 1]), 1), remaining)
    with pytest.raises(SnapshotIntegrityError, match="sha256"):
        damaged.finish()
    cut = SnapshotVerifier()
    for blob, remaining in chunks[:-1]:  # the digest never arrived
        cut.feed(blob, remaining)
    with pytest.raises(SnapshotIntegrityError, match="incomplete"):
        cut.finish()
    with pytest.raises(SnapshotIntegrityError, match="too short"):
        SnapshotVerifier().finish()


def test_verify_snapshot_file(tmp_path: Path) -> None:
    data = os.urandom(4096)
    path = tmp_path / "snap.db"
    path.write_bytes(data + hashlib.sha256(data).digest())
    assert verify_snapshot(path) == 4096 + 32
    path.write_bytes(data[:-10] + hashlib.sha256(data).digest())
    with pytest.raises(SnapshotIntegrityError, match="snap.db"):
        verify_snapshot(path)


def test_alarm_request_and_parse() -> None:
    request = maintenance.alarm_request("get")
    assert request == etcdserverpb.AlarmRequest()
    request = maintenance.alarm_request("deactivate", 5, "nospace")
    assert (request.action, request.memberID, request.alarm) == (
        etcdserverpb.AlarmRequest.DEACTIVATE, 5, etcdserverpb.AlarmType.NOSPACE
    )
    with pytest.raises(ValueError, match="'full'"):
        maintenance.alarm_request("deactivate", 0, "full")  # type: ignore[arg-type]
    response = etcdserverpb.AlarmResponse(
        alarms=[etcdserverpb.AlarmMember(memberID=5, alarm=etcdserverpb.AlarmType.CORRUPT)]
    )
    assert maintenance.parse_alarm(response).alarms == [AlarmMember(5, "corrupt")]


def test_parse_status_and_hash_kv() -> None:
    status = maintenance.parse_status(etcdserverpb.StatusResponse(
        version="3.5.1", dbSize=10, dbSizeInUse=8, leader=3, raftIndex=4, raftTerm=5,
        raftAppliedIndex=4, errors=["x"], isLearner=True,
    ))
    assert (status.version, status.db_size, status.db_size_in_use, status.leader) == (
        "3.5.1", 10, 8, 3
    )
    assert (status.raft_index, status.raft_term, status.raft_applied_index) == (4, 5, 4)
    assert status.errors == ["x"] and status.is_learner
    old = maintenance.parse_hash_kv(etcdserverpb.HashKVResponse(hash=9, compact_revision=2))
    assert (old.hash, old.compact_revision, old.hash_revision) == (9, 2, None)
    new = maintenance.parse_hash_kv(etcdserverpb.HashKVResponse(hash=9, hash_revision=7))
    assert new.hash_revision == 7
    with pytest.raises(ValueError, match="revision"):
        maintenance.hash_kv_request(-1)
