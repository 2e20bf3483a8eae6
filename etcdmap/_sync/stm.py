# Generated from etcdmap/_async/stm.py by scripts/unasync: do not edit.
"""``stm()``: software transactional memory over KV.Txn, as Go's ``concurrency.NewSTM``."""

from __future__ import annotations

from collections.abc import Sequence

from .._core.concurrency import STMBody, Isolation
from .._core.results import TxnResponse
from .concurrency import STM, run_stm
from .kv import KV

__all__ = ["STMService"]


class STMService(KV):
    """The ``stm`` method of ``Client`` (over any other KV: ``run_stm(kv, fn)``)."""

    def stm(
        self,
        fn: STMBody[STM],
        *,
        isolation: Isolation = "serializable_snapshot",
        prefetch: Sequence[bytes | str] = (),
        retries: int | None = None,
    ) -> TxnResponse:
        """Run ``fn(stm)`` as one atomic multi-key transaction, retried on conflict.

        ``fn`` reads with ``stm.get(key)`` / ``stm.rev(key)`` (a KV.Txn of
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

            def transfer(stm):
                a = int(stm.get("/acct/a") or 0)
                b = int(stm.get("/acct/b") or 0)
                stm.put("/acct/a", str(a - 10))
                stm.put("/acct/b", str(b + 10))

            client.stm(transfer, isolation="serializable")
        """
        return run_stm(self, fn, isolation=isolation, prefetch=prefetch, retries=retries)
