"""Thread primitives: blocking grpc channels and streams, threads, queues and events."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar, cast

import grpc

from .._core.hooks import HookSet, Started
from .._core.tls import TLSMaterial

__all__ = [
    "BLOCKING", "Ahead", "BidiStream", "Event", "Lock", "Queue", "SharedReader", "Worker",
    "close_channel_now", "flatten", "open_channel", "running_loop", "settle", "sleep",
    "uninterruptible",
]  # fmt: skip

Lock = threading.Lock
#: Calls of this flavour block their thread (a client warns when that thread runs a loop).
BLOCKING = True
#: The event loop running in this thread, or None (C-accelerated: ~30 ns a call).
running_loop = asyncio._get_running_loop
_END = object()
_NOTHING = object()  # no item yet
T = TypeVar("T")


#: Before grpcio 1.76 nothing polls a blocking channel whose calls all fail fast: the outcome
#: of its reconnection attempts was seen only by gRPC's backup poller, every 5 s, so calls kept
#: failing for 8-12 s after the server was back (measured: 1.63, 1.66, 1.70, 1.75; not 1.76+).
_POLL_CONNECTIVITY = tuple(int(x) for x in grpc.__version__.split(".")[:2]) < (1, 76)


def _ignore(_state: grpc.ChannelConnectivity) -> None:
    pass


def open_channel(
    target: str,
    options: list[tuple[str, Any]],
    tls: TLSMaterial | None = None,
    hooks: HookSet | None = None,
) -> Any:
    """A blocking grpc channel to ``target``: TLS with ``tls``, else plaintext; with
    ``hooks``, wrapped in an interceptor that reports unary calls (without: none)."""
    if tls is None:
        channel = grpc.insecure_channel(target, options=options)
    else:
        credentials = grpc.ssl_channel_credentials(
            tls.root_certificates, tls.private_key, tls.certificate_chain
        )
        channel = grpc.secure_channel(
            target, credentials, options=options + tls.channel_options()
        )
    if _POLL_CONNECTIVITY:
        # A subscriber gets a gRPC thread that polls the channel (every 0.2 s at most) until
        # the channel is closed.
        channel.subscribe(_ignore)
    if hooks is None:
        return channel
    return grpc.intercept_channel(channel, HooksInterceptor(hooks))


class _CallDetails(
    collections.namedtuple(
        "_CallDetails",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,
):
    """Call details with the metadata hooks added."""


class HooksInterceptor(grpc.UnaryUnaryClientInterceptor):
    """Reports every unary call of a blocking channel to a ``HookSet``. Streams (watch,
    keep-alive, snapshot) stay uninstrumented, as on the asyncio channel, so both clients
    report the same calls and streams keep gRPC's plain path."""

    def __init__(self, hooks: HookSet) -> None:
        self._hooks = hooks

    def _start(self, details: Any) -> tuple[Started, Any]:
        extra: list[tuple[str, str]] = []
        started = self._hooks.start(details.method, extra)
        if extra:
            details = _CallDetails(
                details.method, details.timeout, (*(details.metadata or ()), *extra),
                details.credentials, details.wait_for_ready, details.compression,
            )
        return started, details

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        started, details = self._start(details)
        outcome = continuation(details, request)
        self._hooks.finish(started, outcome.code().name)
        return outcome

class Queue(Generic[T]):
    """A FIFO between threads, bounded by ``maxsize`` (0: unbounded), with the operations of
    ``asyncio.Queue`` the watch uses. Items pass through a C ``SimpleQueue`` (one lock per
    ``put`` and ``get``, where ``queue.Queue`` takes several Python-level ones). A ``put`` into
    a full queue waits until the consumer has taken half of it, so a producer ahead of its
    consumer wakes once per half queue, not once per item."""

    #: How long a producer waiting for room sleeps before it looks again (the consumer wakes
    #: it sooner when it sees it waiting).
    RECHECK = 0.05

    def __init__(self, maxsize: int = 0) -> None:
        self._items: queue.SimpleQueue[T] = queue.SimpleQueue()
        self._maxsize = maxsize
        self._room = threading.Condition()
        self._producer_waits = False

    def put(self, item: T) -> None:
        """Add ``item``, first waiting while the queue is full."""
        if self._maxsize and self._items.qsize() >= self._maxsize:
            with self._room:
                while self._items.qsize() >= self._maxsize:
                    self._producer_waits = True
                    self._room.wait(self.RECHECK)
                self._producer_waits = False
        self._items.put(item)

    def put_nowait(self, item: T) -> None:
        """Add ``item`` even if the queue is full (to end a consumer's wait)."""
        self._items.put(item)

    def get_nowait(self) -> T:
        """Take the oldest item; ``queue.Empty`` if there is none. (Consumers wait for an
        item through ``SharedReader``, not here.)"""
        item = self._items.get_nowait()
        if self._producer_waits and self._items.qsize() <= self._maxsize // 2:
            with self._room:
                self._room.notify()
        return item

    def empty(self) -> bool:
        """Whether the queue holds nothing."""
        return self._items.empty()

    def qsize(self) -> int:
        """How many items the queue holds."""
        return self._items.qsize()


