"""The Watch service: watchers multiplexed on one stream per client, resumed after failures."""

from __future__ import annotations

import logging
import math
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import grpc

from .._backends.asyncio import (
    BidiStream,
    Event,
    Lock,
    Queue,
    SharedReader,
    Worker,
    settle,
    uninterruptible,
)
from .._core.checks import check_timeout
from .._core.errors import (
    ClientClosedError,
    DeadlineExceededError,
    EtcdError,
    InvalidAuthTokenError,
    PermissionDeniedError,
    RequestTooLargeError,
    error_from_status,
)
from .._core.outage import FailureLog, describe
from .._core.tls import certificate_rejected
from .._core.watch import (
    Subscription,
    WatchFilter,
    WatchMux,
    WatchResponse,
    check_buffer,
    progress_request,
    watch_options,
)
from .base import AsyncClientBase
from .connection import AsyncConnection

__all__ = ["AsyncWatch", "AsyncWatchCallback", "AsyncWatcher"]

log = logging.getLogger("etcdmap.watch")

#: Responses a watcher buffers before the shared stream waits for its consumer.
DEFAULT_BUFFER = 1024
#: Longest pause before re-opening a broken stream (the channel's ``reconnect_backoff``
#: bounds how soon after an outage the connection itself is back).
MAX_REOPEN_WAIT = 0.5
#: How long ``cancel()`` lets a consumer that reads the stream for the cancelled watcher
#: finish its read (the server answers a cancel at once) before it re-opens the stream.
CANCEL_GRACE = 0.5
_END = object()


