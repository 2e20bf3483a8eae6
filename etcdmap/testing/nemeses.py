"""Nemeses: faults injected into test etcd servers, each bounded and healed on exit.

A nemesis is a context manager: the fault holds for the block and is undone
when the block ends, also when it raises.  The lifecycle of a server or a
cluster member -- ``kill(sig)`` (``SIGKILL``, ``SIGTERM``, ``SIGSTOP``,
``SIGCONT``), ``stop()``, ``restart()`` -- is on :class:`~etcdmap.testing.EtcdServer`
and :class:`~etcdmap.testing.EtcdCluster` (which also has ``alone(member)``:
every other member killed for the block); the nemeses here are built on them.

Examples
--------
>>> with EtcdServer() as srv, frozen(srv):          # doctest: +SKIP
...     client.get("k", timeout=0.5)                 # times out: nothing answers
>>> with outage(srv):                                # doctest: +SKIP
...     ...                                          # SIGKILL-ed; restarted after
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from .._core.public import publish
from ._server import EtcdServer

__all__ = ["frozen", "outage"]

_STOPPED_WITHIN = 5.0


@contextlib.contextmanager
def frozen(server: EtcdServer, thaw_after: float | None = None) -> Iterator[EtcdServer]:
    """Freeze the etcd process (``SIGSTOP``) for the block, then let it run (``SIGCONT``).

    Unlike a killed server's, the frozen server's connections stay open, but
    nothing on them moves: a call waits until its own deadline.  The block
    starts once every thread of the process has stopped.

    Parameters
    ----------
    server : EtcdServer
        A running server (or cluster member).
    thaw_after : float, optional
        Let the server run again after this many seconds, while a call of
        the block still waits.  By default it runs again when the block ends.

    Yields
    ------
    EtcdServer
        `server`, frozen.

    Raises
    ------
    ValueError
        If `thaw_after` is negative.
    RuntimeError
        If `server` is not running.
    TimeoutError
        If its threads do not all stop within 5 s (it is let run again first).
    """
    if thaw_after is not None and thaw_after < 0:
        raise ValueError(f"thaw_after={thaw_after!r} must be >= 0 seconds")
    pid = server.pid
    if pid is None:
        raise RuntimeError(f"cannot freeze {server!r}: it is not running")
    server.kill(signal.SIGSTOP)
    timer = threading.Timer(thaw_after or 0.0, server.kill, (signal.SIGCONT,))
    try:
        _wait_stopped(pid, server)
        if thaw_after is not None:
            timer.start()
        yield server
    finally:
        timer.cancel()
        if timer.is_alive():
            timer.join()
        server.kill(signal.SIGCONT)


@contextlib.contextmanager
def outage(server: EtcdServer, sig: int = signal.SIGKILL) -> Iterator[EtcdServer]:
    """Take the server down for the block, and bring it back after it.

    Parameters
    ----------
    server : EtcdServer
        A server (or cluster member) started before.
    sig : int
        ``SIGKILL`` (the default) or another signal that ends the process
        (e.g. ``SIGTERM``): the server is gone for the block and restarted
        after it, on its data and ports.  ``SIGSTOP``: it is :func:`frozen`
        for the block (its connections stay open) and let run after it.

    Yields
    ------
    EtcdServer
        `server`, down.

    Raises
    ------
    ValueError
        If `sig` is ``SIGCONT``, which takes nothing down.
    """
    if sig == signal.SIGCONT:
        raise ValueError("sig=SIGCONT takes nothing down; use SIGKILL, SIGTERM or SIGSTOP")
    if sig == signal.SIGSTOP:
        with frozen(server):
            yield server
        return
    server.kill(sig)
    try:
        yield server
    finally:
        server.restart()


def _wait_stopped(pid: int, server: EtcdServer) -> None:
    """Wait until no thread of `pid` runs: SIGSTOP stops them one by one (Linux; elsewhere
    return at once)."""
    tasks = Path(f"/proc/{pid}/task")
    if not tasks.is_dir():
        return
    deadline = time.monotonic() + _STOPPED_WITHIN
    while any(_state(task) not in "Tt" for task in _tasks(tasks)):
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{server!r} did not stop within {_STOPPED_WITHIN} s of SIGSTOP")
        time.sleep(0.001)


def _tasks(tasks: Path) -> list[Path]:
    """The threads of a process (none once it is gone)."""
    try:
        return list(tasks.iterdir())
    except FileNotFoundError:
        return []


def _state(task: Path) -> str:
    """The scheduler state letter of a thread (``/proc/<pid>/task/<tid>``); "T" if gone."""
    try:
        return task.joinpath("stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "T"


publish(__name__)
