"""etcd's gRPC proxy (``etcd grpc-proxy start``) on 127.0.0.1, in front of a test server or cluster.

The proxy ships in the etcd binary itself, so it is started from the binary of the server or
cluster it fronts.  It coalesces identical watches into one watcher on the server, shares
lease keep-alive streams, and caches serializable ranges.  Its flags (``--endpoints``,
``--listen-addr``, ``--metrics-addr``, ``--namespace``, ``--data-dir``) are spelled the same
in etcd 3.4 and 3.5.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

from ._binaries import find_binary
from ._cluster import EtcdCluster
from ._etcdctl import EtcdCommandError, EtcdctlRunner
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
from ._server import EtcdServer

_LOG_TAIL_LINES = 40
_STOP_GRACE = 5.0
_PROBE_TIMEOUT = 2.0
_PROBE_KEY = "etcdmap-grpc-proxy-probe"


class EtcdProxy(EtcdctlRunner, Started):
    """etcd's gRPC proxy (``etcd grpc-proxy start``) on 127.0.0.1 in front of `target`.

    Parameters
    ----------
    target : EtcdServer or EtcdCluster
        What the proxy forwards to: its ``--endpoints`` are the target's client endpoints
        (a cluster's TCP proxies when ``proxied=True``), read at each :meth:`start` and
        :meth:`restart`.  With TLS on the target, the proxy trusts its CA (and presents
        its client certificate, if any) upstream; clients talk to the proxy in plaintext.
    namespace : str, optional
        ``--namespace``: a prefix the proxy adds to every key (none by default).
    extra_args : sequence of str
        More ``grpc-proxy start`` flags, e.g. ``("--max-send-bytes", "10485760")``.
    start_timeout : float
        Seconds to wait until a Range through the proxy succeeds.
    binary : str or os.PathLike, optional
        The etcd binary; by default the target's.

    Raises
    ------
    TypeError
        If `target` is neither an :class:`EtcdServer` nor an :class:`EtcdCluster`.

    Notes
    -----
    Use it as a context manager, like the servers: entering starts it (on two free ports:
    gRPC and metrics) and waits for a Range (``etcdctl get``, linearizable) through it;
    leaving stops it and removes its temporary directory (its ``--data-dir`` and log).
    :meth:`kill` and :meth:`restart` keep the ports, so clients reconnect to the same
    :attr:`endpoints`.

    The proxy's documented behaviour differs from a server's: a serializable Range is
    answered from its cache (filled by earlier Ranges, invalidated by writes that pass
    through it), a watch created without a start revision may miss events, and it has no
    maintenance, cluster or auth management service of its own to speak of (those calls go
    to whichever member it is connected to).

    Examples
    --------
    >>> with EtcdServer() as srv, EtcdProxy(srv) as proxy:      # doctest: +SKIP
    ...     proxy.etcdctl("put", "k", "v")
    ...     srv.etcdctl("get", "k", "--print-value-only")
    'v\\n'
    """

    def __init__(
        self,
        target: EtcdServer | EtcdCluster,
        *,
        namespace: str | None = None,
        extra_args: Sequence[str] = (),
        start_timeout: float = 30.0,
        binary: str | os.PathLike[str] | None = None,
    ) -> None:
        if not isinstance(target, (EtcdServer, EtcdCluster)):
            raise TypeError(
                f"target={target!r}: expected an EtcdServer or an EtcdCluster to put the "
                "proxy in front of"
            )
        self.target = target
        self.namespace = namespace
        self.extra_args: tuple[str, ...] = tuple(extra_args)
        self.start_timeout = start_timeout
        self._etcd = find_binary("etcd", etcd=binary if binary is not None else target._etcd)
        self._tmp_dir: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._port: int | None = None
        self._metrics_port: int | None = None

    # ------------------------------------------------------------------ properties

    @property
    def port(self) -> int:
        """The gRPC port clients connect to (raises before :meth:`start`)."""
        if self._port is None:
            raise RuntimeError("etcd grpc-proxy has not been started")
        return self._port

    @property
    def endpoint(self) -> str:
        """``"127.0.0.1:PORT"``, the proxy's client endpoint."""
        return f"{HOST}:{self.port}"

    @property
    def endpoints(self) -> list[str]:
        """``[endpoint]`` -- suitable for ``etcdmap.Client(proxy.endpoints)``."""
        return [self.endpoint]

    @property
    def metrics_url(self) -> str:
        """``http://127.0.0.1:PORT/metrics``: the proxy's Prometheus metrics."""
        if self._metrics_port is None:
            raise RuntimeError("etcd grpc-proxy has not been started")
        return f"{local_url(self._metrics_port)}/metrics"

    @property
    def pid(self) -> int | None:
        """PID of the running proxy process, or None when not running."""
        return self._proc.pid if self.running and self._proc is not None else None

    @property
    def running(self) -> bool:
        """Whether the proxy process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def log_path(self) -> str:
        """Path of the file receiving the proxy's stdout and stderr."""
        if self._tmp_dir is None:
            raise RuntimeError("etcd grpc-proxy has not been started")
        return os.path.join(self._tmp_dir, "grpc-proxy.log")

    # ------------------------------------------------------------------ lifecycle

    def _command(self) -> list[str]:
        assert self._tmp_dir is not None and self._metrics_port is not None
        cmd = [
            self._etcd, "grpc-proxy", "start",
            "--endpoints", ",".join(self.target.endpoints),
            "--listen-addr", self.endpoint,
            "--advertise-client-url", self.endpoint,
            "--metrics-addr", local_url(self._metrics_port),
            "--data-dir", os.path.join(self._tmp_dir, "data"),
        ]  # fmt: skip
        if self.namespace is not None:
            cmd += ["--namespace", self.namespace]
        if self.target.tls is not None:
            cmd += self.target.tls.etcdctl_args()  # --cacert/--cert/--key: same flags
        return cmd + list(self.extra_args)

    def _spawn(self) -> None:
        if self.running:
            raise RuntimeError(f"etcd grpc-proxy is already running (pid {self.pid})")
        if self._tmp_dir is None:
            self._tmp_dir = make_temp_dir("etcdmap-grpc-proxy-")
        self._proc = spawn(self._command(), self.log_path)

    def start(self) -> EtcdProxy:
        """Start the proxy on two free ports and wait until a Range through it succeeds.

        Returns
        -------
        EtcdProxy
            ``self``.

        Raises
        ------
        EtcdStartError
            If the proxy exits, or no Range succeeds through it within ``start_timeout``
            (the message has the command line and the tail of its log).  A collision on
            the ports it picked is retried once with new ports.
        """
        for attempt in range(2):
            self._port, self._metrics_port = free_ports(2)
            try:
                return self._launch(self.start_timeout)
            except EtcdStartError:
                if attempt == 0 and "address already in use" in self._log_text():
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def restart(self, timeout: float | None = None) -> EtcdProxy:
        """Start the proxy again on the same ports (stopping it first if it runs) and wait.

        Parameters
        ----------
        timeout : float, optional
            Deadline of the first Range through it; defaults to ``start_timeout``.

        Returns
        -------
        EtcdProxy
            ``self``.

        Raises
        ------
        EtcdStartError
            As :meth:`start` (no retry on other ports: clients know these).
        """
        if self._proc is None:
            raise RuntimeError("etcd grpc-proxy was never started; call start()")
        if self.running:
            terminate(self._proc, force=False, grace=_STOP_GRACE)
        return self._launch(self.start_timeout if timeout is None else timeout)

    def _launch(self, timeout: float) -> EtcdProxy:
        """Start the process and wait until it serves; kill it if it does not."""
        self._spawn()
        try:
            self.wait_serving(timeout)
        except EtcdStartError:
            self.kill()
            raise
        return self

    def wait_serving(self, timeout: float = 30.0) -> None:
        """Wait until a linearizable Range (``etcdctl get``) through the proxy succeeds.

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
            self._proc, self._probe, timeout, "etcd grpc-proxy", self.endpoint, self._details,
        )  # fmt: skip

    def _probe(self, left: float) -> tuple[bool, str]:
        try:
            self.etcdctl(
                "get", _PROBE_KEY, "--command-timeout=1s",
                timeout=max(0.1, min(_PROBE_TIMEOUT, left)),
            )  # fmt: skip
        except EtcdCommandError as exc:
            return False, str(exc)
        return True, ""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to the proxy (by its PID) and reap it; :meth:`restart` brings it back.

        ``SIGSTOP`` and ``SIGCONT`` are only sent (a frozen proxy answers nothing).
        """
        if self._proc is not None:
            send_signal(self._proc, sig)

    def stop(self) -> None:
        """Stop the proxy (SIGTERM, then SIGKILL after a few seconds) and remove its directory."""
        if self._proc is not None:
            terminate(self._proc, force=False, grace=_STOP_GRACE)
        if self._tmp_dir is not None:
            remove_temp_dir(self._tmp_dir)
            self._tmp_dir = None

    def _log_text(self) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")
        except (OSError, RuntimeError):
            return ""

    def _details(self) -> str:
        tail = "\n".join(self._log_text().splitlines()[-_LOG_TAIL_LINES:]) or "(no output)"
        command = " ".join(self._command()) if self._tmp_dir is not None else "?"
        return f"command: {command}\n--- last lines of its output ---\n{tail}"

    def _etcdctl_endpoints(self) -> list[str]:
        return self.endpoints

    def _etcdctl_binary(self) -> str:
        return find_binary("etcdctl", etcd=self._etcd)

    def __repr__(self) -> str:
        port = self._port if self._port is not None else "?"
        state = f"pid={self.pid}" if self.running else "stopped"
        return f"<EtcdProxy {HOST}:{port} -> {self.target!r} {state}>"