class AsyncWatchStream:
    """The client's one Watch stream, read a response at a time (``_read``) by the backend's
    ``SharedReader``: with threads the watchers' consumers take turns reading it themselves
    (no thread between the stream and a lone consumer), with asyncio a task of its own
    reads it. Each response's parts go to the watchers' queues. Whoever reads when the
    stream breaks opens it again (the next endpoint, capped backoff) and every watcher
    resumes. While no one reads, etcd keeps the backlog.

    It holds its client weakly (watchers hold it), so a reader or a callback worker left
    running cannot keep a client its user dropped alive; the client's finalizer stops the
    stream (``_stop``)."""

    def __init__(self, client: AsyncClientBase) -> None:
        self._client = weakref.proxy(client)
        self._name = repr(client)
        self._mux = WatchMux()
        self._lock = Lock()  # the mux, the queues and the stream
        self._reader = SharedReader(self._read, self._keep_reading, _END)
        self._queues: dict[Subscription, Queue[Any]] = {}
        self._stream: BidiStream | None = None
        self._conn: AsyncConnection | None = None
        self._received = False  # since the stream was opened
        self._failures = 0  # openings in a row that brought nothing
        self._faults = FailureLog(log, "watch stream")
        self._stop = Event()
        client._leftovers.stops.append(self._stop)
        #: How many times a stream was opened (1 + the number of resumes).
        self.connects = 0
        #: Watchers re-created once after their creation was refused with the stream's token.
        self._auth_retried: set[Subscription] = set()

    async def add(self, sub: Subscription, queue: Queue[Any]) -> None:
        """Queue ``sub`` for creation (``ClientClosedError`` once the client is closed)."""
        async with self._lock:
            if self._stop.is_set() or self._client._closed:
                raise self._closed_error()
            self._queues[sub] = queue
            await self._send(self._mux.add(sub))

    def _closed_error(self) -> ClientClosedError:
        return ClientClosedError(f"{self._name} is closed: its watches have ended")

    async def cancel(self, sub: Subscription) -> None:
        """Cancel ``sub`` and end its queue. A consumer reading the stream for it (threads)
        still waits for a response: when none has come within ``CANCEL_GRACE`` (a frozen
        server answers nothing), the stream is re-opened, which ends the read; the other
        watchers resume from their next revision."""
        self._auth_retried.discard(sub)
        async with self._lock:
            await self._send(self._mux.cancel(sub))
            queue = self._queues.pop(sub, None)
        if queue is not None:
            _end_queue(queue)
            await self._reader.wake()
            if not await self._reader.freed(queue, CANCEL_GRACE):
                await self.reopen()

    async def request_progress(self) -> None:
        async with self._lock:
            await self._send([progress_request()])

    async def reopen(self) -> None:
        """Cancel the current stream, so that the reader opens a new one (the next endpoint)
        and every watcher resumes: for a stream that went silent (a member that stopped
        answering but keeps its connection open), and to free a consumer blocked reading it."""
        async with self._lock:
            if self._stream is not None:
                self._stream.cancel()

    async def aclose(self) -> None:
        self._stop.set()
        async with self._lock:
            for sub in self._queues:
                self._mux.cancel(sub)
            queues = list(self._queues.values())
            self._queues.clear()
            if self._stream is not None:
                self._stream.cancel()  # a consumer waiting in recv() returns
        closed = self._closed_error()
        for queue in queues:
            _end_queue(queue, closed)  # a consumer waiting for its next item raises it
        await self._reader.close()

    async def next_item(self, queue: Queue[Any], timeout: float | None = None) -> Any:
        """The next item of a watcher's ``queue``: a response, an error or the end
        (``TimeoutError`` after ``timeout`` seconds)."""
        if self._stop.is_set() and queue.empty():
            return self._closed_error()
        return await self._reader.next(queue, timeout)

    def _keep_reading(self) -> bool:
        """Whether the stream is worth reading: not closed, and open or with watchers."""
        return not self._stop.is_set() and (self._stream is not None or bool(self._mux.watchers))

    async def _send(self, requests: list[Any]) -> None:
        # Called with the lock held, so requests leave in the order the mux produced them.
        if self._stream is not None:
            try:
                for request in requests:
                    await self._stream.send(request)
            except Exception as error:  # a call that already ended: the reader re-opens it,
                # and the mux sends what the new stream needs (a cancel needs nothing there)
                log.debug("watch stream send failed (%s)", describe(error))
                self._stream.cancel()

    async def _read(self) -> None:
        """One step of the reader: open the stream if needed, or read a response and deliver
        it; after a failure, close the stream and wait (capped backoff) before the next.
        Ctrl-C waits for the end of opening and closing (``uninterruptible``), which change
        every watcher's state; delivering a response takes microseconds and is left
        interruptible (holding Ctrl-C back costs more than the delivery itself)."""
        conn = self._conn
        cause: BaseException | None = None  # of the failure, None for a stream that ended
        try:
            if self._stream is None:
                async with uninterruptible():
                    await self._open()
                return
            assert conn is not None
            response = await self._stream.recv()
            if response is not None:
                if not self._received:
                    self._faults.recovered(conn.endpoint)
                self._received = True
                await self._deliver(response, conn)
                return
        except grpc.RpcError as error:
            cause = error
            if conn is not None:
                await self._fail_refused(error)
                if certificate_rejected(error.details() or ""):
                    await self._fail_all(error_from_status(
                        error.code(), error.details(), endpoint=conn.endpoint, action="watch"
                    ))
                await self._client._renew_token_after(conn, error, "watch")
        except ClientClosedError as error:
            await self._fail_all(error)
            self._stop.set()
            return
        except ReferenceError:
            self._stop.set()  # the client was dropped: its finalizer cancels the stream
            return
        except EtcdError as error:
            cause = error
        except BaseException:
            # Interrupted (Ctrl-C in the thread that was reading, or the reader task stopped):
            # a response taken from the stream may not have been handed out. Reopening
            # resumes every watcher from what it has got, so nothing is lost.
            async with uninterruptible():
                await self._close_stream()
            raise
        async with uninterruptible():
            await self._close_stream()
        if self._stop.is_set():
            return
        self._failures = (0 if self._received else self._failures) + 1
        wait = min(0.05 * 2**self._failures, MAX_REOPEN_WAIT)
        self._faults.failed(None if conn is None else conn.endpoint, cause, wait)
        await self._stop.wait(wait)

    async def _open(self) -> None:
        conn, stream = await self._client._open_stream("watch", self.connects)
        async with self._lock:
            if self._stop.is_set():  # closed while opening: nobody would cancel this one
                stream.cancel()
                return
            self._conn, self._stream, self._received = conn, stream, False
            self.connects += 1
            if self.connects > 1 and self._client._hooks is not None:
                self._client._hooks.watch_resumed(conn.endpoint)
            await self._send(self._mux.on_connect(conn.endpoint))

    async def _close_stream(self) -> None:
        async with self._lock:
            self._mux.on_disconnect()
            if self._stream is not None:
                self._stream.cancel()
            self._stream = None

    def _stale_token(self, sub: Subscription, item: object) -> bool:
        return (
            isinstance(item, (PermissionDeniedError, InvalidAuthTokenError))
            and self._client._credentials is not None
            and sub not in self._auth_retried
        )

    async def _fail_all(self, error: EtcdError) -> None:
        """End every watcher with ``error``: reconnecting cannot cure it."""
        await self._end(lambda: self._mux.fail_all(error))

    async def _fail_refused(self, error: Any) -> None:
        """End the watcher whose create broke the stream (too large for a gRPC end): sent
        again on the next stream it would break that one too."""
        await self._end(lambda: self._mux.on_stream_error(error.code(), error.details() or ""))

    async def _end(self, ended: Callable[[], list[tuple[Subscription, EtcdError]]]) -> None:
        """End the watchers the mux call ``ended`` ends, each with its error."""
        async with self._lock:
            targets = [(self._queues.pop(sub, None), error) for sub, error in ended()]
        for queue, error in targets:
            if queue is not None:
                _end_queue(queue, error)

    async def _deliver(self, response: Any, conn: AsyncConnection) -> None:
        """Apply one response: each watcher it concerns gets its part in its queue (a full
        queue holds the reader: the stream waits for that watcher's consumer)."""
        async with self._lock:
            requests, deliveries = self._mux.on_response(response)
            await self._send(requests)
            targets = [(self._queues.get(sub), sub, item) for sub, item in deliveries]
        for queue, sub, item in targets:
            if queue is None:
                continue
            if self._stale_token(sub, item):
                # The stream's token expired: creating this watcher was refused. Log in
                # again and reopen the stream; every watcher resumes, this one included.
                self._auth_retried.add(sub)
                async with self._lock:
                    self._mux.retry(sub)
                await self._client._authenticate(conn, None)
                await self._close_stream()
                continue
            self._auth_retried.discard(sub)
            await queue.put(item)
            if sub.ended:
                async with self._lock:
                    self._queues.pop(sub, None)
                await queue.put(_END)
        await self._reader.wake()


