# Generated from etcdmap/_async/leasing.py by scripts/unasync: do not edit.
"""The leasing KV (Go's ``clientv3/leasing``): reads served from memory while this client
holds a key's leasing key; the protocol is in ``_core.leasing``."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any, TypeVar, cast

import msgspec

from .._backends.threads import Lock
from .._core.checks import check_client, check_ttl
from .._core.concurrency import delete_owned_txn
from .._core.errors import DeadlineExceededError, EtcdError, SessionExpiredError
from .._core.keys import to_bytes
from .._core.kv import Op
from .._core.leasing import (
    LeasingCache,
    acquire_result,
    acquire_txn,
    conflicts,
    guarded_txn,
    is_plain_get,
    put_result,
    revoke_target,
    revoke_txn,
    with_prev_kv,
    written_keys,
)
from .._core.results import (
    DeleteResponse,
    GetResponse,
    PutResponse,
    TxnResponse,
)
from .._core.watch import EventType, WatchResponse
from .concurrency import Session, _deadline, _left, _wait_delete
from .kv import KV, WatchKV
from .watch import WatchCallback

__all__ = ["LeasingKV"]

log = logging.getLogger("etcdmap.leasing")
_Response = TypeVar("_Response")

#: A modification revision past any real one: the cached value of a key marked with it is
#: never served (its watch failed), though the key stays held.
_NEVER_FRESH = 2**63 - 1


class LeasingKV(KV):
    """KV calls on ``client`` whose single-key reads are served from a local cache while this
    client holds the key's leasing key ``<leasing_prefix><key>`` (Go's leasing package).

    ``LeasingKV(client, leasing_prefix, *, session_ttl=60)``; ``start()`` (done by
    ``with``) grants the session lease (Lease.LeaseGrant, kept alive on the client's
    shared stream) and watches the leasing prefix. Every participant must use the same
    ``leasing_prefix``, and it must not overlap the keys it leases.

    It is a KV (``KV``): every KV method runs through ``do``.

    - ``get(key)`` without options: served from memory if the key is held and nothing newer
      is known (no RPC); otherwise one Txn that reads the key linearizably and takes its
      leasing key if nobody holds it and the key has no lease. With any option it is a plain
      ``client.get`` (KV.Range).
    - ``put``, ``delete`` (one key: ``delete_prefix`` and ranges are a ``ValueError``) and
      ``txn``: one Txn guarded on the leasing keys of the written
      keys. If another leasing client holds one, it is asked to give it up (its leasing key
      gets the value ``"REVOKE"``; that client drops its cached value, then deletes the
      leasing key) and the write is retried once the leasing key is gone, so no leasing
      client keeps reading a value older than an acknowledged write. ``timeout`` bounds the
      whole write, waits included (``DeadlineExceededError``).
    - Writes by plain clients are not coordinated: the holder learns of them from its watch
      on the key and stops serving the cached value when the event arrives.
    - ``compact`` passes through.
    - A key the holder was asked to give up is not taken again for 2 s. If the session lease
      is lost, the cache is emptied and a new session is granted on the next call.
    - ``close()`` stops the watches and revokes the session lease, releasing every leasing
      key at once.

    Example::

        with LeasingKV(client, "/leasing/") as kv:
            kv.put("/config/mode", "fast")
            (kv.get("/config/mode")).kvs  # a Txn the first time, then from memory
    """

    def __init__(
        self, client: WatchKV, leasing_prefix: bytes | str, *, session_ttl: int = 60
    ) -> None:
        check_client(client, LeasingKV)
        self.client = client
        self.prefix = to_bytes(leasing_prefix, "leasing_prefix")
        if not self.prefix:
            raise ValueError("leasing_prefix must not be empty")
        self.session_ttl = check_ttl(session_ttl, "session_ttl")
        self._session: Session | None = None
        self._cache = LeasingCache()
        self._lock = Lock()
        self._session_lock = Lock()
        self._key_watches: dict[bytes, WatchCallback] = {}
        self._revokes: WatchCallback | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.prefix!r}, held={len(self._cache)})"

    @property
    def held(self) -> int:
        """How many keys this client holds (and may serve from memory)."""
        return len(self._cache)

    def start(self, *, timeout: float | None = None) -> LeasingKV:
        """Watch the leasing prefix and grant the session lease (Lease.LeaseGrant); a no-op
        once started. ``DeadlineExceededError`` if the server has not done both within
        ``timeout`` seconds (None: wait as long as it takes)."""
        self._live_session(_deadline(timeout))
        return self

    def _live_session(self, deadline: float | None) -> Session:
        """The session, started, or a new one if its lease was lost (the cache is emptied);
        both steps are bounded by ``deadline``."""
        with self._session_lock:
            if self._closed:
                raise SessionExpiredError(f"{self!r} is closed")
            session = self._session
            if session is not None and not session.done.is_set():
                return session
            if session is not None:
                log.warning("leasing session %r ended; dropping the cache", session)
                self._forget_all()
            if self._revokes is None:
                self._revokes = self.client.add_watch_callback(
                    self.prefix, self._on_leasing_event, prefix=True, filters=["nodelete"],
                    timeout=_left(deadline),
                )
            session = Session(self.client, self.session_ttl)
            self._session = session.start(timeout=_left(deadline))
            return session

    def _forget_all(self) -> None:
        with self._lock:
            self._cache.clear()
            handles = list(self._key_watches.values())
            self._key_watches.clear()
        for handle in handles:
            handle.cancel()

    def close(self) -> None:
        """Stop watching and revoke the session lease (Lease.LeaseRevoke), which deletes
        every leasing key of this client. Safe to call twice."""
        with self._session_lock:
            self._closed = True
            revokes, self._revokes = self._revokes, None
            session, self._session = self._session, None
        if revokes is not None:
            revokes.cancel()
        self._forget_all()
        if session is not None:
            session.close()

    def __enter__(self) -> LeasingKV:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _leasing_key(self, key: bytes) -> bytes:
        return self.prefix + key

    # --- reads ---------------------------------------------------------------------------

    def do(self, op: Op[_Response], *, timeout: float | None = None) -> _Response:
        """Run ``op``: a plain ``Op.get`` of one key (no option) linearizably from memory
        while the key is held (no RPC), else by the acquire Txn (or KV.Range while the key
        is held but its cached value is stale, or was revoked lately); an ``Op.get`` with
        options is a plain KV.Range. ``Op.put``, ``Op.delete`` (one key; a range is a
        ``ValueError``) and ``Op.txn`` run in one Txn guarded on the leasing keys of the keys
        they write (see the class); ``Op.compact`` passes through."""
        kind = op.kind
        result: Any
        if kind == "get":
            result = self._get(op, timeout)
        elif kind == "compact":
            result = self.client.do(op, timeout=timeout)
        elif kind == "put":
            result = self._put(op, timeout)
        elif kind == "delete":
            result = self._delete(op, timeout)
        else:
            result = self._txn(op, timeout)
        return cast(_Response, result)

    def _get(self, op: Op[Any], timeout: float | None) -> GetResponse:
        response: GetResponse
        if not is_plain_get(op):
            response = self.client.do(op, timeout=timeout)
            return response
        key: bytes = op.request.key
        deadline = _deadline(timeout)
        session = self._live_session(deadline)
        with self._lock:
            cached = self._cache.get(key)
            held = self._cache.owned(key)
            may_acquire = self._cache.may_acquire(key, time.monotonic())
        if cached is not None:
            return cached
        if not may_acquire:
            response = self.client.do(op, timeout=_left(deadline))
            if held:
                with self._lock:
                    self._cache.fill(key, response)
            return response
        return self._acquire(key, session, deadline)

    def _acquire(
        self, key: bytes, session: Session, deadline: float | None
    ) -> GetResponse:
        txn = self.client.txn(
            *acquire_txn(key, self._leasing_key(key), session.lease_id), timeout=_left(deadline)
        )
        read, leasing_rev = acquire_result(txn)
        if not leasing_rev:
            return read
        with self._lock:
            held = self._cache.acquired(key, leasing_rev, read)
        if not held:
            return read
        # Every write after the acquiring revision reaches the watch, so a plain client's
        # write invalidates the cached value.
        try:
            handle = self.client.add_watch_callback(
                key, lambda item: self._on_key_event(key, item),
                start_revision=txn.header.revision + 1, timeout=_left(deadline),
            )
        except DeadlineExceededError:
            # The read stands; but without its watch the cached value could go stale: keep
            # the key (our writes stay guarded by it) and never serve it from memory.
            log.warning("watch of held key %r not created in time; not caching it", key)
            with self._lock:
                self._cache.modified(key, _NEVER_FRESH)
            return read
        with self._lock:
            keep = self._cache.owned(key) == leasing_rev and key not in self._key_watches
            if keep:
                self._key_watches[key] = handle
        if not keep:  # revoked meanwhile
            handle.cancel()
        return read

    def _on_key_event(self, key: bytes, item: WatchResponse | EtcdError) -> None:
        with self._lock:
            if isinstance(item, EtcdError):
                log.warning("watch of held key %r failed (%s); not caching it", key, item)
                self._cache.modified(key, _NEVER_FRESH)
                return
            for event in item.events:
                self._cache.modified(key, event.kv.mod_revision)

    def _on_leasing_event(self, item: WatchResponse | EtcdError) -> None:
        session = self._session
        if isinstance(item, EtcdError) or session is None:
            if isinstance(item, EtcdError):
                log.error("watch of leasing prefix %r failed: %s", self.prefix, item)
            return
        for event in item.events:
            if event.type is not EventType.PUT:
                continue
            key = revoke_target(event.kv, self.prefix, session.lease_id)
            if key is not None:
                self._give_up(key, event.kv.create_revision)

    def _give_up(self, key: bytes, leasing_rev: int) -> None:
        """Another client asked for ``key``: forget it, then delete our leasing key."""
        with self._lock:
            handle = None
            if self._cache.revoked(key, leasing_rev, time.monotonic()):
                handle = self._key_watches.pop(key, None)
        if handle is not None:
            handle.cancel()
        leasing_key = self._leasing_key(key)
        self.client.txn(*delete_owned_txn(leasing_key, leasing_rev))

    # --- writes --------------------------------------------------------------------------

    def _write(
        self, keys: Sequence[bytes], op: Op, timeout: float | None
    ) -> tuple[TxnResponse, list[int]]:
        """Run ``op`` guarded on the leasing keys of ``keys``, revoking foreign holders until
        it runs; returns the Txn response and the create revisions of the leasing keys we
        held (0: not held) that guarded it."""
        deadline = _deadline(timeout)
        while True:
            self._live_session(deadline)
            with self._lock:
                revs = [self._cache.owned(key) for key in keys]
            guards = [(self._leasing_key(k), rev) for k, rev in zip(keys, revs, strict=True)]
            response = self.client.txn(*guarded_txn(guards, op), timeout=_left(deadline))
            if response.succeeded:
                return response, revs
            lost, foreign = conflicts(guards, response)
            for leasing_key, rev in lost:
                self._lost(leasing_key[len(self.prefix):], rev)
            for leasing_key, rev in foreign:
                self._revoke(leasing_key, rev, deadline)

    def _lost(self, key: bytes, leasing_rev: int) -> None:
        with self._lock:
            handle = None
            if self._cache.lost(key, leasing_rev):
                handle = self._key_watches.pop(key, None)
        if handle is not None:
            handle.cancel()

    def _revoke(self, leasing_key: bytes, rev: int, deadline: float | None) -> None:
        """Ask the holder of ``leasing_key`` (created at ``rev``) to give it up and wait
        until it is deleted (or its holder's lease expires)."""
        response = self.client.txn(*revoke_txn(leasing_key, rev), timeout=_left(deadline))
        if not response.succeeded:
            return  # already gone or replaced: the next attempt sees what is there now
        start = response.header.revision + 1
        if not _wait_delete(self.client, leasing_key, start, deadline):
            raise DeadlineExceededError(
                f"leasing KV: the holder of {leasing_key!r} did not give it up in time"
            )

    def _put(self, op: Op[Any], timeout: float | None) -> PutResponse:
        """A put (one guarded Txn, plus the revoke handshake if another leasing client holds
        the key); if this client holds the key, the cache is updated."""
        request = op.request
        key: bytes = request.key
        txn, (held,) = self._write([key], with_prev_kv(op), timeout)
        result = txn.responses[0]
        assert isinstance(result, PutResponse)
        with self._lock:
            if held and not (request.lease or request.ignore_value or request.ignore_lease):
                self._cache.wrote(key, txn.header, put_result(
                    key, request.value, txn.header.revision, result.prev_kv
                ))
            else:
                self._cache.modified(key, txn.header.revision)
        return PutResponse(txn.header, result.prev_kv if request.prev_kv else None)

    def _delete(self, op: Op[Any], timeout: float | None) -> DeleteResponse:
        """A delete of one key (one guarded Txn, plus the revoke handshake if another
        leasing client holds it)."""
        (key,) = written_keys([op])
        txn, (held,) = self._write([key], op, timeout)
        result = txn.responses[0]
        assert isinstance(result, DeleteResponse)
        with self._lock:
            if held:
                self._cache.wrote(key, txn.header, None)
        return msgspec.structs.replace(result, header=txn.header)

    def _txn(self, op: Op[Any], timeout: float | None) -> TxnResponse:
        """A transaction on the server, nested inside one guarded on the leasing keys of
        every key it may write (revoking foreign holders first); the cached values of those
        keys are invalidated."""
        keys = sorted(written_keys([op]))
        txn, _ = self._write(keys, op, timeout)
        with self._lock:
            for key in keys:
                self._cache.modified(key, txn.header.revision)
        inner = txn.responses[0]
        assert isinstance(inner, TxnResponse)
        return msgspec.structs.replace(inner, header=txn.header)
