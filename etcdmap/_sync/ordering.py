# Generated from etcdmap/_async/ordering.py by scripts/unasync: do not edit.
"""The ordering KV (Go's ordering package): reads and transactions that never go back in
revision, even when the client moves to a member that is behind."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from .._backends.threads import settle
from .._core.checks import check_client
from .._core.errors import OrderingViolationError
from .._core.kv import Op
from .._core.ordering import RevisionGuard, ViolationBudget, violation
from .client import Client
from .kv import KV

__all__ = ["OrderingKV", "SwitchEndpoint", "ViolationHandler"]

_Response = TypeVar("_Response")

#: Called with the violation: raise to fail the call, return to send the request again.
ViolationHandler = Callable[[OrderingViolationError], "None | Awaitable[None]"]


def raise_violation(error: OrderingViolationError) -> None:
    """The default handler: the call fails with the violation."""
    raise error


class SwitchEndpoint:
    """A violation handler that moves the client to its next endpoint and retries, up to 5
    times per endpoint over the handler's life; then ``NoGreaterRevisionError`` (Go's
    ``NewOrderViolationSwitchEndpointClosure``)."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._budget = ViolationBudget()

    def __call__(self, error: OrderingViolationError) -> None:
        client = self._client
        self._budget.spend(error, len(client.endpoints))
        client._next_connection(client._conn or client._connect())


class OrderingKV(KV):
    """KV calls on ``client`` that refuse to go back in revision.

    The highest header revision of every ``get`` and ``txn`` response is remembered
    (``prev_revision``). A response below it (a serializable read served by a member that is
    behind, after the client switched endpoints) is a violation: ``on_violation(error)`` is
    called with an ``OrderingViolationError``; if it returns, the request is sent again (in a
    loop, as in Go), if it raises, the call fails with that error. The default handler
    raises the violation; ``SwitchEndpoint(client)`` moves to another member and
    retries. ``put``, ``delete`` and ``compact`` pass through unchecked, as in Go. It is a
    KV (``KV``): every KV method, ``get_prefix`` and ``get_pages`` too, runs through
    ``do``.

    Example::

        kv = OrderingKV(client, SwitchEndpoint(client))
        response = kv.get("/config", serializable=True)
    """

    def __init__(
        self, client: Client, on_violation: ViolationHandler | None = None
    ) -> None:
        check_client(client, OrderingKV)
        self.client = client
        self._on_violation = on_violation or raise_violation
        self._guard = RevisionGuard()

    @property
    def prev_revision(self) -> int:
        """The highest revision seen in a ``get`` or ``txn`` response."""
        return self._guard.prev_revision

    def do(self, op: Op[_Response], *, timeout: float | None = None) -> _Response:
        """Run ``op`` on the client (the same RPC at the same consistency); the response of
        an ``Op.get`` or ``Op.txn`` is checked for ordering (see the class), the others pass
        through unchecked."""
        if op.kind != "get" and op.kind != "txn":
            return self.client.do(op, timeout=timeout)
        while True:
            response: Any = self.client.do(op, timeout=timeout)
            revision = response.header.revision
            prev = self._guard.prev_revision
            if self._guard.accept(revision):
                result: _Response = response
                return result
            conn = self.client._conn
            error = violation(
                op.kind, revision, prev, None if conn is None else conn.endpoint, response
            )
            settle(self._on_violation(error))