def _end_queue(queue: Queue[Any], error: EtcdError | None = None) -> None:
    """Drop what an ended watcher had buffered and wake its consumer (with ``error``, which
    its iteration raises, or a plain end)."""
    while not queue.empty():
        queue.get_nowait()
    queue.put_nowait(_END if error is None else error)


class AsyncWatcher:
    """One watch: iterate it for ``WatchResponse`` objects; ``cancel()`` ends it.

    Use it as a context manager (``async with client.watch(...) as watcher:``) so it is
    cancelled on exit. Iteration ends after ``cancel()``; an error that ends the watch on the
    server (``CompactedError`` for a compacted start revision, ``PermissionDeniedError``, ...)
    is raised from the iteration.
    """

    def __init__(
        self, client: AsyncWatch, stream: AsyncWatchStream, sub: Subscription, buffer: int
    ) -> None:
        #: Keeps the client alive while this watcher is held (its stream holds it weakly).
        self._client: AsyncWatch | None = client
        self._stream = stream
        self._sub = sub
        self._queue: Queue[Any] = Queue(maxsize=buffer)
        self._started = False
        self._done = False
        self._pending: object = None
        #: The ``timeout`` of the wait for each next item: None lets the waiting thread
        #: read the stream itself (an iterator: no hand-over); math.inf waits as long but
        #: leaves reading to others, so the wait ends as soon as the watcher does.
        self._patience: float | None = None
        #: The server's revision when it created the watch (its first response's header;
        #: 0 before ``start()``).
        self.created_revision = 0

    @property
    def next_revision(self) -> int:
        """The first revision this watcher has not delivered yet (0 before it started)."""
        return self._sub.next_revision

    def for_worker(self) -> AsyncWatcher:
        """Mark this watcher as iterated by a background worker: waiting for an item, the
        worker leaves reading the shared stream to others, so ``cancel()`` ends its wait
        at once even while the stream is stuck (a frozen server) and the worker can be
        joined. The worker's owner keeps the client alive: this watcher no longer does, so
        a worker left running does not keep a dropped client alive. Returns the watcher."""
        self._patience = math.inf
        self._client = None
        return self

    async def start(self, timeout: float | None = None) -> AsyncWatcher:
        """Register the watch and wait until the server has created it, so every change
        made after ``start()`` returns is delivered (done by ``with`` and iteration).

        ``DeadlineExceededError`` (and the watch cancelled) if the server has not created
        it within ``timeout`` seconds (None: wait as long as it takes; the stream is
        resumed after failures meanwhile). ``ClientClosedError`` once the client is closed.
        """
        timeout = check_timeout(timeout, zero=True)
        if not self._started:
            await self._stream.add(self._sub, self._queue)
            self._started = True
            try:
                wait = self._patience if timeout is None else timeout
                first = await self._stream.next_item(self._queue, wait)
            except TimeoutError:
                await self.cancel()
                raise DeadlineExceededError(
                    f"watch {self._sub.options.key[:64]!r}: not created by the server "
                    f"within {timeout:.3g} s"
                ) from None
            if isinstance(first, WatchResponse) and first.created:
                self.created_revision = first.header.revision
            else:
                self._pending = first  # an error or the end: iteration reports it
        return self

    async def cancel(self) -> None:
        """Stop watching (a cancel on the shared Watch stream): iteration ends, in any
        thread or task, within about a second even when the server answers nothing (a
        thread reading the stream for this watcher then has the stream re-opened under
        it; the other watchers resume where they were)."""
        self._done = True
        if self._started:
            await self._stream.cancel(self._sub)

    async def __aenter__(self) -> AsyncWatcher:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.cancel()

    def __aiter__(self) -> AsyncWatcher:
        return self

    async def __anext__(self) -> WatchResponse:
        if not self._started:
            await self.start()
        while True:
            item: Any
            if self._pending is not None:
                item, self._pending = self._pending, None
            elif self._done and self._queue.empty():
                raise StopAsyncIteration
            else:
                item = await self._stream.next_item(self._queue, self._patience)
            if item is _END:
                self._done = True
                raise StopAsyncIteration
            if isinstance(item, EtcdError):
                self._done = True
                raise item
            if not item.created:  # a (re)creation on the server is not news
                return item  # type: ignore[no-any-return]


