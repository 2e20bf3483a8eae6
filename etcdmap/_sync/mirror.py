# Generated from etcdmap/_async/mirror.py by scripts/unasync: do not edit.
"""``Mirror``: a local copy of an etcd prefix kept equal to the server's by a watch.

Start: the prefix is listed in pages all read at one revision R, then watched from R + 1.
Every watch response is applied under the mirror's guard, all events of a revision at once,
so no reader sees half a transaction; ``revision`` is the server revision the copy equals.
A broken stream is resumed by the client's watch from ``revision + 1`` (no gap, no repeat);
when that revision was compacted the prefix is listed again at one revision, diffed against
the copy, and the diff is applied and emitted as one batch marked ``source="relist"``.
Progress requests confirm a quiet prefix is still watched (``last_confirmed``, ``lag``,
``state``): a mirror whose watch confirmed nothing for ``degraded_after`` seconds is
``DEGRADED``, and ``READY`` again once a read has told the server's revision and the watch has
brought the copy there. Subscribers run on workers of their own, never on the watch reader.

``Mirror`` composes parts with one job each around the sans-IO ``MirrorStore``, all built
on the map's public ``KeySpace``: the sync loop (``mirror_loop``: list, watch, resume), the
status (``mirror_status``: revisions, state, heartbeat, waits), the feeds (``mirror_feeds``),
the indexes (``_core.mirror_index``, kept by the store) and persistence
(``_core.mirror_file``). Writes go through ``EtcdMap``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, overload

from .._backends._mirror import Guard, MirrorBase
from .._backends.threads import settle
from .._core.changes import ChangeFilter
from .._core.checks import check_client, check_seconds
from .._core.errors import ClientClosedError, EtcdError
from .._core.frames import import_pandas, to_frame
from .._core.history import History
from .._core.mapping import MISSING, Preview, UpdateResult, local_preview
from .._core.mirror import (
    Batch,
    Consistency,
    InvalidValue,
    MirrorSnapshot,
    MirrorState,
    MirrorStore,
    Store,
    check_consistency,
)
from .._core.mirror_file import MirrorFile
from .._core.mirror_packed import PackedStore
from .._core.plan import Plan, plan_from_copy
from .._core.search import Search, search_local
from .._core.stats import Stats, StatsTally
from .._core.validate import InvalidEntry, invalid_entry
from ..codecs import Str
from .kv import WatchKV, watch_kv_of
from .mapping import EtcdMap
from .mirror_feeds import Changes, Feed, Feeds, MirrorSubscription
from .mirror_loop import MirrorLoop
from .mirror_status import MirrorStatus

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..codecs import Codec

__all__ = ["Changes", "Mirror", "MirrorSubscription"]

V = TypeVar("V")

#: Keys per Range while listing. etcd counts the rest of the range for every page (see
#: bench/mapping.py), so big pages list a large prefix much faster than etcd's usual 1000.
PAGE_SIZE = 10_000


class _MirrorOptions(TypedDict, total=False):
    """The options of ``Mirror`` that do not choose its value type (for its overloads)."""

    key_codec: Any
    consistency: Consistency
    keys_only: bool
    transform: Callable[[str, Any], Any] | None
    persist: str | os.PathLike[str] | None
    on_state_change: Callable[[MirrorState, MirrorState], Any] | None
    timeout: float
    progress_interval: float
    page_size: int
    lease: Any
    degraded_after: float
    start_jitter: float
    packed: bool


class Mirror(MirrorBase[V]):
    """A local copy of the keys under ``prefix``, kept equal to the server's by a watch.

    ``Mirror(client, prefix, *, value_type=None, codec=None, key_codec=None,
    consistency="session", keys_only=False, transform=None, persist=None,
    on_state_change=None, timeout=30.0, progress_interval=1.0, degraded_after=3.0,
    page_size=10000, start_jitter=0.0, packed=False)``;
    ``with Mirror(...) as m:`` starts it and waits until it is synced.

    The mapping reads (``m[key]``, ``key in m``, ``len(m)``, iteration and
    ``keys/values/items``) and ``lookup`` answer from the local copy now: no RPC, no waiting
    (docs/mirrors.md, "Same name, same meaning"). ``m.read(key)``, ``contains``, ``count``,
    ``snapshot`` and ``barrier`` first wait as their ``consistency`` (default the mirror's)
    says: ``"session"`` for this mirror's writes, ``"linearizable"`` for the server's current
    revision (one Txn, linearizable). While the mirror is ``DEGRADED`` (its watch is lost or
    silent: the server is down or unreachable) and its consistency is not ``"local"``, the
    mapping reads raise ``MirrorDegradedError`` at once (no I/O) rather than answer from a
    copy that may be stale; ``local_get``/``local_snapshot`` still answer from it, and a
    ``"session"`` or ``"linearizable"`` ``read`` first asks the server and fails fast with
    its ``EtcdError`` (``ConnectionFailedError``, ``DeadlineExceededError``...) when it does
    not answer. Writes (``set``, ``delete``, ``update``, ``clear``) go to the server through
    ``m.map`` (an ``EtcdMap`` over the same prefix and codec) and return once the copy
    shows them, so ``m[key]`` reads them back; after ``timeout`` seconds ``MirrorLagError``
    says the write WAS applied and carries its ``revision``. Values are stored decoded (then
    ``transform(key, value)``d); a value that does not decode is kept aside in ``invalid``.

    Parameters
    ----------
    consistency:
        What ``read``, ``contains``, ``count``, ``snapshot`` and ``barrier`` wait for by
        default: nothing (``"local"``), this mirror's writes (``"session"``) or the server's
        current revision (``"linearizable"``). With ``"local"`` the mapping reads also answer
        while the mirror is ``DEGRADED``.
    keys_only:
        Store keys only (every value None): the listing reads no values.
    transform:
        ``transform(key, value) -> stored``, applied to every value before it is stored
        (drop what you do not need to save memory); its errors quarantine the key.
    persist:
        A file path: the copy and its revision are loaded from it at start (then watched
        from the saved revision + 1; relisted as a diff if that was compacted) and saved to
        it on close, on ``save()`` and after every listing. Mirrors of one host (threads,
        processes) may share the file: a mirror lists only while holding an exclusive lock
        on ``<persist>.lock`` and, holding it, takes instead a copy another mirror saved
        that is newer than its own, so a fleet starting together lists once between them
        (docs/scale.md). Not with ``transform``.
    on_state_change:
        ``callback(old_state, new_state)``, run on a worker of its own.
    timeout:
        Default seconds for ``wait_synced``, ``wait_for`` and the wait of every write
        (``MirrorLagError`` after it), and the timeout of the mirror's own RPCs.
    progress_interval:
        Seconds between progress requests that confirm the watch is alive (at most a third
        of ``degraded_after``).
    degraded_after:
        The mirror turns ``DEGRADED`` at most this many seconds after its watch stream
        confirmed anything last (stream lost, server killed or stopped, network gone). It is
        ``READY`` again once a read (one Txn of count-only Ranges, linearizable) has told the
        server's current revision and the watch has brought the copy there and answered since.
        ``on_state_change`` sees each change.
    start_jitter:
        Seconds: the mirror starts loading after a random pause of up to this, so a fleet
        of mirrors started at once does not list the prefix all at the same moment.
    packed:
        Keep the copy packed for very large prefixes, trading read speed for memory: every
        key and its stored value bytes in shared buffers behind an index of the mirror's own
        (20-30 bytes per key over the raw key and value bytes, against ~100 for the
        default dict; docs/scale.md). Each read decodes the value again (a value
        that does not decode raises ``ValueDecodeError`` when read, not at load: ``invalid``
        stays empty), and ``local()`` is a read-only ``Mapping`` view, not the live dict.
        Not with ``keys_only``, ``transform``, ``persist`` or ``add_index``
        (``ValueError``).
    """

    # The value type a checker infers, as for ``EtcdMap``: ``bytes`` by default, ``T``
    # from ``value_type=T`` or a ``Codec[T]``, ``Any`` for a type that is no class.
    @overload
    def __init__(
        self: Mirror[bytes], client: WatchKV, prefix: bytes | str, *,
        value_type: None = None, codec: None = None, **options: Unpack[_MirrorOptions],
    ) -> None: ...
    @overload
    def __init__(
        self: Mirror[V], client: WatchKV, prefix: bytes | str, *,
        value_type: type[V], codec: None = None, **options: Unpack[_MirrorOptions],
    ) -> None: ...
    @overload
    def __init__(
        self: Mirror[V], client: WatchKV, prefix: bytes | str, *,
        value_type: None = None, codec: Codec[V], **options: Unpack[_MirrorOptions],
    ) -> None: ...
    @overload
    def __init__(
        self: Mirror[Any], client: WatchKV, prefix: bytes | str, *,
        value_type: Any = None, codec: Any = None, **options: Unpack[_MirrorOptions],
    ) -> None: ...
    def __init__(
        self,
        client: WatchKV,
        prefix: bytes | str,
        *,
        value_type: Any = None,
        codec: Any = None,
        key_codec: Any = None,
        consistency: Consistency = "session",
        keys_only: bool = False,
        transform: Callable[[str, Any], Any] | None = None,
        persist: str | os.PathLike[str] | None = None,
        on_state_change: Callable[[MirrorState, MirrorState], Any] | None = None,
        timeout: float = 30.0,
        progress_interval: float = 1.0,
        page_size: int = PAGE_SIZE,
        lease: Any = None,
        degraded_after: float = 3.0,
        start_jitter: float = 0.0,
        packed: bool = False,
    ) -> None:
        if persist is not None and transform is not None:
            raise ValueError("persist= saves the values the codec encodes: not with transform=")
        if packed:
            for name, given in (("keys_only", keys_only), ("transform", transform),
                                ("persist", persist)):  # fmt: skip
                if given:
                    raise ValueError(f"packed=True keeps stored values: not with {name}=")
        check_client(client, Mirror)
        if getattr(client, "_closed", False):
            raise ClientClosedError(f"{client!r} is closed: a mirror needs an open client")
        self.client = client
        timeout = check_seconds(timeout, "timeout")
        #: The map the mirror writes through; its RPCs are bounded by the mirror's ``timeout``
        #: (setting ``timeout`` sets the map's too; ``map.timeout`` can then be set apart).
        self.map: EtcdMap[V] = EtcdMap(
            client, prefix, value_type=value_type, codec=codec, key_codec=key_codec,
            page_size=page_size, lease=lease, timeout=timeout,
        )  # fmt: skip
        keyspace = self.map.keyspace
        self.prefix = keyspace.name
        self.codec = keyspace.codec
        self.consistency = check_consistency(consistency)
        self.keys_only = keys_only
        self.progress_interval = check_seconds(progress_interval, "progress_interval")
        self.degraded_after = check_seconds(degraded_after, "degraded_after")
        self._file = MirrorFile(persist, keyspace, keys_only)
        self.persist = self._file.path
        self._guard = Guard()
        self._store: Store = (
            PackedStore(
                keyspace.prefix, keyspace.key_codec.decode, keyspace.codec.decode,
                codec=keyspace.codec, guard=self._guard,
                utf8_keys=type(keyspace.key_codec) is Str,
            ) if packed else MirrorStore(
                keyspace.prefix, keyspace.key_codec.decode, keyspace.codec.decode,
                codec=keyspace.codec, keys_only=keys_only, transform=transform,
            )
        )  # fmt: skip
        self._feeds = Feeds()
        self._status = MirrorStatus(
            client, keyspace, self._store, self._guard, timeout=timeout,
            degraded_after=self.degraded_after,
            # Seconds between two heartbeats: a progress request, a look at the silence.
            beat=min(self.progress_interval, self.degraded_after / 3),
            on_change=self._state_changed,
        )  # fmt: skip
        #: Set once the copy has caught up with the server (after the load or a restore).
        self.synced = self._status.synced
        self._loop = MirrorLoop(
            client, keyspace, self._store, self._status, self._feeds, self._file,
            page_size=page_size, keys_only=keys_only,
            start_jitter=check_seconds(start_jitter, "start_jitter", zero=True),
        )  # fmt: skip
        self._on_state_change = on_state_change
        self._state_feed: Feed[tuple[MirrorState, MirrorState]] | None = None
        self._state_worker: MirrorSubscription | None = None
        self._started = False

    @classmethod
    def of_map(cls, m: EtcdMap[V], **options: Any) -> Mirror[V]:
        """An ``Mirror`` of the map ``m``'s prefix with its client, codec, key codec and
        lease (``with Mirror.of_map(m) as mirror:``); ``options`` go to the
        constructor. (A method here, not on the map, so the map module needs no mirror.)"""
        ks = m.keyspace
        return cls(
            watch_kv_of(m.client, "a mirror"), ks.argument, codec=ks.codec, key_codec=ks.key_codec,
            lease=m.lease, **options,
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.prefix!r}, {len(self._store.data)} keys, "
            f"revision={self.revision}, state={self.state.value})"
        )

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Mirror[V]:
        """Start loading and watching in the background (``wait_synced`` waits for it)."""
        if not self._started:
            self._started = True
            if self._on_state_change is not None:
                feed: Feed[Any] = Feed()
                self._state_feed = feed
                self._state_worker = MirrorSubscription(self._feeds, self._call_state, feed)
            self._loop.start()
        return self

    def _state_changed(self, old: MirrorState, new: MirrorState) -> None:
        if self._state_feed is not None:
            self._state_feed.inbox.put((old, new))

    def _call_state(self, change: tuple[MirrorState, MirrorState]) -> None:
        assert self._on_state_change is not None
        settle(self._on_state_change(*change))

    def close(self) -> None:
        """Stop watching, save the copy if ``persist`` is set, stop every subscriber and wake
        every waiter (they raise ``ClientClosedError``). The local copy stays readable."""
        if self.state is MirrorState.CLOSED:
            return
        self._loop.stop()
        if self.persist is not None and self.synced.is_set():
            self.save()
        self._status.close()
        self._feeds.close()
        if self._state_worker is not None:
            self._state_worker.cancel()

    def __enter__(self) -> Mirror[V]:
        self.start()
        try:
            self.wait_synced()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def wait_synced(self, timeout: float | None = None) -> None:
        """Wait until the copy has caught up with the server once (``TimeoutError`` naming
        the last error after ``timeout`` seconds, default the mirror's ``timeout``)."""
        self.start()
        self._status.wait_synced(timeout)

    # --- state --------------------------------------------------------------------------------

    @property
    def revision(self) -> int:
        """The server revision the local copy equals (0 before the first load)."""
        return self._store.revision

    @property
    def timeout(self) -> float:
        """Default seconds for ``wait_synced``, ``wait_for`` and the wait of every write, and
        the timeout of the mirror's own RPCs (settable)."""
        return self._status.timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self._status.timeout = self.map.timeout = check_seconds(seconds, "timeout")

    @property
    def lag(self) -> int:
        """The latest server revision seen (responses, progress notifications) minus
        ``revision``: 0 when the copy is known to be current."""
        return self._status.lag

    @property
    def state(self) -> MirrorState:
        """``SYNCING``, ``READY``, ``DEGRADED``, ``RELISTING`` or ``CLOSED`` (see
        ``MirrorState``)."""
        return self._status.state

    @property
    def error(self) -> EtcdError | None:
        """The error of the last failed attempt to list or watch (None while all is well)."""
        return self._status.error

    @property
    def last_confirmed(self) -> float | None:
        """``time.time()`` of the last response from the watch (event or progress) or of the
        last read that proved the copy current (through etcd's gRPC proxy), or None."""
        return self._status.last_confirmed

    @property
    def relists(self) -> int:
        """How many relists the mirror did after a compaction (the first load not counted)."""
        return self._loop.relists

    @property
    def invalid(self) -> dict[str, InvalidValue]:
        """The keys whose value does not decode (a copy): each with its bytes, error and
        mod_revision. They are not in the mapping."""
        with self._guard:
            return dict(self._store.invalid)

    # --- waiting ------------------------------------------------------------------------------

    def wait_for(self, revision: int, timeout: float | None = None) -> int:
        """Wait until the copy has reached ``revision`` (a write made elsewhere) and return
        the mirror's revision. Progress requests move a quiet prefix along. ``TimeoutError``
        naming the lag after ``timeout`` seconds (default the mirror's ``timeout``),
        ``ClientClosedError`` if the mirror closes meanwhile."""
        return self._status.wait_for(revision, timeout)

    def barrier(self, consistency: Consistency | None = None) -> int:
        """Wait as ``consistency`` (default the mirror's) says, then return the revision
        local reads now answer at: ``"local"`` waits for nothing, ``"session"`` for this
        mirror's writes, ``"linearizable"`` for the server's current revision (one
        count-only Range, linearizable, on the prefix). While the mirror is ``DEGRADED`` the
        last two first read the server's revision (one Txn, linearizable), so they raise its
        ``EtcdError`` within a heartbeat when the server does not answer."""
        mode = self.consistency if consistency is None else check_consistency(consistency)
        return self._status.barrier(mode)

    # --- local reads --------------------------------------------------------------------------

    def local(self) -> Mapping[str, V]:
        """The live local dict (read-only use; it changes as batches are applied); with
        ``packed=True`` a read-only view of the live copy that decodes on each read."""
        return self._store.data

    def local_get(self, key: str, default: Any = None) -> Any:
        """``key``'s value in the local copy now, or ``default`` (no waiting, no RPC)."""
        return self._store.data.get(key, default)

    def local_snapshot(self) -> MirrorSnapshot:
        """A copy of the local content with its revision, taken atomically (no RPC)."""
        with self._guard:
            return MirrorSnapshot(self._store.revision, dict(self._store.data))

    def read(
        self, key: str, default: Any = MISSING, *, consistency: Consistency | None = None
    ) -> Any:
        """``key``'s value after waiting as ``consistency`` says; ``KeyError`` if missing and
        no ``default`` is given."""
        self.barrier(consistency)
        value = self._store.data.get(key, default)
        if value is MISSING:
            raise KeyError(key)
        return value

    def contains(self, key: object, *, consistency: Consistency | None = None) -> bool:
        """Whether ``key`` is in the copy, after waiting as ``consistency`` says."""
        self.barrier(consistency)
        return key in self._store.data

    def count(self, *, consistency: Consistency | None = None) -> int:
        """The number of keys (O(1)), after waiting as ``consistency`` says."""
        self.barrier(consistency)
        return len(self._store.data)

    def snapshot(self, *, consistency: Consistency | None = None) -> MirrorSnapshot:
        """A copy of the content at one revision, after waiting as ``consistency`` says."""
        self.barrier(consistency)
        return self.local_snapshot()

    # --- indexes ------------------------------------------------------------------------------

    def add_index(self, name: str, fn: Callable[[str, Any], Any]) -> None:
        """Maintain index ``name``: ``fn(key, value)`` gives the index values of a key (one
        str/bytes/number, an iterable of them, or None). Built now from the copy, then kept
        up to date with every batch before subscribers see it. ``fn`` must be deterministic."""
        with self._guard:
            self._store.add_index(name, fn)

    def lookup(self, name: str, value: Hashable) -> dict[str, V]:
        """The keys (with their values) whose index ``name`` holds ``value`` (local)."""
        with self._guard:
            data = self._store.data
            return {key: data[key] for key in self._store.lookup(name, value)}

    # --- events -------------------------------------------------------------------------------

    def subscribe(
        self,
        callback: Callable[[Batch], Any],
        *,
        debounce: float = 0.0,
        max_wait: float | None = None,
        keys: Iterable[str] | None = None,
        prefix: str | None = None,
        only_changes: bool = True,
    ) -> MirrorSubscription:
        """Call ``callback(batch)`` for every batch applied from now on (one per revision,
        or one per quiet period of ``debounce`` seconds, at most ``max_wait`` apart), from a
        worker of its own: never on the watch reader; a callback that raises is logged and
        the mirror goes on. Returns a handle with ``cancel()``.

        A batch holds only the changes of ``keys`` and of the keys under ``prefix``
        (relative to the mirror's; every key when neither is given) and, with
        ``only_changes`` (the default), no put that stored a value equal to the one before;
        a batch left with no change is not delivered. A value that does not decode arrives
        as an ``INVALID`` change carrying the error."""
        feed = self._feeds.attach(debounce, max_wait)
        chosen = ChangeFilter(keys, prefix, only_changes).wrap(callback)
        return MirrorSubscription(self._feeds, chosen, feed)

    def changes(self, *, debounce: float = 0.0, max_wait: float | None = None) -> Changes:
        """An iterator of the batches applied from now on (``debounce`` as for
        ``subscribe``); it ends when the mirror closes. Unconsumed batches are queued."""
        return Changes(self._feeds, self._feeds.attach(debounce, max_wait))

    # --- search, stats, change feeds and views --------------------------------------------

    def search(
        self, pattern: str, *, keys: bool = True, values: bool = False, regex: bool = False
    ) -> Iterator[tuple[str, V]]:
        """``EtcdMap.search`` over the local copy (no RPC): the matching ``(key,
        value)`` pairs of an atomic copy, in key order. ``MirrorDegradedError`` as for the
        mapping reads."""
        search = Search(pattern, keys=keys, values=values, regex=regex)
        if values and self.keys_only:
            raise ValueError("a keys_only mirror holds no values to search: values=False")
        self._copy()
        return search_local(self.local_snapshot().data, search)

    def stats(self, depth: int = 1, *, values: bool | None = None) -> Stats:
        """``EtcdMap.stats`` of the local copy (no RPC). The mirror keeps decoded
        values, not their bytes, so value bytes are what the codec encodes each value to
        (the cost of encoding the copy once); ``values`` defaults to whether the mirror
        holds values as stored (not with ``keys_only`` or ``transform``), where only keys
        are counted."""
        stored = not (self.keys_only or self._store.transform)
        if values and not stored:
            raise ValueError("this mirror does not hold values as stored: values=False")
        snapshot = self.local_snapshot()
        tally = StatsTally(self.map.keyspace, depth, stored if values is None else values)
        tally.add_local(snapshot.data)
        return tally.result(snapshot.revision)

    def to_pandas(self, depth: int = 2) -> Any:
        """``EtcdMap.to_pandas`` of the local copy (no RPC), in key order; no
        ``mod_revision`` column (the mirror keeps one revision for the whole copy, in
        ``attrs["revision"]``)."""
        import_pandas()
        snapshot = self.local_snapshot()
        data = snapshot.data
        return to_frame(((key, data[key], None) for key in sorted(data)), snapshot.revision, depth)

    def preview(self, limit: int = 10) -> Preview:
        """The count and the first ``limit`` keys of the local copy with their values (no
        RPC): what the notebook and IPython displays show."""
        with self._guard:
            return local_preview(
                f"{type(self).__name__} [{self.state.value}]", self.prefix, self.codec,
                self._store.data, self.revision, limit,
            )  # fmt: skip

    def _repr_html_(self) -> str:
        return self.preview()._repr_html_()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self) if cycle else self.preview().text())

    def _ipython_key_completions_(self) -> list[str]:
        with self._guard:
            return sorted(self._store.data)

    # --- writes -------------------------------------------------------------------------------

    def set(self, key: str, value: V, *, ttl: float | None = None, lease: Any = None) -> int:
        """Store ``value`` under ``key`` (one Put, through ``map``) and return its revision
        once the local copy shows it; ``MirrorLagError`` (the write WAS applied) if that takes
        longer than ``timeout``.

        Parameters
        ----------
        key:
            The key, relative to the prefix.
        value:
            The value, encoded by the mirror's codec.
        ttl:
            Attach the key to a new lease of ``ttl`` seconds (one LeaseGrant first).
        lease:
            Attach the key to this lease (an id or a ``Lease``); default the map's.
        """
        return self._status.wrote(self.map.set(key, value, ttl=ttl, lease=lease))

    def delete(self, key: str) -> int:
        """Delete ``key`` (one DeleteRange; ``KeyError`` if it did not exist) and return the
        revision once the local copy shows it (``MirrorLagError`` as for ``set``)."""
        return self._status.wrote(self.map.delete(key))

    def update(  # type: ignore[override, unused-ignore]
        self,
        other: Mapping[str, V] | Iterable[tuple[str, V]] = (),
        /,
        *,
        atomic: bool = False,
        **kwargs: V,
    ) -> UpdateResult:
        """``EtcdMap.update`` (Txns planned under the server's limits; ``atomic`` and
        ``PartialWriteError`` as there), returning once applied."""
        result = self.map.update(other, atomic=atomic, **kwargs)
        if result.revision:
            self._status.wrote(result.revision)
        return result

    def clear(self) -> int:  # type: ignore[override, unused-ignore]
        """Delete every key under the prefix (one DeleteRange) and return the count once the
        mirror has applied it."""
        deleted = self.map.clear()
        self._status.wrote(self.map.revision)
        return deleted

    # --- history, plans and validation ------------------------------------------------------

    def history(
        self, key: str, *, since: int | None = None, timeout: float | None = None
    ) -> History[V]:
        """``EtcdMap.history`` of the mirror's map (a Range, then a watch replay)."""
        return self.map.history(key, since=since, timeout=timeout)

    def value_at(self, key: str, revision: int, default: Any = MISSING) -> Any:
        """``EtcdMap.value_at`` of the mirror's map (one Range at ``revision``)."""
        return self.map.value_at(key, revision, default)

    def restore(self, key: str, revision: int) -> int:
        """``EtcdMap.restore`` (``ConflictError`` as there), returning once the copy
        shows the write (``MirrorLagError`` as for ``set``)."""
        return self._status.wrote(self.map.restore(key, revision))

    def restore_prefix(
        self, revision: int, *, dry_run: bool = False, atomic: bool = False
    ) -> Plan:
        """``EtcdMap.restore_prefix``, returning once the copy shows the writes."""
        plan = self.map.restore_prefix(revision, dry_run=dry_run, atomic=atomic)
        if plan.writes and not dry_run:
            self._status.wrote(self.map.revision)
        return plan

    def plan(
        self, document: Mapping[str, Any], *, prune: bool = False, flatten: str | None = None
    ) -> Plan:
        """``EtcdMap.plan`` computed from the local copy, after waiting as the mirror's
        ``consistency`` says (no Range); guarded, when applied, by the copy's revision. A
        ``keys_only`` mirror, or one with a ``transform``, asks the map (a paged pass)."""
        if self.keys_only or self._store.transform is not None:
            return self.map.plan(document, prune=prune, flatten=flatten)
        self.barrier()
        with self._guard:
            store = self._store
            revision, data, invalid = store.revision, dict(store.data), dict(store.invalid)
        return plan_from_copy(
            self.map.keyspace, document, prune=prune, flatten=flatten, revision=revision,
            data=data, invalid=invalid,
        )  # fmt: skip

    def apply(
        self,
        document: Mapping[str, Any] | Plan,
        *,
        prune: bool = False,
        atomic: bool = True,
        dry_run: bool = False,
        flatten: str | None = None,
    ) -> Plan:
        """``EtcdMap.apply`` of a plan from the local copy (``plan``), or of the
        ``Plan`` given, returning once the copy shows the writes.

        Parameters
        ----------
        document:
            A mapping of keys to values, or a ``Plan`` of this mirror or its map.
        prune, atomic, dry_run, flatten:
            As for ``EtcdMap.apply``.
        """
        chosen = (
            document if isinstance(document, Plan)
            else self.plan(document, prune=prune, flatten=flatten)
        )  # fmt: skip
        self.map.apply(chosen, atomic=atomic, dry_run=dry_run)
        if chosen.writes and not dry_run:
            self._status.wrote(self.map.revision)
        return chosen

    def validate(self) -> list[InvalidEntry]:
        """An ``InvalidEntry`` for every key of the copy whose value does not decode (or whose
        ``transform`` failed), in key order, after waiting as ``consistency`` says (no RPC)."""
        self.barrier()
        codec = self.map.codec
        return [
            invalid_entry(key, bad.data, bad.revision, codec, bad.error)
            for key, bad in sorted(self.invalid.items())
        ]

    # --- persistence --------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write the copy and its revision to ``path`` (default ``persist``) atomically
        (a temporary file renamed over it). A blocking file write, no RPC."""
        return self._loop.save(path)
