# Generated from tests/_async/helpers.py by scripts/unasync: do not edit.
"""Helpers shared by the test modules of this directory (tests/_sync/helpers.py is generated
from tests/_async/helpers.py)."""

from __future__ import annotations

import time
import contextlib
import os
import signal
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

import etcdmap
from etcdmap import Client
from etcdmap.metrics import ClientHooks
from etcdmap.testing import EtcdServer, find_binary


def collect(
    watcher: Iterable[etcdmap.WatchResponse], until_revision: int
) -> list[etcdmap.Event]:
    """Every event the watcher delivers up to and including ``until_revision``."""
    seen: list[etcdmap.Event] = []
    for response in watcher:
        seen.extend(response.events)
        if seen and seen[-1].kv.mod_revision >= until_revision:
            break
    return seen


def put_retrying(client: Client, key: str, value: str) -> int:
    """Write through an outage: retry until the cluster answers, and return the revision of
    the write (a retried write whose first try did apply shows up as one more revision,
    which watchers and mirrors must also see)."""
    for _ in range(300):
        try:
            return (client.put(key, value, timeout=2)).header.revision
        except etcdmap.EtcdError:
            time.sleep(0.1)
    raise AssertionError(f"could not write {key}")


@contextlib.contextmanager
def frozen(server: EtcdServer) -> Iterator[None]:
    """Freeze the etcd process (SIGSTOP) during the block, then let it run again (SIGCONT):
    its connections stay open but nothing on them moves, unlike a killed server's."""
    pid = server.pid
    assert pid is not None, f"{server!r} is not running"
    os.kill(pid, signal.SIGSTOP)
    try:
        # the signal stops the threads one by one: wait until none runs any more
        tasks = Path(f"/proc/{pid}/task")
        deadline = time.monotonic() + 5
        while any(_state(task) not in "Tt" for task in tasks.iterdir()):
            assert time.monotonic() < deadline, f"{server!r} did not stop"
            time.sleep(0.001)
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


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
