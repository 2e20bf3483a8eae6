"""Helpers shared by the test modules of this directory (tests/_sync/helpers.py is generated
from tests/_async/helpers.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import AsyncIterable, Callable, Iterator
from pathlib import Path
from typing import Any

import etcdmap
from etcdmap import AsyncClient
from etcdmap.metrics import ClientHooks
from etcdmap.testing import EtcdServer, find_binary


async def collect(
    watcher: AsyncIterable[etcdmap.WatchResponse], until_revision: int
) -> list[etcdmap.Event]:
    """Every event the watcher delivers up to and including ``until_revision``."""
    seen: list[etcdmap.Event] = []
    async for response in watcher:
        seen.extend(response.events)
        if seen and seen[-1].kv.mod_revision >= until_revision:
            break
    return seen


async def put_retrying(client: AsyncClient, key: str, value: str) -> int:
    """Write through an outage: retry until the cluster answers, and return the revision of
    the write (a retried write whose first try did apply shows up as one more revision,
    which watchers and mirrors must also see)."""
    for _ in range(300):
        try:
            return (await client.put(key, value, timeout=2)).header.revision
        except etcdmap.EtcdError:
            await asyncio.sleep(0.1)
    raise AssertionError(f"could not write {key}")


@contextlib.contextmanager
def frozen(server: EtcdServer, thaw_after: float | None = None) -> Iterator[None]:
    """Freeze the etcd process (SIGSTOP) during the block, then let it run again (SIGCONT):
    its connections stay open but nothing on them moves, unlike a killed server's. With
    ``thaw_after``, a timer lets it run again after that many seconds, while a call of the
    block still waits."""
    pid = server.pid
    assert pid is not None, f"{server!r} is not running"
    os.kill(pid, signal.SIGSTOP)
    timer = threading.Timer(thaw_after or 0.0, os.kill, (pid, signal.SIGCONT))
    try:
        # the signal stops the threads one by one: wait until none runs any more
        tasks = Path(f"/proc/{pid}/task")
        deadline = time.monotonic() + 5
        while any(_state(task) not in "Tt" for task in tasks.iterdir()):
            assert time.monotonic() < deadline, f"{server!r} did not stop"
            time.sleep(0.001)
        if thaw_after is not None:
            timer.start()
        yield
    finally:
        timer.cancel()
        if timer.is_alive():
            timer.join()
        os.kill(pid, signal.SIGCONT)


async def session_keys(client: AsyncClient, prefix: str, lease: int) -> list[bytes]:
    """The keys under ``prefix`` on ``lease`` (a session's)."""
    found = await client.get(prefix, prefix=True, keys_only=True)
    return [kv.key for kv in found.kvs if kv.lease == lease]


async def unknown_outcomes_leave_no_key(
    server: EtcdServer, client: AsyncClient, lease: int, prefix: str,
    attempt: Callable[[], Any], *, thaw_after: float = 0.32, tries: int = 12,
) -> bool:
    """Run ``attempt()``, which queues a key on ``lease`` under ``prefix`` with a 0.3 s
    timeout, on a frozen server that runs again ``thaw_after`` seconds later: the write
    times out (an ``OutcomeUnknownError``), and the server sometimes applies it once it runs
    (when it reads the write before the client's cancel: a quarter to a half of the tries).
    Check that no key of the lease is left; again until a try's write was applied (the
    revision moved), at most ``tries`` times. Whether one was."""
    for _ in range(tries):
        before = (await client.get(prefix)).header.revision
        with frozen(server, thaw_after=thaw_after):
            await attempt()
        await asyncio.sleep(0.1)  # lets a write that raced the error land
        left = await session_keys(client, prefix, lease)
        assert left == [], f"keys left after a write with an unknown outcome: {left}"
        if (await client.get(prefix)).header.revision > before:
            return True
    return False


def _state(task: Path) -> str:
    """The scheduler state letter of a thread (``/proc/<pid>/task/<tid>``); "T" if gone."""
    try:
        return task.joinpath("stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "T"


def etcdctl_background(server: EtcdServer, *args: str, delay: float = 0.0) -> subprocess.Popen[str]:
    """``etcdctl *args`` running in the background (lock / elect block while they hold),
    started after ``delay`` seconds."""
    command = [find_binary("etcdctl"), f"--endpoints={server.endpoint}", *args]
    if delay:
        command = ["sh", "-c", f'sleep {delay}; exec "$@"', "etcdctl-later", *command]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop(proc: subprocess.Popen[str]) -> None:
    """Kill ``proc`` if it still runs, and release its pipes."""
    if proc.poll() is None:
        proc.kill()
    proc.communicate()


def finished(proc: subprocess.Popen[str]) -> None:
    """Wait for ``proc`` (killed if it hangs) and check it succeeded."""
    try:
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            stop(proc)
    assert proc.returncode == 0, err


class KVCalls(ClientHooks):
    """Client hooks that record the KV RPCs a client sends (``methods``, in order) and how
    each ended (``codes``: method and gRPC status code); ``rpcs`` has every RPC, of any
    service."""

    def __init__(self) -> None:
        self.methods: list[str] = []
        self.codes: list[tuple[str, str]] = []
        self.rpcs: list[str] = []

    def rpc_started(self, method: str, metadata: list[tuple[str, str]]) -> object:
        self.rpcs.append(method)
        if method.startswith("KV/"):
            self.methods.append(method)
        return None

    def rpc_finished(self, method: str, code: str, seconds: float, state: object) -> None:
        if method.startswith("KV/"):
            self.codes.append((method, code))