class BidiStream:
    """A bidirectional gRPC stream: ``send`` requests, ``recv`` responses (None at the end).

    Blocking gRPC streams take their requests from an iterator; this one reads a queue, so
    any thread may ``send`` at any time.
    """

    def __init__(self, method: Any, metadata: Any = None) -> None:
        self._requests: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._call = method(self._outgoing(), metadata=metadata)
        self._cancelled = False

    def _outgoing(self) -> Iterator[Any]:
        while (request := self._requests.get()) is not _END:
            yield request

    def send(self, request: Any) -> None:
        """Queue ``request`` on the stream (never blocks)."""
        self._requests.put(request)

    def recv(self) -> Any:
        """The next response; None when the stream ended or was cancelled by us."""
        try:
            return next(self._call)
        except StopIteration:
            return None
        except grpc.RpcError:
            if self._cancelled:
                return None
            raise

    def cancel(self) -> None:
        """End the stream from our side; a pending ``recv`` returns None."""
        self._cancelled = True
        self._requests.put(_END)
        self._call.cancel()


class Event:
    """An event that can be waited on with a timeout."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until set or ``timeout`` seconds pass; True if it is set."""
        return self._event.wait(timeout)


class Worker:
    """A daemon thread running ``target(*args)``; it must end by itself once told to stop."""

    def __init__(self, target: Callable[..., Any], *args: Any, name: str) -> None:
        self._thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._thread.start()

    def is_current(self) -> bool:
        """Whether the caller runs inside this worker."""
        return threading.current_thread() is self._thread

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end (the owner has already told it to stop), at most
        ``timeout`` seconds; True once it has ended."""
        if self.is_current():
            return False
        self._thread.join(timeout)
        return not self._thread.is_alive()


class Ahead(Generic[T]):
    """``call()`` started now, in a daemon thread of its own, and its outcome taken later
    by ``result()``: the next page read while the caller handles this one."""

    def __init__(self, call: Callable[[], T]) -> None:
        self._done = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._run, args=(call,), name="etcdmap-ahead", daemon=True).start()

    @classmethod
    def start(cls, call: Callable[[], T]) -> Ahead[T]:
        """``Ahead(call)`` (its thread has started it already)."""
        return cls(call)

    def _run(self, call: Callable[[], T]) -> None:
        try:
            self._value = call()
        except BaseException as error:  # noqa: BLE001 - handed to whoever takes the result
            self._error = error
        finally:
            self._done.set()

    def result(self) -> T:
        """The call's value, or its exception raised (it waits as long as the call does,
        which its own timeout bounds)."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        return cast(T, self._value)

    def cancel(self) -> None:
        """Drop the call: a blocking call cannot be stopped, so its thread ends when the
        call does, and its outcome is dropped."""