class AsyncWatchCallback:
    """A watch whose responses are passed to a callback by a worker of its own, never while
    the stream is being read (the stream goes on for the other watchers), so the callback may
    block, add watches or cancel this one. With the asyncio client the callback may be a
    coroutine function; it is awaited."""

    def __init__(
        self,
        watcher: AsyncWatcher,
        callback: Callable[[WatchResponse | EtcdError], Any],
    ) -> None:
        #: Keeps the client alive while this handle is held; the worker holds neither.
        self._client = watcher._client
        self.watcher = watcher.for_worker()  # cancel() joins the worker
        self._callback = callback
        self._worker: Worker | None = None

    async def start(self, timeout: float | None = None) -> AsyncWatchCallback:
        await self.watcher.start(timeout)
        self._worker = Worker(
            _dispatch, self.watcher, self._callback, name="etcdmap-watch-callback"
        )
        return self

    async def cancel(self) -> None:
        """Stop the watch and its callback worker (safe from inside the callback)."""
        await self.watcher.cancel()
        if self._worker is not None:
            await self._worker.join()

    async def __aenter__(self) -> AsyncWatchCallback:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.cancel()


async def _dispatch(
    watcher: AsyncWatcher, callback: Callable[[WatchResponse | EtcdError], Any]
) -> None:
    """The worker of a watch callback: pass every response, then the error that ended the
    watch if one did, to ``callback``."""
    try:
        async for response in watcher:
            await _call(callback, response)
    except EtcdError as error:
        await _call(callback, error)


async def _call(
    callback: Callable[[WatchResponse | EtcdError], Any], item: WatchResponse | EtcdError
) -> None:
    try:
        await settle(callback(item))
    except Exception:
        log.exception("watch callback %r failed; the watch goes on", callback)


