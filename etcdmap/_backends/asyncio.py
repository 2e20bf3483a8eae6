"""asyncio primitives: grpc.aio channels and streams, tasks, queues and events."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import math
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, Generic, TypeVar

import grpc
import grpc.aio

from .._core.hooks import HookSet, Started
from .._core.tls import TLSMaterial

__all__ = [
    "BLOCKING", "Ahead", "BidiStream", "Event", "Lock", "Queue", "SharedReader", "Worker",
    "close_channel_now", "flatten", "open_channel", "running_loop", "settle", "sleep",
    "uninterruptible",
]  # fmt: skip

Queue = asyncio.Queue
Lock = asyncio.Lock
#: Calls of this flavour never block their thread: there is no loop to warn about.
BLOCKING = False
running_loop = asyncio._get_running_loop
T = TypeVar("T")
_END = object()
#: Loop turns from a new task to its unary call's request on the wire: the task itself,
#: grpc.aio's interceptor task (a client with hooks) and the call's own task, plus one spare.
_HOPS_TO_SEND = 4


def open_channel(
    target: str,
    options: list[tuple[str, Any]],
    tls: TLSMaterial | None = None,
    hooks: HookSet | None = None,
) -> Any:
    """A grpc.aio channel to ``target`` on the running event loop: TLS with ``tls``, else
    plaintext; with ``hooks``, an interceptor reports every unary call (without: none is
    installed, so calls keep grpc.aio's fast path)."""
    # Unary calls only: streams through grpc.aio stream interceptors were seen to stop
    # delivering responses, so watch / keep-alive / snapshot streams go uninstrumented here.
    interceptors: list[Any] | None = None if hooks is None else [_UnaryUnaryHooks(hooks)]
    if tls is None:
        return grpc.aio.insecure_channel(target, options=options, interceptors=interceptors)
    credentials = grpc.ssl_channel_credentials(
        tls.root_certificates, tls.private_key, tls.certificate_chain
    )
    return grpc.aio.secure_channel(
        target, credentials, options=options + tls.channel_options(), interceptors=interceptors
    )


class _UnaryUnaryHooks(grpc.aio.UnaryUnaryClientInterceptor):
    """Reports the unary calls of a grpc.aio channel to a ``HookSet``."""

    def __init__(self, hooks: HookSet) -> None:
        self._hooks = hooks

    def _start(self, details: Any) -> tuple[Started, Any]:
        extra: list[tuple[str, str]] = []
        started = self._hooks.start(details.method, extra)
        if extra:
            details = grpc.aio.ClientCallDetails(
                details.method, details.timeout,
                grpc.aio.Metadata(*(details.metadata or ()), *extra),
                details.credentials, details.wait_for_ready,
            )
        return started, details

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        started, details = self._start(details)
        call = await continuation(details, request)
        try:
            await call
        except grpc.RpcError:
            pass  # the caller awaits the call again and sees the error
        self._hooks.finish(started, (await call.code()).name)
        return call


class BidiStream:
    """A bidirectional gRPC stream: ``send`` requests, ``recv`` responses (None at the end).

    The call takes its requests from a queue, so ``send`` never waits: awaiting the call's
    ``write()`` would wait for the connection, forever on a server that accepted it but
    answers nothing (frozen), and with it whoever holds the lock the sender holds.
    """

    def __init__(self, method: Any, metadata: Any = None) -> None:
        self._requests: asyncio.Queue[Any] = asyncio.Queue()
        self._call = method(self._outgoing(), metadata=metadata)
        self._cancelled = False

    async def _outgoing(self) -> AsyncIterator[Any]:
        while (request := await self._requests.get()) is not _END:
            yield request

    async def send(self, request: Any) -> None:
        """Queue ``request`` on the stream (never waits)."""
        self._requests.put_nowait(request)

    async def recv(self) -> Any:
        """The next response; None when the stream ended or was cancelled by us."""
        try:
            response = await self._call.read()
        except asyncio.CancelledError:
            if self._cancelled:
                return None
            raise
        return None if response is grpc.aio.EOF else response

    def cancel(self) -> None:
        """End the stream from our side; a pending ``recv`` returns None."""
        self._cancelled = True
        self._requests.put_nowait(_END)
        self._call.cancel()


class Event:
    """An event that can be waited on with a timeout."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait until set or ``timeout`` seconds pass; True if it is set."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except asyncio.TimeoutError:
            pass
        return self._event.is_set()


class Worker:
    """A background task running ``target(*args)``."""

    def __init__(
        self, target: Callable[..., Coroutine[Any, Any, Any]], *args: Any, name: str
    ) -> None:
        loop = asyncio.get_running_loop()
        self._task: asyncio.Task[Any] = loop.create_task(target(*args), name=name)

    def is_current(self) -> bool:
        """Whether the caller runs inside this worker."""
        return asyncio.current_task() is self._task

    async def join(self, timeout: float | None = None) -> bool:
        """Stop the task and wait for it to end (cancelled, it ends at once: ``timeout`` is
        the threads twin's); True once it has ended."""
        if self.is_current():
            return False
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        return True


class Ahead(Generic[T]):
    """``call()`` started now, in a task of its own, and its outcome taken later by
    ``result()``: the next page read while the caller handles this one."""

    def __init__(self, call: Callable[[], Coroutine[Any, Any, T]]) -> None:
        self._task: asyncio.Task[T] = asyncio.get_running_loop().create_task(call())

    @classmethod
    async def start(cls, call: Callable[[], Coroutine[Any, Any, T]]) -> Ahead[T]:
        """``Ahead(call)``, run until its request is sent, so that the call goes on while
        the caller computes without awaiting anything (a call that is not sent yet would
        wait for the caller's next await)."""
        ahead = cls(call)
        for _ in range(_HOPS_TO_SEND):
            await asyncio.sleep(0)
        return ahead

    async def result(self) -> T:
        """The call's value, or its exception raised."""
        return await self._task

    def cancel(self) -> None:
        """Drop the call: cancelled if it still runs, its exception taken if it ended in
        one (so that none is logged as never retrieved)."""
        if not self._task.done():
            self._task.cancel()
        elif not self._task.cancelled():
            self._task.exception()


class SharedReader:
    """Feeds consumers, each with a queue of its own, from one source read a step at a time
    (``step()``: read one response and hand out its parts) by a task of its own, started by
    the first consumer to ask and ending once ``keep_reading()`` is false. Consumers only wait
    on their queues: a task switch is cheap, and a consumer cancelled while it waits (a
    timeout around a watch iteration) cannot cut a step in half. ``end`` is the threads
    twin's; here whoever ends the reading ends the queues.
    """

    def __init__(
        self,
        step: Callable[[], Coroutine[Any, Any, None]],
        keep_reading: Callable[[], bool],
        end: object,
    ) -> None:
        self._step = step
        self._keep_reading = keep_reading
        self._worker: Worker | None = None

    async def next(self, items: asyncio.Queue[Any], timeout: float | None = None) -> Any:
        """The next item of ``items``, starting the reader if it is not running;
        ``TimeoutError`` if none came within ``timeout`` seconds (``math.inf``: no limit,
        as None)."""
        if self._worker is None and self._keep_reading():
            self._worker = Worker(self._run, name="etcdmap-watch")
        if timeout is None or timeout == math.inf:
            return await items.get()
        try:
            return await asyncio.wait_for(items.get(), timeout)
        except asyncio.TimeoutError:  # not yet the builtin TimeoutError on Python 3.10
            raise TimeoutError(f"no item within {timeout}s") from None

    async def _run(self) -> None:
        try:
            while self._keep_reading():
                await self._step()
        finally:
            self._worker = None  # the next consumer to ask starts a new reader

    async def wake(self) -> None:
        """Nothing to do: consumers wait on their queues."""

    async def freed(self, items: asyncio.Queue[Any], grace: float) -> bool:
        """True: no consumer reads the source (the threads twin waits for one that does)."""
        return True

    async def close(self) -> None:
        """Stop the reader task (``keep_reading()`` has turned false)."""
        if self._worker is not None:
            await self._worker.join()


@contextlib.asynccontextmanager
async def uninterruptible() -> AsyncIterator[None]:
    """Nothing to hold back: only the reader task runs the block, and it is stopped only
    when the client closes (the threads twin defers Ctrl-C in the main thread)."""
    yield


async def settle(outcome: object) -> object:
    """Await ``outcome`` if a callback returned an awaitable; else return it as is."""
    if inspect.isawaitable(outcome):
        return await outcome
    return outcome


async def sleep(seconds: float) -> None:
    """Pause this task."""
    await asyncio.sleep(seconds)


async def flatten(pages: AsyncIterator[list[T]]) -> AsyncIterator[T]:
    """The items of ``pages``, one by one."""
    async for page in pages:
        for item in page:
            yield item


def close_channel_now(channel: Any) -> None:
    """Nothing to do from a finalizer, which cannot await ``close()``: a grpc.aio channel
    closes its core channel itself when it is dropped (``Channel.__del__``)."""
