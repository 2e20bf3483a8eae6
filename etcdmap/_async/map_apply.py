"""Plans, applies and validation of an ``AsyncEtcdMap`` (the map's ``plan``, ``apply`` and
``validate`` call these): one paged pass over the prefix at one revision, then only the keys
that differ written, in one guarded Txn or in Txns planned under the server's limits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Protocol

from .._core.bulk import BulkWrite, TxnLimits
from .._core.errors import ConflictError, EtcdError, ValueDecodeError
from .._core.keyspace import KeySpace
from .._core.kv import LeaseLike
from .._core.mirror import InvalidValue
from .._core.plan import Plan, PlanBuilder, flatten_document, plan_writes
from .._core.results import TxnResponse
from .._core.validate import InvalidEntry, invalid_entry
from .kv import AsyncKV

__all__ = ["AsyncCollectingView", "apply", "plan", "send_bulk", "validate"]


class AsyncCollectingView(Protocol):
    """A map's ``values(on_error="collect")``: a pass leaves the values that did not decode
    in ``errors``."""

    errors: list[ValueDecodeError]

    def __aiter__(self) -> AsyncIterator[Any]: ...


async def plan(
    client: AsyncKV,
    ks: KeySpace[Any],
    document: Mapping[str, Any],
    *,
    prune: bool,
    flatten: str | None,
    page_size: int,
    serializable: bool,
    timeout: float | None,
) -> Plan:
    """The plan of ``document`` for the map of ``ks`` (see ``AsyncEtcdMap.plan``)."""
    builder = PlanBuilder(ks, flatten_document(document, flatten), prune)
    revision = 0
    pages = client.get_pages(
        ks.start, range_end=ks.end, page_size=page_size, serializable=serializable,
        timeout=timeout,
    )  # fmt: skip
    async for page in pages:
        revision = revision or page.header.revision
        for kv in page.kvs:
            key = ks.relative(kv.key)
            try:
                value = ks.decode(key, kv)
            except ValueDecodeError as error:
                builder.invalid(key, InvalidValue(key, kv.value, error, kv.mod_revision))
                continue
            builder.stored(key, value, kv.value)
    return builder.plan(revision)


async def apply(
    client: AsyncKV, ks: KeySpace[Any], chosen: Plan, *, atomic: bool, lease: LeaseLike,
    limits: TxnLimits, timeout: float | None,
) -> int:  # fmt: skip
    """Write ``chosen`` to the map of ``ks`` (see ``AsyncEtcdMap.apply``) and return the
    revision of the last Txn (0 when it writes nothing)."""
    if chosen.prefix != ks.name:
        raise ValueError(f"this plan is for map {chosen.prefix!r}, not {ks.name!r}: apply it there")
    if not chosen.writes:
        return 0
    what = f"apply of a plan at revision {chosen.revision} to map {ks.name!r}"
    ops, names, guards = plan_writes(chosen, ks, lease, atomic=atomic)
    write = BulkWrite(ops, names, limits, what=what, atomic=atomic, guards=guards)

    def conflict(response: TxnResponse) -> ConflictError:
        return ConflictError(
            f"{what}: keys it writes{' (or others under the prefix)' if atomic else ''} were "
            f"written since revision {chosen.revision}; this Txn wrote nothing (compute a new "
            "plan)",
            revision=response.header.revision,
        )

    return await send_bulk(client, write, conflict, timeout=timeout)


async def send_bulk(
    client: AsyncKV,
    write: BulkWrite,
    conflict: Callable[[TxnResponse], EtcdError] | None = None,
    *,
    timeout: float | None,
) -> int:
    """Send ``write``'s Txns (KV.Txn, each within ``timeout``) one after the other, and
    return the revision of the last (0 for none). A Txn whose compares failed raises
    ``conflict(response)``; a failure becomes what ``write.failed`` says (a
    ``PartialWriteError`` once part is written)."""
    while (batch := write.next()) is not None:
        try:
            response = await client.txn(write.compares(), batch, timeout=timeout)
            if not response.succeeded and conflict is not None:
                raise conflict(response)
        except EtcdError as error:
            failure = write.failed(error)
            if failure is None:
                continue
            if failure is error:
                raise
            raise failure from error
        write.done(response.header.revision)
    return write.revision


async def validate(view: AsyncCollectingView, codec: Any) -> list[InvalidEntry]:
    """Pass over a map's ``values(on_error="collect")`` ``view`` and make a record of each
    value that did not decode with ``codec`` (see ``AsyncEtcdMap.validate``)."""
    async for _ in view:
        pass
    return [
        invalid_entry(str(e.key), e.data or b"", e.revision or 0, codec, e) for e in view.errors
    ]
