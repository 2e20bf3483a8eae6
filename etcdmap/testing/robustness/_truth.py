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
    """``etcdctl watch --prefix PREFIX --rev=START -w json`` writing to a file; a context
    manager that kills it on exit.

    Parameters
    ----------
    endpoints : sequence of str
        The members' own client endpoints.
    prefix : str
        The run's private prefix.
    start_revision : int
        The first revision of the run.
    path : str
        Where etcdctl's output goes.
    """

    def __init__(
        self, endpoints: Sequence[str], prefix: str, start_revision: int, path: str
    ) -> None:
        self.prefix = prefix
        self.path = path
        command = [
            find_binary("etcdctl"), "--endpoints", ",".join(endpoints),
            "--command-timeout", "5s", "--keepalive-time", "1s", "--keepalive-timeout", "2s",
            "watch", "--prefix", prefix, f"--rev={start_revision}", "-w", "json",
        ]  # fmt: skip
        with open(path, "wb") as out:
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.DEVNULL,
                env=child_env("ETCDCTL_"),
            )

    def events(self, until: int, timeout: float = 15.0) -> list[WatchEvent]:
        """Every event up to revision `until` (keys without the prefix), waiting up to
        `timeout` s for etcdctl to print it.

        Raises
        ------
        TimeoutError
            If etcdctl has not printed revision `until` by then.
        """
        deadline = time.monotonic() + timeout
        while True:
            events = self._read()
            if events and events[-1].mod_revision >= until:
                return [event for event in events if event.mod_revision <= until]
            if time.monotonic() >= deadline or self._proc.poll() is not None:
                seen = events[-1].mod_revision if events else 0
                raise TimeoutError(
                    f"etcdctl watch of {self.prefix!r} saw revision {seen}, not {until}, "
                    f"within {timeout} s (exit status {self._proc.poll()})"
                )
            time.sleep(0.1)

    def _read(self) -> list[WatchEvent]:
        strip = len(self.prefix)
        events: list[WatchEvent] = []
        with open(self.path, "rb") as lines:
            for line in lines:
                if not line.endswith(b"\n"):
                    break  # being written
                response = json.loads(line)
                for event in response.get("Events") or ():
                    kv = event["kv"]
                    delete = event.get("type") == 1
                    value = None if delete else base64.b64decode(kv.get("value", "")).decode()
                    events.append(
                        WatchEvent(
                            key=base64.b64decode(kv["key"]).decode()[strip:],
                            kind="delete" if delete else "put",
                            value=value,
                            mod_revision=int(kv["mod_revision"]),
                        )
                    )
        return events

    def close(self) -> None:
        """Kill etcdctl and remove its output."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait(10)
        if os.path.exists(self.path):
            os.remove(self.path)

    def __enter__(self) -> TruthWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