class AsyncWatch(AsyncClientBase):
    """Watch methods of ``AsyncClient``."""

    _watch_stream: AsyncWatchStream | None = None

    def _watches(self) -> AsyncWatchStream:
        if self._watch_stream is None:
            self._watch_stream = AsyncWatchStream(self)
        return self._watch_stream

    def watch(
        self,
        key: bytes | str,
        *,
        prefix: bool = False,
        range_end: bytes | str | None = None,
        start_revision: int = 0,
        prev_kv: bool = False,
        filters: Iterable[WatchFilter] = (),
        progress_notify: bool = False,
        fragment: bool = False,
        buffer: int = DEFAULT_BUFFER,
    ) -> AsyncWatcher:
        """Watch a key, a range or a prefix (Watch.Watch, on the client's shared stream).

        Events arrive in revision order, all events of one revision in one response. With
        ``start_revision`` the server first replays history from that revision
        (``CompactedError`` if it was compacted); by default watching starts after the
        current revision. If the stream breaks (member restart, leader loss, network), the
        watch is re-created from the revision after the last one delivered: no event is
        lost or repeated.

        Every argument is checked here, before anything is queued on the shared stream
        (``TypeError``/``ValueError`` naming it), and a create request over the client's
        ``max_send_bytes`` raises ``RequestTooLargeError``; one etcd's gRPC server refuses
        as too large ends this watcher alone with it. ``start()`` and iteration raise
        ``ClientClosedError`` once the client is closed.

        Parameters
        ----------
        start_revision:
            An int from 0 (the default: after the current revision) to 2**63 - 1.
        range_end:
            Must sort after ``key`` (etcd refuses an empty range); ``"\x00"``: every key
            from ``key`` on.
        prev_kv:
            Each event also carries the key as it was before (``Event.prev_kv``).
        filters:
            ``"noput"`` and/or ``"nodelete"`` drop those events on the server.
        progress_notify:
            The server sends an empty response every 10 minutes when idle.
        fragment:
            Let the server split very large responses; they are reassembled here.
        buffer:
            Responses held for a slow consumer (at least 1). When full, the shared stream
            stops reading until the consumer catches up (etcd keeps the backlog), so memory
            stays bounded; every watcher of this client waits meanwhile.
        """
        options = watch_options(
            key, range_end, prefix, prev_kv, filters, progress_notify, fragment
        )
        sub = Subscription(options, start_revision)
        limit = dict(self._options).get("grpc.max_send_message_length", -1)
        if 0 <= limit < (size := sub.create_bytes()):
            raise RequestTooLargeError(
                f"watch {options.key[:64]!r}: the create request ({size} bytes) is over the "
                f"client's max_send_bytes ({limit})"
            )
        return AsyncWatcher(self, self._watches(), sub, check_buffer(buffer))

    async def add_watch_callback(
        self,
        key: bytes | str,
        callback: Callable[[WatchResponse | EtcdError], Any],
        *,
        prefix: bool = False,
        range_end: bytes | str | None = None,
        start_revision: int = 0,
        prev_kv: bool = False,
        filters: Iterable[WatchFilter] = (),
        progress_notify: bool = False,
        fragment: bool = False,
        timeout: float | None = None,
    ) -> AsyncWatchCallback:
        """Watch like ``watch()`` and call ``callback(response)`` for each response, from a
        worker of this watch (never while reading the stream). An error that ends the watch is
        passed to the callback too (``ClientClosedError`` when the client closes). Returns a
        handle with ``cancel()`` once the server has created the watch, or raises
        ``DeadlineExceededError`` if it has not within ``timeout`` seconds.
        """
        watcher = self.watch(
            key, prefix=prefix, range_end=range_end, start_revision=start_revision,
            prev_kv=prev_kv, filters=filters, progress_notify=progress_notify,
            fragment=fragment,
        )
        return await AsyncWatchCallback(watcher, callback).start(timeout)

    async def request_progress(self) -> None:
        """Ask the server for a progress notification on every watcher (Watch.Progress
        request, etcd ≥ 3.4): each receives a response with no events whose header revision
        says everything before it has been delivered."""
        await self._watches().request_progress()

    async def reopen_watches(self) -> None:
        """Cancel the client's shared watch stream: a new one opens (on the next endpoint)
        and every watcher resumes from its next revision, losing no event. For a stream that
        went silent, or to free a reader blocked on a member that stopped answering."""
        await self._watches().reopen()

    async def aclose(self) -> None:
        if self._watch_stream is not None:
            await self._watch_stream.aclose()
        await super().aclose()
