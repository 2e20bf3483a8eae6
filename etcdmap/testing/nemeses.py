"""Nemeses: faults injected into test etcd servers, each bounded and healed on exit.

A nemesis is a context manager: the fault holds for the block and is undone
when the block ends, also when it raises.  The lifecycle of a server or a
cluster member -- ``kill(sig)`` (``SIGKILL``, ``SIGTERM``, ``SIGSTOP``,
``SIGCONT``), ``stop()``, ``restart()`` -- is on :class:`~etcdmap.testing.EtcdServer`
and :class:`~etcdmap.testing.EtcdCluster` (which also has ``alone(member)``:
every other member killed for the block); the nemeses here are built on them.

The cluster nemeses take the member to hit as an index, an
:class:`~etcdmap.testing.EtcdServer`, ``"leader"`` or ``"follower"`` (found
with the maintenance Status RPC, ``etcdctl endpoint status``, when the block
starts).  The partition nemeses (:func:`isolated`, :func:`severed`,
:func:`delayed`) need ``EtcdCluster(..., proxied=True)``: they set the rules of
the cluster's TCP proxies and let all traffic pass again on exit.

Examples
--------
>>> with EtcdServer() as srv, frozen(srv):          # doctest: +SKIP
...     client.get("k", timeout=0.5)                 # times out: nothing answers
>>> with outage(srv):                                # doctest: +SKIP
...     ...                                          # SIGKILL-ed; restarted after
>>> with EtcdCluster(3, proxied=True) as cluster:   # doctest: +SKIP
...     with isolated(cluster, "leader"):            # a new leader is elected
...         ...
...     with killed(cluster, "follower"), severed(cluster, 0, 1):
...         ...
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Literal, TypeAlias

from .._core.public import publish
from ._cluster import EtcdCluster
from ._etcdctl import EtcdctlRunner
from ._proxy import Link
from ._server import EtcdServer

__all__ = [
    "Link",
    "Member",
    "compact",
    "delayed",
    "frozen",
    "hold",
    "isolated",
    "killed",
    "outage",
    "paused",
    "pick",
    "severed",
]

_STOPPED_WITHIN = 5.0

Member: TypeAlias = "int | EtcdServer | Literal['leader', 'follower']"
"""A cluster member named by index, by object, or as the current ``"leader"`` or a
``"follower"``."""


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


def pick(cluster: EtcdCluster, member: Member) -> int:
    """The index of `member` in ``cluster.members``.

    ``"leader"`` and ``"follower"`` ask every running member for its status (the
    maintenance Status RPC, through ``etcdctl endpoint status``), waiting up to 10 s
    for them to agree on a running leader.

    Raises
    ------
    ValueError
        If `member` is not a member of `cluster`, or an unknown name.
    IndexError
        If an index is out of range.
    """
    if member == "leader":
        return cluster.leader()
    if member == "follower":
        return cluster.follower()
    if isinstance(member, EtcdServer):
        return cluster.index(cluster._member(member))
    if isinstance(member, int) and not isinstance(member, bool):
        if not 0 <= member < len(cluster.members):
            raise IndexError(f"member={member!r} is not in 0..{len(cluster.members) - 1}")
        return member
    raise ValueError(f"member={member!r}: give an index, an EtcdServer, 'leader' or 'follower'")


@contextlib.contextmanager
def killed(cluster: EtcdCluster, member: Member = "leader") -> Iterator[EtcdServer]:
    """``SIGKILL`` one member for the block; restart it (on its data) when the block ends.

    Parameters
    ----------
    cluster : EtcdCluster
        A running cluster.
    member : Member
        The member to kill: an index, an ``EtcdServer``, ``"leader"`` (the default)
        or ``"follower"``.

    Yields
    ------
    EtcdServer
        The killed member.
    """
    with outage(cluster.members[pick(cluster, member)]) as server:
        yield server


@contextlib.contextmanager
def paused(cluster: EtcdCluster, member: Member = "leader") -> Iterator[EtcdServer]:
    """Freeze one member (``SIGSTOP``) for the block, ``SIGCONT`` it after: see :func:`frozen`.

    Parameters
    ----------
    cluster : EtcdCluster
        A running cluster.
    member : Member
        The member to pause (default ``"leader"``).

    Yields
    ------
    EtcdServer
        The paused member.
    """
    with frozen(cluster.members[pick(cluster, member)]) as server:
        yield server


def _proxies(cluster: EtcdCluster) -> None:
    if not cluster.peer_proxies:
        raise RuntimeError(
            f"{cluster!r} has no proxies: start it with EtcdCluster(..., proxied=True)"
        )


def _check_link(link: Link) -> None:
    if link is Link.PASS:
        raise ValueError("link=Link.PASS partitions nothing; use Link.BLACKHOLE or Link.CUT")


@contextlib.contextmanager
def isolated(
    cluster: EtcdCluster, member: Member = "leader", link: Link = Link.BLACKHOLE
) -> Iterator[int]:
    """Partition one member from its clients and its peers for the block, then heal.

    The member's client proxy and peer proxy, and the other members' peer proxies
    for the connections it dialled, all apply `link`.  Without a quorum on its side an
    isolated leader steps down; the others elect a new one.

    Parameters
    ----------
    cluster : EtcdCluster
        A running cluster started with ``proxied=True``.
    member : Member
        The member to isolate (default ``"leader"``).
    link : Link
        ``Link.BLACKHOLE`` (the default: connections stay open, bytes are dropped,
        calls wait for their deadlines) or ``Link.CUT`` (connections are closed and
        refused).

    Yields
    ------
    int
        The index of the isolated member.

    Raises
    ------
    RuntimeError
        If the cluster has no proxies.
    ValueError
        If `link` is ``Link.PASS``.
    """
    _proxies(cluster)
    _check_link(link)
    index = pick(cluster, member)
    name = cluster.members[index].name
    try:
        cluster.client_proxies[index].set(link)
        cluster.peer_proxies[index].set(link)
        for other, proxy in enumerate(cluster.peer_proxies):
            if other != index:
                proxy.set(link, source=name)
        yield index
    finally:
        cluster.heal_proxies()


@contextlib.contextmanager
def severed(
    cluster: EtcdCluster, a: Member, b: Member, link: Link = Link.CUT
) -> Iterator[tuple[int, int]]:
    """Cut the peer link between two members (both ways) for the block, then heal.

    Each still reaches the third member and the clients, so the cluster keeps a
    quorum; a leader at one end loses a follower, and raft messages between the two
    go nowhere.

    Parameters
    ----------
    cluster : EtcdCluster
        A running cluster started with ``proxied=True``.
    a, b : Member
        The two members (distinct).
    link : Link
        ``Link.CUT`` (the default) or ``Link.BLACKHOLE``.

    Yields
    ------
    tuple of int
        The indexes of the two members.

    Raises
    ------
    RuntimeError
        If the cluster has no proxies.
    ValueError
        If `a` and `b` are the same member, or `link` is ``Link.PASS``.
    """
    _proxies(cluster)
    _check_link(link)
    first, second = pick(cluster, a), pick(cluster, b)
    if first == second:
        raise ValueError(f"a={a!r} and b={b!r} are the same member (index {first})")
    try:
        cluster.peer_proxies[first].set(link, source=cluster.members[second].name)
        cluster.peer_proxies[second].set(link, source=cluster.members[first].name)
        yield first, second
    finally:
        cluster.heal_proxies()


@contextlib.contextmanager
def delayed(cluster: EtcdCluster, member: Member, delay: float) -> Iterator[int]:
    """Delay every byte to and from one member (clients and peers) by `delay` s for the block.

    Parameters
    ----------
    cluster : EtcdCluster
        A running cluster started with ``proxied=True``.
    member : Member
        The slow member.
    delay : float
        Seconds added to each chunk relayed to or from it (both ways, so a round trip
        takes twice as long).

    Yields
    ------
    int
        The index of the slow member.

    Raises
    ------
    RuntimeError
        If the cluster has no proxies.
    ValueError
        If `delay` is negative.
    """
    _proxies(cluster)
    if delay < 0:
        raise ValueError(f"delay={delay!r} must be >= 0 seconds")
    index = pick(cluster, member)
    name = cluster.members[index].name
    try:
        cluster.client_proxies[index].set(Link.PASS, delay=delay)
        cluster.peer_proxies[index].set(Link.PASS, delay=delay)
        for other, proxy in enumerate(cluster.peer_proxies):
            if other != index:
                proxy.set(Link.PASS, source=name, delay=delay)
        yield index
    finally:
        cluster.heal_proxies()


def compact(target: EtcdctlRunner, revision: int | None = None) -> int:
    """Compact the keyspace of a server or cluster at `revision` (default: the current one).

    Runs the maintenance Status RPC (for the current revision) and the KV Compact RPC
    with ``--physical`` through ``etcdctl``; nothing to heal: watches and reads below
    the revision fail with ``CompactedError`` from now on.

    Parameters
    ----------
    target : EtcdServer or EtcdCluster
        Where to compact.
    revision : int, optional
        The revision to compact at (> 0).

    Returns
    -------
    int
        The revision compacted at.

    Raises
    ------
    ValueError
        If `revision` is not positive.
    EtcdCommandError
        If etcdctl fails, e.g. the revision is already compacted or in the future.
    """
    if revision is None:
        statuses = json.loads(target.etcdctl("endpoint", "status", "-w", "json", timeout=10))
        revision = max(int(status["Status"]["header"]["revision"]) for status in statuses)
    if revision < 1:
        raise ValueError(f"revision={revision!r} must be > 0")
    target.etcdctl("compaction", "--physical", str(revision), timeout=30)
    return revision


def hold(fault: AbstractContextManager[object], seconds: float) -> None:
    """Hold `fault` (any nemesis) for `seconds`, then heal it: a fault as one bounded call.

    Examples
    --------
    >>> hold(isolated(cluster, "leader"), 3.0)       # doctest: +SKIP
    """
    if seconds < 0:
        raise ValueError(f"seconds={seconds!r} must be >= 0")
    with fault:
        time.sleep(seconds)


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
