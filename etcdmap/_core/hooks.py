"""Observation hooks: what a client reports about its RPCs, retries and watch resumes.

Hooks are off by default: a client without ``hooks=`` builds its channels without
interceptors, so no call pays for them. With hooks, gRPC client interceptors (in
``_backends``) call ``HookSet.start`` / ``HookSet.finish`` around every RPC, and the client
reports retries and watch resumes. ``etcdmap.metrics`` has Prometheus and logging hooks; an
OpenTelemetry hook subclasses ``ClientHooks``, opens a span in ``rpc_started`` (adding the
trace context to ``metadata``) and ends it in ``rpc_finished``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

__all__ = ["ClientHooks", "HookSet", "Started", "rpc_name"]


class ClientHooks:
    """Base class of client hooks; every method does nothing unless overridden.

    Methods run on the caller's thread or task (``rpc_finished`` of a stream runs on gRPC's
    callback thread or the event loop): keep them short and never block. An exception from
    a hook propagates into the call, so hooks must not raise.
    """

    def rpc_started(self, method: str, metadata: list[tuple[str, str]]) -> object:
        """An RPC ``method`` (``"KV/Range"``) is about to start. Append to ``metadata`` to
        send more (e.g. a trace context); the return value comes back in ``rpc_finished``."""
        return None

    def rpc_finished(self, method: str, code: str, seconds: float, state: object) -> None:
        """An RPC ended with gRPC status ``code`` (``"OK"``, ``"UNAVAILABLE"``, ...) after
        ``seconds`` (for a stream: its whole life)."""

    def rpc_retried(self, method: str, code: str) -> None:
        """The client sends ``method`` again after a failure with ``code`` (retry policy)."""

    def watch_resumed(self, endpoint: str) -> None:
        """The watch stream broke and was re-opened on ``endpoint``; its watchers resume."""

    def mirror_lag(self, name: str, revisions: int) -> None:
        """A mirror (cache) named ``name`` is ``revisions`` behind the newest revision it
        knows of; mirrors call it when they apply events."""


def rpc_name(path: str | bytes) -> str:
    """``"KV/Range"`` from a gRPC method path ``"/etcdserverpb.KV/Range"`` (grpc.aio gives
    it as bytes)."""
    if isinstance(path, bytes):
        path = path.decode()
    service, _, method = path.lstrip("/").partition("/")
    return f"{service.rpartition('.')[2]}/{method}"


class Started:
    """One RPC in flight: its name, start time and the hooks' states."""

    __slots__ = ("method", "start", "states")

    def __init__(self, method: str, start: float, states: list[object]) -> None:
        self.method = method
        self.start = start
        self.states = states


class HookSet:
    """Several hooks called as one (the client holds one, or None when there are none)."""

    def __init__(self, hooks: ClientHooks | Sequence[ClientHooks]) -> None:
        self.hooks = (hooks,) if isinstance(hooks, ClientHooks) else tuple(hooks)
        for hook in self.hooks:
            if not isinstance(hook, ClientHooks):
                raise TypeError(f"hooks: {hook!r} is not a ClientHooks instance")

    def start(self, path: str | bytes, metadata: list[tuple[str, str]]) -> Started:
        """Tell every hook an RPC starts; ``metadata`` collects what they add."""
        method = rpc_name(path)
        states = [hook.rpc_started(method, metadata) for hook in self.hooks]
        return Started(method, time.perf_counter(), states)

    def finish(self, started: Started, code: str) -> None:
        """Tell every hook the RPC ``started`` ended with ``code``."""
        seconds = time.perf_counter() - started.start
        for hook, state in zip(self.hooks, started.states, strict=True):
            hook.rpc_finished(started.method, code, seconds, state)

    def retried(self, method: str, code: str) -> None:
        for hook in self.hooks:
            hook.rpc_retried(method, code)

    def watch_resumed(self, endpoint: str) -> None:
        for hook in self.hooks:
            hook.watch_resumed(endpoint)

    def mirror_lag(self, name: str, revisions: int) -> None:
        for hook in self.hooks:
            hook.mirror_lag(name, revisions)
