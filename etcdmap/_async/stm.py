"""``stm()``: software transactional memory over KV.Txn, as Go's ``concurrency.NewSTM``."""

from __future__ import annotations

from collections.abc import Sequence

from .._core.concurrency import AsyncSTMBody, Isolation
from .._core.results import TxnResponse
from .concurrency import AsyncSTM, run_stm
from .kv import AsyncKV

__all__ = ["AsyncSTMService"]


class AsyncSTMService(AsyncKV):
    """The ``stm`` method of ``AsyncClient`` (over any other KV: ``run_stm(kv, fn)``)."""

    async def stm(
        self,
        fn: AsyncSTMBody[AsyncSTM],
        *,
        isolation: Isolation = "serializable_snapshot",
        prefetch: Sequence[bytes | str] = (),
        retries: int | None = None,
    ) -> TxnResponse:
        """Run ``fn(stm)`` as one atomic multi-key transaction, retried on conflict.

        ``fn`` reads with ``await stm.get(key)`` / ``await stm.rev(key)`` (a KV.Txn of
        Ranges, each key once per attempt: as Go, linearizable for an attempt's first read
        and serializable at its revision after it in the serializable levels, serializable
        in the others) and writes with ``stm.put(key, value)`` / ``stm.delete(key)``
        (buffered). Then one KV.Txn commits the writes if the isolation level's conditions
        hold; otherwise ``fn`` runs again from scratch, so it must have no other side
        effects. Returns the commit's ``TxnResponse``; an error
        raised by ``fn`` or an RPC ends the STM.

        Parameters
        ----------
        isolation:
            Go's levels: ``"serializable_snapshot"`` (the default: reads at the revision of
            the first read; no key read or written may have changed since),
            ``"serializable"`` (the same reads; keys read must be unchanged),
            ``"repeatable_reads"`` (each key read once at the latest revision; keys read
            must be unchanged) and ``"read_committed"`` (no check: updates may be lost).
        prefetch:
            Keys read at the start of every attempt, in one round trip.
        retries:
            Give up with ``ConflictError`` after this many conflicts; None retries until
            the commit succeeds (as Go).

        Examples
        --------
        ::

            async def transfer(stm):
                a = int(await stm.get("/acct/a") or 0)
                b = int(await stm.get("/acct/b") or 0)
                stm.put("/acct/a", str(a - 10))
                stm.put("/acct/b", str(b + 10))

            await client.stm(transfer, isolation="serializable")
        """
        return await run_stm(self, fn, isolation=isolation, prefetch=prefetch, retries=retries)
