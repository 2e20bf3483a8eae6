"""Running etcdctl against test servers, clusters or any endpoints."""

from __future__ import annotations

import subprocess
from abc import ABC, abstractmethod
from collections.abc import Sequence

from ._binaries import find_binary
from ._certificates import ServerTLS
from ._process import child_env


class EtcdCommandError(RuntimeError):
    """Raised when an ``etcdctl`` invocation fails.

    Parameters
    ----------
    message : str
        What failed, with etcdctl's error output.
    returncode : int
        Exit status of etcdctl (``-1`` on timeout).
    stdout, stderr : str
        What etcdctl printed.

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


def run_etcdctl(
    endpoints: Sequence[str],
    *args: str,
    input: str | bytes | None = None,
    check: bool = True,
    timeout: float = 30,
    tls: ServerTLS | None = None,
    binary: str | None = None,
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
    binary : str, optional
        The etcdctl binary; by default ``find_binary("etcdctl")``.

    Returns
    -------
    str
        etcdctl's standard output.
    """
    cmd = [binary or find_binary("etcdctl"), f"--endpoints={','.join(endpoints)}"]
    cmd += [] if tls is None else tls.etcdctl_args()
    cmd += args
    env = child_env("ETCDCTL_")
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


class EtcdctlRunner(ABC):
    """The ``etcdctl`` method shared by :class:`EtcdServer`, :class:`EtcdCluster` and
    :class:`ExternalEtcd`: each names its endpoints and its TLS."""

    tls: ServerTLS | None = None

    @abstractmethod
    def _etcdctl_endpoints(self) -> list[str]:
        """The client URLs ``etcdctl`` is pointed at."""

    def _etcdctl_binary(self) -> str:
        """The etcdctl binary: by default :func:`find_binary`'s."""
        return find_binary("etcdctl")

    def etcdctl(
        self,
        *args: str,
        input: str | bytes | None = None,
        check: bool = True,
        timeout: float = 30,
    ) -> str:
        """Run ``etcdctl --endpoints=... *args`` and return its stdout.

        The endpoints are the server's; for a cluster, those of its running
        members (all when none runs).

        Parameters
        ----------
        *args, input, check, timeout
            As for :func:`run_etcdctl` (which also raises the same errors).
        """
        return run_etcdctl(
            self._etcdctl_endpoints(),
            *args,
            input=input,
            check=check,
            timeout=timeout,
            tls=self.tls,
            binary=self._etcdctl_binary(),
        )
