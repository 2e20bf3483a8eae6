"""Tracking the etcd processes this interpreter starts, so that none outlives it.

Every process started by :func:`spawn` is recorded in a module-level registry
and killed (``SIGKILL``, by its own PID only) from an :mod:`atexit` hook,
together with the temporary directories made by :func:`make_temp_dir`.  On
Linux the child also gets ``SIGKILL`` as its parent-death signal, so it dies
even when the test process itself is ``SIGKILL``-ed.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import TypeVar

#: The only address the harness binds to.
HOST = "127.0.0.1"

_registry_lock = threading.Lock()
_live_procs: dict[int, subprocess.Popen[bytes]] = {}
_owned_dirs: set[str] = set()


def make_temp_dir(prefix: str) -> str:
    """A new temporary directory, removed at exit unless :func:`remove_temp_dir` ran before."""
    path = tempfile.mkdtemp(prefix=prefix)
    with _registry_lock:
        _owned_dirs.add(path)
    return path


def remove_temp_dir(path: str) -> None:
    """Remove a directory made by :func:`make_temp_dir`."""
    with _registry_lock:
        _owned_dirs.discard(path)
    shutil.rmtree(path, ignore_errors=True)


def _cleanup_at_exit() -> None:
    """Kill every etcd process still alive (only the PIDs we started) and remove our temp dirs."""
    with _registry_lock:
        procs = list(_live_procs.values())
        _live_procs.clear()
        dirs = list(_owned_dirs)
        _owned_dirs.clear()
    for proc in procs:
        if proc.poll() is None:
            try:
                proc.kill()
            except OSError:
                pass
    for proc in procs:
        try:
            proc.wait(timeout=5)
        except (subprocess.TimeoutExpired, OSError):
            pass
    for path in dirs:
        shutil.rmtree(path, ignore_errors=True)


atexit.register(_cleanup_at_exit)


def _die_with_parent() -> list[str]:
    """A command prefix that makes etcd die with SIGKILL when the process that started it dies.

    util-linux's ``setpriv --pdeathsig`` sets the Linux parent-death signal and then execs
    etcd (same PID). A ``preexec_fn`` could do it too, but running Python between fork and
    exec in a process that uses gRPC aborts the child, so the work is left to setpriv. Without
    setpriv (not Linux) the atexit hook is the only cleanup.
    """
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    return [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []


def child_env(strip_prefix: str) -> dict[str, str]:
    """The current environment without variables etcd would read as flags.

    etcd 3.5 aborts ("conflicting environment variable is shadowed by
    corresponding command-line flag") when e.g. ``ETCD_NAME`` is set and
    ``--name`` is passed; etcdctl reads ``ETCDCTL_*`` the same way.
    """
    keep = {"ETCD_UNSUPPORTED_ARCH"}
    return {k: v for k, v in os.environ.items() if not k.startswith(strip_prefix) or k in keep}


def spawn(command: Sequence[str], log_path: str) -> subprocess.Popen[bytes]:
    """Start a registered etcd process writing its stdout and stderr to `log_path`.

    The parent-death signal fires when the *thread* that started the process
    exits, so a call from any thread but the main one hands the start to one
    long-lived thread of its own (``etcdmap-spawner``): a member a nemesis thread
    restarts must outlive that thread.
    """
    if threading.current_thread() is threading.main_thread():
        return _spawn(command, log_path)
    global _spawner
    with _registry_lock:
        if _spawner is None:
            _spawner = ThreadPoolExecutor(1, thread_name_prefix="etcdmap-spawner")
        spawner = _spawner
    return spawner.submit(_spawn, command, log_path).result()


_spawner: ThreadPoolExecutor | None = None


def _spawn(command: Sequence[str], log_path: str) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [*_die_with_parent(), *command],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=child_env("ETCD_"),
            close_fds=True,
        )
    with _registry_lock:
        _live_procs[proc.pid] = proc
    return proc


def _unregister(proc: subprocess.Popen[bytes]) -> None:
    with _registry_lock:
        _live_procs.pop(proc.pid, None)


def terminate(proc: subprocess.Popen[bytes], *, force: bool, grace: float) -> None:
    """Stop `proc` (SIGTERM then SIGKILL after `grace`, or SIGKILL), reap and unregister it."""
    try:
        if proc.poll() is None:
            if force:
                proc.kill()
            else:
                proc.terminate()
                with contextlib.suppress(OSError):
                    os.kill(proc.pid, signal.SIGCONT)  # a stopped server acts on SIGTERM
                try:
                    proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    proc.kill()
        proc.wait(timeout=10)
    finally:
        _unregister(proc)


class EtcdStartError(RuntimeError):
    """Raised when an etcd server or proxy does not start or does not serve in time."""


def wait_ready(
    proc: subprocess.Popen[bytes] | None,
    probe: Callable[[float], tuple[bool, str]],
    timeout: float,
    what: str,
    where: str,
    details: Callable[[], str],
) -> None:
    """Call ``probe(seconds_left)`` every 50 ms until it returns ``(True, _)``.

    Parameters
    ----------
    proc : subprocess.Popen or None
        The process serving; its exit ends the wait at once.
    probe : callable
        Takes the seconds left, returns ``(ready, why_not)``.
    timeout : float
        Deadline in seconds.
    what, where : str
        Named in the error (``"etcd grpc-proxy"``, its address).
    details : callable
        Text appended to the error, e.g. the log tail.

    Raises
    ------
    EtcdStartError
        If ``proc`` exits first or ``timeout`` passes; the probe's last message says why.
    """
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while True:
        if proc is None or proc.poll() is not None:
            code = None if proc is None else proc.returncode
            raise EtcdStartError(f"{what} exited (status {code}) before serving.\n{details()}")
        ready, last = probe(deadline - time.monotonic())
        if ready:
            return
        if time.monotonic() >= deadline:
            raise EtcdStartError(
                f"{what} at {where} not serving after {timeout:.1f}s (last: {last}).\n{details()}"
            )
        time.sleep(0.05)


def send_signal(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Send `sig` to `proc` by its PID; unless it is SIGSTOP or SIGCONT, reap it too.

    A process still alive 10 s after the signal is SIGKILL-ed.  SIGSTOP and
    SIGCONT are only sent.  A process that has already exited is unregistered.
    """
    if proc.poll() is not None:
        _unregister(proc)
        return
    if sig in (signal.SIGSTOP, signal.SIGCONT):
        os.kill(proc.pid, sig)
        return
    try:
        os.kill(proc.pid, sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    finally:
        if proc.poll() is not None:
            _unregister(proc)


def free_ports(count: int) -> list[int]:
    """Return `count` distinct currently-free TCP ports on 127.0.0.1."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def local_url(port: int, *, tls: bool = False) -> str:
    """``http://127.0.0.1:PORT`` (``https://`` with `tls`)."""
    return f"{'https' if tls else 'http'}://{HOST}:{port}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


_Started = TypeVar("_Started", bound="Started")


class Started(ABC):
    """What ``start()`` brings up and ``stop()`` takes down (a server, a cluster, a proxy):
    ``with X() as x:`` starts it and stops it on the way out, whatever happened inside."""

    @abstractmethod
    def start(self: _Started) -> _Started:
        """Bring it up and return it."""

    @abstractmethod
    def stop(self) -> None:
        """Take it down."""

    def __enter__(self: _Started) -> _Started:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

