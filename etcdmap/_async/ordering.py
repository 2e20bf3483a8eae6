"""The ordering KV (Go's ordering package): reads and transactions that never go back in
revision, even when the client moves to a member that is behind."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from .._backends.asyncio import settle
from .._core.checks import check_client
from .._core.errors import OrderingViolationError
from .._core.kv import Op
from .._core.ordering import RevisionGuard, ViolationBudget, violation
from .client import AsyncClient
from .kv import AsyncKV

__all__ = ["AsyncOrderingKV", "AsyncSwitchEndpoint", "ViolationHandler"]

_Response = TypeVar("_Response")

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


class AsyncOrderingKV(AsyncKV):
    """KV calls on ``client`` that refuse to go back in revision.

    The highest header revision of every ``get`` and ``txn`` response is remembered
    (``prev_revision``). A response below it (a serializable read served by a member that is
    behind, after the client switched endpoints) is a violation: ``on_violation(error)`` is
    called with an ``OrderingViolationError``; if it returns, the request is sent again (in a
    loop, as in Go), if it raises, the call fails with that error. The default handler
    raises the violation; ``AsyncSwitchEndpoint(client)`` moves to another member and
    retries. ``put``, ``delete`` and ``compact`` pass through unchecked, as in Go. It is a
    KV (``AsyncKV``): every KV method, ``get_prefix`` and ``get_pages`` too, runs through
    ``do``.

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

    async def do(self, op: Op[_Response], *, timeout: float | None = None) -> _Response:
        """Run ``op`` on the client (the same RPC at the same consistency); the response of
        an ``Op.get`` or ``Op.txn`` is checked for ordering (see the class), the others pass
        through unchecked."""
        if op.kind != "get" and op.kind != "txn":
            return await self.client.do(op, timeout=timeout)
        while True:
            response: Any = await self.client.do(op, timeout=timeout)
            revision = response.header.revision
            prev = self._guard.prev_revision
            if self._guard.accept(revision):
                result: _Response = response
                return result
            conn = self.client._conn
            error = violation(
                op.kind, revision, prev, None if conn is None else conn.endpoint, response
            )
            await settle(self._on_violation(error))
