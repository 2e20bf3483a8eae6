"""The v3election service: elections run by the server for the caller's lease."""

from __future__ import annotations

from typing import Any

import grpc

from .._core import concurrency as core
from .._core.concurrency import CampaignResponse, HeaderResponse, LeaderKey, LeaderResponse
from .._core.errors import error_from_status
from .._core.kv import LeaseLike
from .base import AsyncClientBase

__all__ = ["AsyncElectionService", "AsyncLeaderStream"]


class AsyncElectionService(AsyncClientBase):
    """``election_*`` methods of ``AsyncClient``: etcd's server-side election service (the
    same keys and queue as ``AsyncElection`` and ``etcdctl elect``, run by the server)."""

    async def election_campaign(
        self,
        name: bytes | str,
        value: bytes | str,
        lease: LeaseLike,
        *,
        timeout: float | None = None,
    ) -> CampaignResponse:
        """Wait until elected in ``name`` with ``value`` for ``lease`` (Election.Campaign);
        ``leader`` is the ``LeaderKey`` that ``election_proclaim`` / ``election_resign``
        take. The caller keeps ``lease`` alive; when ``timeout`` passes first,
        ``DeadlineExceededError`` and the server withdraws the candidacy."""
        request = core.campaign_request(name, value, lease)
        response = await self._unary("election_campaign", request, timeout)
        return core.parse_campaign_response(response)

    async def election_proclaim(
        self, leader: LeaderKey, value: bytes | str, *, timeout: float | None = None
    ) -> HeaderResponse:
        """Publish ``value`` as the leader ``leader`` (Election.Proclaim);
        ``ElectionNotLeaderError`` if that key no longer leads."""
        request = core.proclaim_request(leader, value)
        return core.parse_header_only(await self._unary("election_proclaim", request, timeout))

    async def election_leader(
        self, name: bytes | str, *, timeout: float | None = None
    ) -> LeaderResponse:
        """The leader of ``name`` (Election.Leader, a linearizable read on the server);
        ``ElectionNoLeaderError`` if nobody campaigns."""
        request = core.leader_request(name)
        return core.parse_leader(await self._unary("election_leader", request, timeout))

    async def election_resign(
        self, leader: LeaderKey, *, timeout: float | None = None
    ) -> HeaderResponse:
        """Give up the leadership ``leader`` (Election.Resign): the next candidate leads."""
        request = core.resign_request(leader)
        return core.parse_header_only(await self._unary("election_resign", request, timeout))

    async def election_observe(self, name: bytes | str) -> AsyncLeaderStream:
        """Stream the leaders of ``name`` and their values (Election.Observe, a server
        stream): iterate the returned stream for ``LeaderResponse`` items; ``cancel()`` it,
        or use it as a context manager, to stop.

        Like watches, the stream requires a leader (``hasleader`` metadata): a member that
        loses its leader ends it with ``NoLeaderError`` rather than keep the observer on a
        leader the rest of the cluster may have replaced; open a new stream then."""
        conn = self._conn or await self._connect()
        call = conn.election_observe(core.leader_request(name), metadata=self._stream_metadata())
        return AsyncLeaderStream(call, conn.endpoint, name)


class AsyncLeaderStream:
    """The stream of ``election_observe``: iterate it for ``LeaderResponse`` items."""

    def __init__(self, call: Any, endpoint: str, name: bytes | str) -> None:
        self._call = call
        self._endpoint = endpoint
        self._name = name
        self._cancelled = False

    def __aiter__(self) -> AsyncLeaderStream:
        return self

    async def __anext__(self) -> LeaderResponse:
        if self._cancelled:
            raise StopAsyncIteration
        try:
            async for message in self._call:
                return core.parse_leader(message)
        except grpc.RpcError as error:
            if self._cancelled:
                raise StopAsyncIteration from None
            raise error_from_status(
                error.code(), error.details(), endpoint=self._endpoint,
                action=f"election_observe {self._name!r}",
            ) from None
        except BaseException:
            if self._cancelled:  # the call was cancelled under a reader waiting on it
                raise StopAsyncIteration from None
            raise
        raise StopAsyncIteration

    def cancel(self) -> None:
        """End the stream."""
        self._cancelled = True
        self._call.cancel()

    async def __aenter__(self) -> AsyncLeaderStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.cancel()
