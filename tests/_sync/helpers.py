# Generated from tests/_async/helpers.py by scripts/unasync: do not edit.
"""Helpers shared by the test modules of this directory (tests/_sync/helpers.py is generated
from tests/_async/helpers.py)."""

from __future__ import annotations

import time
import subprocess
from collections.abc import Iterable, Callable
from typing import Any

import etcdmap
from etcdmap import Client, KV, Op
from etcdmap.metrics import ClientHooks
from etcdmap.testing import EtcdServer, find_binary
from etcdmap.testing.nemeses import frozen


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


def session_keys(client: Client, prefix: str, lease: int) -> list[bytes]:
    """The keys under ``prefix`` on ``lease`` (a session's)."""
    found = client.get(prefix, prefix=True, keys_only=True)
    return [kv.key for kv in found.kvs if kv.lease == lease]


def unknown_outcomes_leave_no_key(
    server: EtcdServer, client: Client, lease: int, prefix: str,
    attempt: Callable[[], Any], *, thaw_after: float = 0.32, tries: int = 12,
) -> bool:
    """Run ``attempt()``, which queues a key on ``lease`` under ``prefix`` with a 0.3 s
    timeout, on a frozen server that runs again ``thaw_after`` seconds later: the write
    times out (an ``OutcomeUnknownError``), and the server sometimes applies it once it runs
    (when it reads the write before the client's cancel: a quarter to a half of the tries).
    Check that no key of the lease is left; again until a try's write was applied (the
    revision moved), at most ``tries`` times. Whether one was."""
    for _ in range(tries):
        before = (client.get(prefix)).header.revision
        with frozen(server, thaw_after=thaw_after):
            attempt()
        time.sleep(0.1)  # lets a write that raced the error land
        left = session_keys(client, prefix, lease)
        assert left == [], f"keys left after a write with an unknown outcome: {left}"
        if (client.get(prefix)).header.revision > before:
            return True
    return False


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


class Intruder(KV):
    """A KV that lets another writer in just before its ``txn_number``-th Txn: ``write()``
    runs on the real client first (a concurrent writer, made deterministic)."""

    def __init__(self, client: Client, write: Any, txn_number: int = 1) -> None:
        self.client = client
        self._write = write
        self._txns = 0
        self._at = txn_number

    def do(self, op: Op[Any], *, timeout: float | None = None) -> Any:
        if op.kind == "txn":
            self._txns += 1
            if self._txns == self._at:
                self._write()
        return self.client.do(op, timeout=timeout)
