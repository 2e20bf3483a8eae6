"""The committed events of a run, as another client saw them: ``etcdctl watch`` (etcd's own
Go client, not the library under test), from the run's first revision, straight to the
members (not through the proxies)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from collections.abc import Sequence

from .._binaries import find_binary
from .._process import child_env
from ..history import WatchEvent


class TruthWatch:
    """``etcdctl watch --prefix PREFIX --rev=START -w json`` writing to files; a context
    manager that kills it on exit.

    etcdctl's watch requires a leader: on a member cut off from its peers it ends.  It is
    then started again from the revision after the last one it printed (on any member).

    Parameters
    ----------
    endpoints : sequence of str
        The members' own client endpoints.
    prefix : str
        The run's private prefix.
    start_revision : int
        The first revision of the run.
    path : str
        Where etcdctl's output goes (one file per start: ``path.0``, ``path.1``, ...).
    """

    def __init__(
        self, endpoints: Sequence[str], prefix: str, start_revision: int, path: str
    ) -> None:
        self.endpoints = list(endpoints)
        self.prefix = prefix
        self.start_revision = start_revision
        self.path = path
        self._paths: list[str] = []
        self._proc = self._start(start_revision)

    def _start(self, revision: int) -> subprocess.Popen[bytes]:
        command = [
            find_binary("etcdctl"), "--endpoints", ",".join(self.endpoints),
            "--command-timeout", "5s", "--keepalive-time", "1s", "--keepalive-timeout", "2s",
            "watch", "--prefix", self.prefix, f"--rev={revision}", "-w", "json",
        ]  # fmt: skip
        path = f"{self.path}.{len(self._paths)}"
        self._paths.append(path)
        with open(path, "wb") as out:
            return subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.DEVNULL,
                env=child_env("ETCDCTL_"),
            )

    def events(self, until: int, timeout: float = 15.0) -> list[WatchEvent]:
        """Every event up to revision `until` (keys without the prefix), waiting up to
        `timeout` s for etcdctl to print it (and starting it again if it ended).

        Raises
        ------
        TimeoutError
            If etcdctl has not printed revision `until` by then.
        """
        deadline = time.monotonic() + timeout
        while True:
            events = self._read()
            seen = events[-1].mod_revision if events else self.start_revision - 1
            if seen >= until:
                return [event for event in events if event.mod_revision <= until]
            if self._proc.poll() is not None:
                self._proc = self._start(seen + 1)
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"etcdctl watch of {self.prefix!r} saw revision {seen}, not {until}, "
                    f"within {timeout} s ({len(self._paths)} starts)"
                )
            time.sleep(0.1)

    def _read(self) -> list[WatchEvent]:
        strip = len(self.prefix)
        events: list[WatchEvent] = []
        for path in self._paths:
            with open(path, "rb") as lines:
                for line in lines:
                    if not line.endswith(b"\n"):
                        break  # being written
                    response = json.loads(line)
                    for event in response.get("Events") or ():
                        kv = event["kv"]
                        revision = int(kv["mod_revision"])
                        if events and revision <= events[-1].mod_revision:
                            continue  # printed again by the next start: keep it once
                        delete = event.get("type") == 1
                        value = None if delete else base64.b64decode(kv.get("value", ""))
                        events.append(
                            WatchEvent(
                                key=base64.b64decode(kv["key"]).decode()[strip:],
                                kind="delete" if delete else "put",
                                value=None if value is None else value.decode(),
                                mod_revision=revision,
                            )
                        )
        return events

    def close(self) -> None:
        """Kill etcdctl and remove its output."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait(10)
        for path in self._paths:
            if os.path.exists(path):
                os.remove(path)

    def __enter__(self) -> TruthWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
