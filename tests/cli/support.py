"""Running the ``etcdmap`` command in a subprocess, as users do."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

ROOT = Path(__file__).resolve().parents[2]

#: The console script when this checkout is installed (CI: pip install -e '.[test]'),
#: else exactly what it runs. ROOT first on sys.path: this checkout's etcdmap is imported.
_SCRIPT = shutil.which("etcdmap", path=os.path.dirname(sys.executable))
COMMAND = [_SCRIPT] if _SCRIPT else [
    sys.executable, "-c", "import sys; from etcdmap.cli import main; sys.exit(main())"
]

#: Bound of every command a test runs.
TIMEOUT = 30.0

_T = TypeVar("_T")


def environment(endpoints: Sequence[str] | None, **extra: str) -> dict[str, str]:
    """The command's environment: none of the caller's ETCDMAP_* / ETCDCTL_* settings,
    ``ETCDMAP_ENDPOINTS`` set to ``endpoints`` (unless None), and ``extra``."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("ETCDMAP_", "ETCDCTL_", "ETCD_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep
    )
    env.pop("NO_COLOR", None)
    if endpoints is not None:
        env["ETCDMAP_ENDPOINTS"] = ",".join(endpoints)
    env.update(extra)
    return env


class Result:
    """What a finished command did."""

    def __init__(self, done: subprocess.CompletedProcess[bytes]) -> None:
        self.code = done.returncode
        self.stdout = done.stdout
        self.out = done.stdout.decode("utf-8", "replace")
        self.err = done.stderr.decode("utf-8", "replace")

    def __repr__(self) -> str:
        return f"Result(code={self.code}, out={self.out[:2000]!r}, err={self.err[:2000]!r})"


class Cli:
    """``cli("get", "k")``: run ``etcdmap get k`` against one server and return a Result."""

    def __init__(self, endpoints: Sequence[str]) -> None:
        self.endpoints = list(endpoints)

    def env(self, **extra: str) -> dict[str, str]:
        return environment(self.endpoints, **extra)

    def __call__(
        self,
        *args: str,
        input: bytes | str = b"",
        env: Mapping[str, str] | None = None,
        code: int | None = 0,
    ) -> Result:
        data = input.encode() if isinstance(input, str) else input
        done = subprocess.run(
            [*COMMAND, *args], input=data, capture_output=True, timeout=TIMEOUT,
            env=dict(env) if env is not None else self.env(), cwd=ROOT,
        )
        result = Result(done)
        if code is not None:
            assert result.code == code, result
        return result

    def start(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start a long-running command (watch, copy --follow, lock, dev)."""
        return subprocess.Popen(
            [*COMMAND, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=dict(env) if env is not None else self.env(), cwd=ROOT,
        )


def wait_until(check: Callable[[], _T], timeout: float = TIMEOUT, what: str = "") -> _T:
    """Call ``check`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"not within {timeout}s: {what or check}"
        time.sleep(0.05)


def read_line(stream: IO[bytes] | None) -> bytes:
    """One line of a child's output (the child is bounded by the test's timeout)."""
    assert stream is not None
    return stream.readline()


def interrupt(proc: subprocess.Popen[bytes]) -> tuple[int, str, str]:
    """Ctrl-C: SIGINT the command; its exit code, the rest of its stdout and its stderr."""
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=TIMEOUT)
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def stop(proc: subprocess.Popen[Any]) -> None:
    """End a command a failed test left running."""
    if proc.poll() is None:
        proc.kill()
        proc.communicate(timeout=TIMEOUT)
