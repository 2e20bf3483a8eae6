"""``copy_prefix(source, destination, prefix)``: the copy handle matching the clients' flavour."""

from __future__ import annotations

import os
from typing import overload

from ._async.client import AsyncClient
from ._async.syncer import RETRY_TIMEOUT, AsyncPrefixCopy, ProgressCallback
from ._core.bulk import MAX_REQUEST_BYTES, MAX_TXN_OPS
from ._sync.client import Client
from ._sync.syncer import PrefixCopy

__all__ = ["copy_prefix"]


@overload
def copy_prefix(
    source: AsyncClient,
    destination: AsyncClient,
    prefix: bytes | str,
    dest_prefix: bytes | str | None = None,
    *,
    progress: ProgressCallback | None = None,
    state_file: str | os.PathLike[str] | None = None,
    timeout: float = 10.0,
    retry_timeout: float | None = RETRY_TIMEOUT,
    max_txn_ops: int = MAX_TXN_OPS,
    max_request_bytes: int = MAX_REQUEST_BYTES,
) -> AsyncPrefixCopy: ...


@overload
def copy_prefix(
    source: Client,
    destination: Client,
    prefix: bytes | str,
    dest_prefix: bytes | str | None = None,
    *,
    progress: ProgressCallback | None = None,
    state_file: str | os.PathLike[str] | None = None,
    timeout: float = 10.0,
    retry_timeout: float | None = RETRY_TIMEOUT,
    max_txn_ops: int = MAX_TXN_OPS,
    max_request_bytes: int = MAX_REQUEST_BYTES,
) -> PrefixCopy: ...


def copy_prefix(
    source: AsyncClient | Client,
    destination: AsyncClient | Client,
    prefix: bytes | str,
    dest_prefix: bytes | str | None = None,
    *,
    progress: ProgressCallback | None = None,
    state_file: str | os.PathLike[str] | None = None,
    timeout: float = 10.0,
    retry_timeout: float | None = RETRY_TIMEOUT,
    max_txn_ops: int = MAX_TXN_OPS,
    max_request_bytes: int = MAX_REQUEST_BYTES,
) -> AsyncPrefixCopy | PrefixCopy:
    """Copy ``prefix`` from ``source`` to ``destination`` and keep it in step until stopped
    (``etcdctl make-mirror``; Go's mirror Syncer underneath).

    Returns the running copy: ``PrefixCopy`` for two ``Client``, ``AsyncPrefixCopy`` for two
    ``AsyncClient`` (call it from the event loop that uses them). The prefix is read page by
    page at one revision (KV.Range, linearizable) and written to the destination in
    transactions (KV.Txn) planned under ``max_txn_ops`` and ``max_request_bytes``, under
    ``dest_prefix`` (default: the same prefix); destination keys the source lacks are
    deleted. Then every change is applied in
    source order from a watch (Watch.Watch from that revision + 1). Both sides may restart;
    with ``state_file`` a new copy resumes from the saved revision (copying everything again
    only if the source was compacted past it).

    Parameters
    ----------
    progress:
        Called with a ``CopyProgress`` after every page and every applied batch.
    state_file:
        Path of a small JSON file recording how far the copy got.
    timeout:
        Seconds for each RPC before it counts as failed (and is tried again).
    retry_timeout:
        Seconds the copy keeps trying again while a side is unreachable, from the first
        failure in a row (60 by default; None: for ever). Then it ends: ``wait_for`` raises
        a ``PartialWriteError`` saying which keys the pass wrote and the source revision the
        destination is complete up to (see ``PrefixCopy``). Each failure and the recovery
        are logged (one WARNING line per outage) and reported to ``progress``.
    max_txn_ops, max_request_bytes:
        The destination's ``--max-txn-ops`` and ``--max-request-bytes`` (etcd's defaults,
        128 and 1.5 MiB); a source value too large for one Txn ends the copy with
        ``RequestTooLargeError`` naming its key, before its page is written.

    Example::

        with etcdmap.copy_prefix(src, dst, "/config/", state_file="mirror.json") as copy:
            copy.wait_for(src.put("/config/mode", "fast").header.revision, timeout=10)
    """
    if isinstance(source, AsyncClient) and isinstance(destination, AsyncClient):
        return AsyncPrefixCopy(
            source, destination, prefix, dest_prefix, progress=progress,
            state_file=state_file, timeout=timeout, retry_timeout=retry_timeout,
            max_txn_ops=max_txn_ops,
            max_request_bytes=max_request_bytes,
        ).start()
    if isinstance(source, Client) and isinstance(destination, Client):
        return PrefixCopy(
            source, destination, prefix, dest_prefix, progress=progress,
            state_file=state_file, timeout=timeout, retry_timeout=retry_timeout,
            max_txn_ops=max_txn_ops,
            max_request_bytes=max_request_bytes,
        ).start()
    raise TypeError(
        "copy_prefix() needs two Client or two AsyncClient, not "
        f"{type(source).__name__} and {type(destination).__name__}"
    )
