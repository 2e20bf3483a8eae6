"""The Maintenance service: status, alarms, defragmentation, hashes, leadership and snapshots."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import Any, BinaryIO

import grpc

from .._core.auth import needs_new_token
from .._core.cluster import member_list_request, parse_members
from .._core.endpoints import resolve_endpoints
from .._core.errors import EtcdError, NoLeaderError, TransportError
from .._core.kv import parse_header
from .._core.maintenance import (
    AlarmMember,
    AlarmResponse,
    AlarmType,
    DefragmentResponse,
    HashKVResponse,
    MoveLeaderResponse,
    SnapshotResult,
    SnapshotVerifier,
    StatusResponse,
    alarm_request,
    hash_kv_request,
    parse_alarm,
    parse_hash_kv,
    parse_status,
)
from .._core.results import ResponseHeader
from .._pb import etcdserverpb
from .base import AsyncClientBase, _error

__all__ = ["AsyncMaintenance"]

#: ``progress(bytes_so_far, expected_total_or_None)``, called after every snapshot chunk.
SnapshotProgress = Callable[[int, int | None], object]


class AsyncMaintenance(AsyncClientBase):
    """Maintenance methods of ``AsyncClient``.

    ``status``, ``defragment``, ``hash_kv`` and ``snapshot`` address one member: the
    ``endpoint`` given (``host:port``, any member, not only the client's endpoints), else the
    client's first endpoint. Alarms go through the client's connection; ``move_leader`` goes
    to the current leader, which the client finds itself.
    """

    def _member_endpoint(self, endpoint: str | None) -> str:
        return self.endpoints[0] if endpoint is None else resolve_endpoints([endpoint])[0]

    async def status(
        self, endpoint: str | None = None, *, timeout: float | None = None
    ) -> StatusResponse:
        """The status of one member (Maintenance.Status on ``endpoint``, default the first).

        Answered from that member's local state (not linearizable): its version, database
        size, raft position, the leader it follows, and whether it is a learner. The member is
        the leader when ``status.leader == status.header.member_id``.
        """
        target = self._member_endpoint(endpoint)
        request = etcdserverpb.StatusRequest()
        return parse_status(await self._unary("status", request, timeout, target))

    async def defragment(
        self, endpoint: str | None = None, *, timeout: float | None = None
    ) -> DefragmentResponse:
        """Compact one member's backend file (Maintenance.Defragment on ``endpoint``).

        Frees the space left by compaction and deleted keys. The member blocks reads and writes
        while it runs (seconds on a large database): defragment members one at a time.
        """
        target = self._member_endpoint(endpoint)
        request = etcdserverpb.DefragmentRequest()
        response = await self._unary("defragment", request, timeout, target)
        return DefragmentResponse(parse_header(response.header))

    async def hash_kv(
        self, endpoint: str | None = None, revision: int = 0, *, timeout: float | None = None
    ) -> HashKVResponse:
        """Hash one member's keyspace up to ``revision`` (Maintenance.HashKV on ``endpoint``).

        0 hashes up to the member's latest revision. Members hold the same data when their
        hashes at the same revision (and compact revision) are equal; a member that has not
        applied ``revision`` yet answers ``FutureRevisionError``.
        """
        target = self._member_endpoint(endpoint)
        request = hash_kv_request(revision)
        return parse_hash_kv(await self._unary("hash_kv", request, timeout, target))

    async def alarm_list(self, *, timeout: float | None = None) -> AlarmResponse:
        """Every alarm raised in the cluster (Maintenance.Alarm GET, via the client's
        connection). An empty ``alarms`` list means none."""
        request = alarm_request("get")
        return parse_alarm(await self._unary("alarm", request, timeout))

    async def alarm_activate(
        self, member_id: int = 0, alarm: AlarmType = "nospace", *, timeout: float | None = None
    ) -> AlarmResponse:
        """Raise an alarm (Maintenance.Alarm ACTIVATE, via the client's connection, through
        raft), as the server does when a member runs out of space: to test how an
        application copes. ``member_id=0`` raises it for the cluster as a whole. While
        ``"nospace"`` is raised the cluster refuses writes (``NoSpaceError``); clear it with
        ``alarm_disarm``. Returns the alarm raised.
        """
        request = alarm_request("activate", member_id, alarm)
        return parse_alarm(await self._unary("alarm", request, timeout))

    async def alarm_disarm(
        self,
        member_id: int = 0,
        alarm: AlarmType = "nospace",
        *,
        timeout: float | None = None,
    ) -> AlarmResponse:
        """Clear an alarm (Maintenance.Alarm DEACTIVATE, via the client's connection).

        With ``member_id=0`` every raised alarm of type ``alarm`` is cleared (``"none"``: of any
        type), one DEACTIVATE per alarm as Go's client does; otherwise only that member's.
        Returns the alarms cleared. Free space (compact, defragment) before disarming
        ``"nospace"``, else the server raises it again.
        """
        request = alarm_request("deactivate", member_id, alarm)
        if member_id:
            return parse_alarm(await self._unary("alarm", request, timeout))
        listed = await self.alarm_list(timeout=timeout)
        header: ResponseHeader = listed.header
        cleared: list[AlarmMember] = []
        for raised in listed.alarms:
            if alarm != "none" and raised.alarm != alarm:
                continue
            request = alarm_request("deactivate", raised.member_id, raised.alarm)
            response = parse_alarm(await self._unary("alarm", request, timeout))
            header = response.header
            cleared.extend(response.alarms)
        return AlarmResponse(header, cleared)

    async def move_leader(
        self, target_id: int, *, timeout: float | None = None
    ) -> MoveLeaderResponse:
        """Hand the leadership to the member ``target_id`` (Maintenance.MoveLeader).

        The request must reach the current leader: the client asks each of its endpoints for
        its status (and, if none of them leads, the member list for the leader's client URL)
        and sends it there. Returns once the target leads; ``BadLeaderTransfereeError`` if it
        cannot (e.g. a learner or an unknown id).
        """
        request = etcdserverpb.MoveLeaderRequest(targetID=target_id)
        leader = await self._leader_endpoint(timeout)
        response = await self._unary("move_leader", request, timeout, leader)
        return MoveLeaderResponse(parse_header(response.header))

    async def _leader_endpoint(self, timeout: float | None) -> str:
        """The endpoint of the current leader, found by asking each endpoint for its status."""
        leader_id = 0
        failure: EtcdError | None = None
        for endpoint in self.endpoints:
            try:
                status = await self.status(endpoint, timeout=timeout)
            except TransportError as error:
                failure = error
                continue
            if status.leader and status.leader == status.header.member_id:
                return endpoint
            leader_id = leader_id or status.leader
        if leader_id:
            response = await self._unary("member_list", member_list_request(), timeout)
            for member in parse_members(response).members:
                if member.id == leader_id and member.client_urls:
                    return resolve_endpoints(member.client_urls[:1])[0]
        raise NoLeaderError(
            f"move_leader: found no leader through {', '.join(self.endpoints)}"
            + (f" ({failure})" if failure is not None else "")
        )

    async def snapshot(
        self,
        path_or_file: str | os.PathLike[str] | BinaryIO,
        *,
        endpoint: str | None = None,
        progress: SnapshotProgress | None = None,
        timeout: float | None = None,
    ) -> SnapshotResult:
        """Save a snapshot of one member's backend (Maintenance.Snapshot stream on ``endpoint``,
        default the first) into a file, and check that it is complete.

        ``path_or_file`` is a path (written to ``<path>.part``, renamed to ``path`` once
        verified, removed on any failure) or a binary file opened for writing (left open).
        ``progress(bytes_so_far, total)`` is called after every chunk; ``total`` is the
        expected size (data + digest) from the server's ``remaining_bytes``, None if unknown.
        The stream ends with the sha256 of the data: a mismatch, or a stream cut short, raises
        ``SnapshotIntegrityError``. The result is the file's size (and, from etcd 3.6, the
        header and server version). The file is the same as ``etcdctl snapshot save`` writes,
        ready for ``etcdutl snapshot restore``. Chunks are written to the file from the
        calling thread or event loop as they arrive.
        """
        target = self._member_endpoint(endpoint)
        if not isinstance(path_or_file, (str, os.PathLike)):
            return await self._snapshot_into(path_or_file, target, progress, timeout, "snapshot")
        path = os.fspath(path_or_file)
        partial = path + ".part"
        try:
            with open(partial, "wb") as file:
                result = await self._snapshot_into(
                    file, target, progress, timeout, f"snapshot of {target} into {path!r}"
                )
            os.replace(partial, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)
            raise
        return result

    async def _snapshot_into(
        self,
        file: BinaryIO,
        endpoint: str,
        progress: SnapshotProgress | None,
        timeout: float | None,
        what: str,
    ) -> SnapshotResult:
        verifier = SnapshotVerifier()
        header: ResponseHeader | None = None
        version = ""
        for attempt in range(2):
            conn = await self._connection_for(endpoint)
            call: Any = conn.snapshot(
                etcdserverpb.SnapshotRequest(),
                timeout=self._call_timeout(timeout),
                metadata=self._metadata,
            )
            try:
                async for response in call:
                    if verifier.size == 0 and response.HasField("header"):
                        header = parse_header(response.header)
                        version = response.version
                    file.write(response.blob)
                    verifier.feed(response.blob, response.remaining_bytes)
                    if progress is not None:
                        progress(verifier.size, verifier.total)
                break
            except grpc.RpcError as error:
                failure = _error(error, conn.endpoint, "snapshot", None)
                if (
                    attempt == 0 and verifier.size == 0 and self._credentials is not None
                    and needs_new_token(failure)
                ):
                    await self._authenticate(conn, timeout)
                    continue
                raise failure from None
            finally:
                call.cancel()  # a no-op once the stream ended; stops it on any other exit
        verifier.finish(what)
        return SnapshotResult(verifier.size, header, version)
