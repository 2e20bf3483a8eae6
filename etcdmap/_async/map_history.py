"""History, past values and restores of an ``AsyncEtcdMap``'s keys (the map's ``history``,
``value_at``, ``restore`` and ``restore_prefix`` call these). A key's history is replayed by
one watch from a past revision: a response per page of up to 1,000 changes, not a Range per
version (see ``etcdmap._core.history``)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .._backends.asyncio import Event
from .._core import map_writes as writes
from .._core.checks import check_count, check_timeout
from .._core.errors import CompactedError, ConflictError, DeadlineExceededError, EtcdError
from .._core.history import QUIET, History, HistoryReplay, version_of, versions_of
from .._core.keyspace import KeySpace
from .._core.kv import LeaseLike
from .._core.map_writes import first_kv
from .kv import AsyncKV, AsyncWatches, watch_kv_of

if TYPE_CHECKING:
    from .._core.watch import WatchResponse

__all__ = ["history", "restore"]

#: Seconds ``history()`` may take by default (a replay reads 1,000 changes per 100 ms).
HISTORY_TIMEOUT = 60.0


async def history(
    client: AsyncKV, ks: KeySpace[Any], key: str, since: int | None, timeout: float | None,
    *, rpc_timeout: float | None,
) -> History[Any]:  # fmt: skip
    """The history of ``key`` of the map of ``ks`` (see ``AsyncEtcdMap.history``): the
    whole read within ``timeout``, each Range within ``rpc_timeout``."""
    if since is not None:
        check_count(since, "since", minimum=1)
    seconds = check_timeout(timeout)
    watches = watch_kv_of(client, "history()")
    full = ks.full(key)
    deadline = time.monotonic() + (HISTORY_TIMEOUT if seconds is None else seconds)
    now = await client.get(full, timeout=rpc_timeout)
    current, revision = first_kv(now), now.header.revision

    def decode(kv: Any) -> Any:
        return ks.decode(key, kv)

    start = 1 if since is None else since
    try:
        replay = await _replay(watches, full, HistoryReplay(revision, current, start), deadline)
        return History(key, versions_of(replay.events, decode), revision, start, True, replay.pages)
    except CompactedError as error:
        compacted = error.compact_revision or 0
        if since is not None or not compacted:
            raise CompactedError(
                f"history of {key!r} in map {ks.name!r} from revision {start}: the store is "
                f"compacted up to revision {compacted}, where its history starts now; "
                "history(key) without since= gives what is left",
                compact_revision=compacted, code=error.code, details=error.details,
                endpoint=error.endpoint,
            ) from error  # fmt: skip
    # The key as the compaction left it: its latest version at that revision survives.
    survivor = first_kv(await client.get(full, revision=compacted, timeout=rpc_timeout))
    replay = await _replay(watches, full, HistoryReplay(revision, current, compacted), deadline)
    first = [version_of(survivor, decode)] if survivor and survivor.mod_revision < compacted else []
    versions = first + versions_of(replay.events, decode)
    return History(key, versions, revision, compacted, False, replay.pages)


class _Inbox:
    """What the history's watch callback delivers, taken in batches by the reader."""

    def __init__(self) -> None:
        self._items: list[WatchResponse | EtcdError] = []
        self._ready = Event()

    def put(self, item: WatchResponse | EtcdError) -> None:
        self._items.append(item)
        self._ready.set()  # read after the append: the event take() made, or a newer one

    def take(self) -> list[WatchResponse | EtcdError]:
        self._ready = Event()  # before the swap: an item appended after it sets this one
        items, self._items = self._items, []
        return items

    async def wait(self, timeout: float) -> bool:
        return await self._ready.wait(timeout)


async def _replay(
    watches: AsyncWatches, full: bytes, replay: HistoryReplay, deadline: float
) -> HistoryReplay:
    """Feed ``replay`` from a watch of ``full`` from its start until it is done."""
    if replay.done:
        return replay
    inbox = _Inbox()
    handle = await watches.add_watch_callback(
        full, inbox.put, start_revision=replay.start,
        timeout=max(0.0, deadline - time.monotonic()),
    )  # fmt: skip
    try:
        while not replay.done:
            items = inbox.take()
            for item in items:
                if isinstance(item, EtcdError):
                    raise item
                replay.feed(item)
            if items or replay.done:
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeadlineExceededError(
                    f"history of {full!r}: not read within the timeout ({len(replay.events)} "
                    f"changes up to revision {replay.now} read so far)"
                )
            quiet = replay.needs_quiet
            if not await inbox.wait(min(left, QUIET) if quiet else left) and quiet:
                replay.quiet()
    finally:
        await handle.cancel()
    return replay


async def restore(
    client: AsyncKV, ks: KeySpace[Any], key: str, revision: int, lease: LeaseLike, *,
    timeout: float | None,
) -> int:  # fmt: skip
    """Restore ``key`` of the map of ``ks`` (see ``AsyncEtcdMap.restore``), each RPC within
    ``timeout``."""
    check_count(revision, "revision", minimum=1)
    full = ks.full(key)
    then = first_kv(await client.get(full, revision=revision, timeout=timeout))
    response = await client.get(full, timeout=timeout)
    current = first_kv(response)
    if (then is None and current is None) or (
        then is not None and current is not None and then.value == current.value
    ):
        return response.header.revision  # it already is as it was
    read = current.mod_revision if current is not None else 0
    if then is None:
        plan = writes.delete_if_unchanged(full, read)
    else:
        plan = writes.put_if_unchanged(full, then.value, read, lease)
    reply = await client.txn(plan.compare, plan.success, plan.failure, timeout=timeout)
    attempt = plan.result(reply)
    if not attempt.written:
        now = attempt.current
        raise ConflictError(
            f"restore({key!r}, {revision}) on map {ks.name!r}: the key changed since it was "
            f"read at mod_revision {read} (now {now.mod_revision if now else 'deleted'}); "
            "nothing was written",
            key=key, revision=now.mod_revision if now else 0,
        )  # fmt: skip
    return attempt.revision