class SharedReader:
    """Feeds consumers, each with a queue of its own, from one source read a step at a time
    (``step()``: read one response and hand out its parts), by the consumers themselves: one
    whose queue is empty takes the turn and runs steps until its queue has an item, while
    the others wait for an item or the turn. A lone consumer thus reads its source directly,
    with no thread in between (a hand-over between threads costs more CPU than the read).
    ``keep_reading()`` false ends the reading: an empty queue then yields ``end``.
    """

    def __init__(
        self, step: Callable[[], None], keep_reading: Callable[[], bool], end: object
    ) -> None:
        self._step = step
        self._keep_reading = keep_reading
        self._end = end
        self._turn = threading.Lock()
        self._changed = threading.Condition()  # a queue got an item, or the turn came free
        self._waiting = 0  # consumers waiting on _changed
        self._helper: Worker | None = None  # reads for consumers waiting with a deadline
        #: The queue of the consumer that holds the turn (None: no one, or the helper).
        self._reading_for: Queue[Any] | None = None

    def next(self, items: Queue[Any], timeout: float | None = None) -> Any:
        """The next item of ``items``, reading the source for it if no one else is.
        With a ``timeout`` (``math.inf``: no limit) the caller waits without reading, so
        its wait ends on time however the source behaves: ``TimeoutError`` if no item came
        within ``timeout`` seconds."""
        if timeout is not None:
            return self._next_within(items, time.monotonic() + timeout)
        while (item := self._take(items)) is _NOTHING:
            # Taking the turn and finding it taken are one step: a consumer that only looked
            # and then blocked on the lock could not be woken by ``wake()``.
            if not self._turn.acquire(blocking=False):
                with self._changed:
                    self._waiting += 1
                    try:
                        if items.empty() and self._turn.locked():
                            self._changed.wait()
                    finally:
                        self._waiting -= 1
                continue
            self._reading_for = items
            self._read_until(items)
        return item

    def _take(self, items: Queue[Any]) -> Any:
        """An item of ``items``; else ``end`` once reading has ended; else ``_NOTHING``."""
        try:
            return items.get_nowait()
        except queue.Empty:
            return _NOTHING if self._keep_reading() else self._end

    def _read_until(self, items: Queue[Any]) -> None:
        """With the turn taken: read until ``items`` has an item or reading ends, then give
        the turn to a waiting consumer."""
        try:
            while items.empty() and self._keep_reading():
                self._step()
        finally:
            self._reading_for = None
            self._turn.release()
            self.wake()

    def _next_within(self, items: Queue[Any], deadline: float) -> Any:
        """``next`` with a deadline: a read of the source cannot be cut short, so this
        consumer never reads; while no one does, a helper thread reads for it."""
        while (item := self._take(items)) is _NOTHING:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no item in time")
            with self._changed:
                if self._helper is None and not self._turn.locked():
                    self._helper = Worker(self._read_for, items, name="etcdmap-watch-reader")
                self._waiting += 1
                try:
                    if items.empty():
                        self._changed.wait(min(left, 1.0))  # math.inf: too long for a lock
                finally:
                    self._waiting -= 1
        return item

    def _read_for(self, items: Queue[Any]) -> None:
        """The helper thread: take the turn, if it is free, and read until ``items`` has an
        item (the consumer it reads for timed out and cancelled: an end)."""
        try:
            if self._turn.acquire(blocking=False):
                self._read_until(items)
        finally:
            with self._changed:
                self._helper = None
                self._changed.notify_all()

    def freed(self, items: Queue[Any], grace: float) -> bool:
        """Whether the consumer of ``items`` (just ended by its owner) no longer reads the
        source, waiting at most ``grace`` seconds for a read in progress to return. False:
        the read goes on (the source is stuck), and only cancelling the source cuts it
        short. (The helper may go on reading: no one waits for it.)"""
        deadline = time.monotonic() + grace
        with self._changed:
            self._waiting += 1
            try:
                while self._reading_for is items:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._changed.wait(left)
            finally:
                self._waiting -= 1
        return True

    def wake(self) -> None:
        """Wake the waiting consumers (after items were handed out). A consumer that counts
        itself in ``_waiting`` afterwards sees the new state before it waits."""
        if self._waiting:
            with self._changed:
                self._changed.notify_all()

    def close(self) -> None:
        """Wake every consumer and wait for the helper thread to end (``keep_reading()`` has
        turned false and the source was cancelled, so its read returns)."""
        self.wake()
        helper = self._helper
        if helper is not None:
            helper.join()


@contextlib.contextmanager
def uninterruptible() -> Iterator[None]:
    """Hold back Ctrl-C (SIGINT) during the block when run by the main thread, the only one
    Python interrupts: the signal is noted and raised again right after the block, for the
    handler that was in place (KeyboardInterrupt by default). Other threads run the block
    as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: noted.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if noted:
            signal.raise_signal(signal.SIGINT)


def settle(outcome: object) -> object:
    """What a callback returned (blocking callbacks are done when they return)."""
    return outcome


def sleep(seconds: float) -> None:
    """Pause this thread."""
    time.sleep(seconds)


def flatten(pages: Iterator[list[T]]) -> Iterator[T]:
    """The items of ``pages``, one by one: ``itertools.chain``, so no Python frame runs per
    item."""
    return itertools.chain.from_iterable(pages)


def close_channel_now(channel: Any) -> None:
    """Close ``channel`` at once (from a finalizer): its calls end and so do its threads."""
    if _POLL_CONNECTIVITY:
        _stop_polling(channel)
    channel.close()


def _stop_polling(channel: Any) -> None:
    """Unsubscribe from ``channel`` and let gRPC's poller thread end before the channel closes.

    gRPC closes a channel under the feet of its poller, which then dies in its thread with
    "Cannot monitor channel state: Channel closed!" (printed as an unhandled thread exception).
    The poller checks its subscribers every 0.2 s at most, so this waits that long at most.
    """
    # grpc.intercept_channel's wrapper keeps the channel as ``_channel``; a grpc Channel's own
    # ``_channel`` is its Cython channel, so tell them apart by the connectivity state.
    raw = channel if hasattr(channel, "_connectivity_state") else channel._channel
    raw.unsubscribe(_ignore)
    state = raw._connectivity_state
    deadline = time.monotonic() + 0.5
    while state.polling and time.monotonic() < deadline:
        time.sleep(0.005)
