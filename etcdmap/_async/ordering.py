"""The ordering KV (Go's ordering package): reads and transactions that never go back in
revision, even when the client moves to a member that is behind."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from .._backends.asyncio import settle
from .._core.checks import check_client
from .._core.errors import OrderingViolationError
from .._core.kv import Compare, Op
from .._core.ordering import RevisionGuard, ViolationBudget, violation
from .._core.results import (
    CompactResponse,
    DeleteResponse,
    GetResponse,
    PutResponse,
    TxnResponse,
)
from .client import AsyncClient

__all__ = ["AsyncOrderingKV", "AsyncSwitchEndpoint", "ViolationHandler"]

#: Called with the violation: raise to fail the call, return to send the request again.
ViolationHandler = Callable[[OrderingViolationError], "None | Awaitable[None]"]


def raise_violation(error: OrderingViolationError) -> None:
    """The default handler: the call fails with the violation."""
    raise error


class AsyncSwitchEndpoint:
    """A violation handler that moves the client to its next endpoint and retries, up to 5
    times per endpoint over the handler's life; then ``NoGreaterRevisionError`` (Go's
    ``NewOrderViolationSwitchEndpointClosure``)."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self._budget = ViolationBudget()

    async def __call__(self, error: OrderingViolationError) -> None:
        client = self._client
        self._budget.spend(error, len(client.endpoints))
        await client._next_connection(client._conn or await client._connect())


class AsyncOrderingKV:
    """KV calls on ``client`` that refuse to go back in revision.

    The highest header revision of every ``get`` and ``txn`` response is remembered
    (``prev_revision``). A response below it (a serializable read served by a member that is
    behind, after the client switched endpoints) is a violation: ``on_violation(error)`` is
    called with an ``OrderingViolationError``; if it returns, the request is sent again (in a
    loop, as in Go), if it raises, the call fails with that error. The default handler
    raises the violation; ``AsyncSwitchEndpoint(client)`` moves to another member and
    retries. ``put``, ``delete`` and ``compact`` pass through unchecked, as in Go.

    Example::

        kv = AsyncOrderingKV(client, AsyncSwitchEndpoint(client))
        response = await kv.get("/config", serializable=True)
    """

    def __init__(
        self, client: AsyncClient, on_violation: ViolationHandler | None = None
    ) -> None:
        check_client(client, AsyncOrderingKV)
        self.client = client
        self._on_violation = on_violation or raise_violation
        self._guard = RevisionGuard()

    @property
    def prev_revision(self) -> int:
        """The highest revision seen in a ``get`` or ``txn`` response."""
        return self._guard.prev_revision

    async def _checked(self, operation: str, call: Callable[[], Any]) -> Any:
        while True:
            response = await call()
            revision = response.header.revision
            prev = self._guard.prev_revision
            if self._guard.accept(revision):
                return response
            conn = self.client._conn
            error = violation(
                operation, revision, prev, None if conn is None else conn.endpoint, response
            )
            await settle(self._on_violation(error))

    async def get(self, key: bytes | str, **options: Any) -> GetResponse:
        """``client.get`` (KV.Range, with all its options), checked for ordering."""
        response: GetResponse = await self._checked(
            "get", lambda: self.client.get(key, **options)
        )
        return response

    async def get_prefix(self, prefix: bytes | str, **options: Any) -> GetResponse:
        """``client.get_prefix`` (KV.Range over the prefix), checked for ordering."""
        return await self.get(prefix, prefix=True, **options)

    async def txn(
        self,
        compare: Sequence[Compare] = (),
        success: Sequence[Op] = (),
        failure: Sequence[Op] = (),
        *,
        timeout: float | None = None,
    ) -> TxnResponse:
        """``client.txn`` (KV.Txn), checked for ordering."""
        response: TxnResponse = await self._checked(
            "txn", lambda: self.client.txn(compare, success, failure, timeout=timeout)
        )
        return response

    async def put(self, key: bytes | str, value: bytes | str, **options: Any) -> PutResponse:
        """``client.put`` (KV.Put), not checked."""
        return await self.client.put(key, value, **options)

    async def delete(self, key: bytes | str, **options: Any) -> DeleteResponse:
        """``client.delete`` (KV.DeleteRange), not checked."""
        return await self.client.delete(key, **options)

    async def compact(self, revision: int, **options: Any) -> CompactResponse:
        """``client.compact`` (KV.Compact), not checked."""
        return await self.client.compact(revision, **options)
