"""Tests for etcdmap.testing (real etcd processes) and the pytest plugin fixtures."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import etcdmap
from etcdmap import testing
from etcdmap.testing import (
    EtcdBinaryNotFoundError,
    EtcdCluster,
    EtcdServer,
    EtcdStartError,
    ExternalEtcd,
    find_binary,
)


def _wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not testing._process.pid_alive(pid):
            return True
        time.sleep(0.05)
    return not testing._process.pid_alive(pid)


# --------------------------------------------------------------------------- layout

PUBLIC_NAMES = [
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


def test_public_names_unchanged() -> None:
    assert testing.__all__ == PUBLIC_NAMES
    for name in PUBLIC_NAMES:
        assert getattr(testing, name) is not None, name


def _package_sources() -> dict[str, Path]:
    """Module name -> source file of etcdmap.testing and its submodules."""
    path = Path(testing.__file__)
    if path.name != "__init__.py":
        return {"etcdmap.testing": path}
    return {
        "etcdmap.testing" + ("" if file.stem == "__init__" else f".{file.stem}"): file
        for file in sorted(path.parent.glob("*.py"))
    }


def test_no_private_attribute_set_from_outside() -> None:
    # a member is configured by its constructor, not by another object writing its privates
    offenders = []
    for module, file in _package_sources().items():
        for node in ast.walk(ast.parse(file.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else []
            for target in targets:
                for item in target.elts if isinstance(target, ast.Tuple) else [target]:
                    if (
                        isinstance(item, ast.Attribute)
                        and item.attr.startswith("_")
                        and not (isinstance(item.value, ast.Name) and item.value.id == "self")
                    ):
                        offenders.append(f"{module}:{node.lineno} {ast.unparse(item)}")
    assert offenders == []


def test_no_module_imports_one_that_imports_it_back() -> None:
    sources = _package_sources()
    imports: dict[str, set[str]] = {}
    for module, file in sources.items():
        package = module if file.name == "__init__.py" else module.rpartition(".")[0]
        found = imports.setdefault(module, set())
        for node in ast.walk(ast.parse(file.read_text())):  # also under TYPE_CHECKING
            if isinstance(node, ast.ImportFrom):
                base = package.rsplit(".", node.level - 1)[0] if node.level else ""
                name = ".".join(filter(None, [base, node.module]))
                found.update({name, *(f"{name}.{a.name}" for a in node.names)} & sources.keys())
            elif isinstance(node, ast.Import):
                found.update({a.name for a in node.names} & sources.keys())

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(
            nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt}))
            for nxt in imports.get(start, ())
        )

    cycles = [m for m in sources if m != "etcdmap.testing" and reaches(m, m, set())]
    assert cycles == []


@pytest.fixture(scope="module")
def server() -> Iterator[EtcdServer]:
    with EtcdServer() as srv:
        yield srv


# --------------------------------------------------------------------------- binaries


@pytest.mark.parametrize(
    "name",
    [
        "etcd",
        "etcdctl",
        pytest.param(
            "etcdutl",
            marks=pytest.mark.etcd_version(">=3.5", reason="etcdutl is new in etcd 3.5"),
        ),
    ],
)
def test_find_binary(name: str) -> None:
    path = find_binary(name)
    assert os.path.basename(path) == name
    assert os.access(path, os.X_OK)


def test_find_binary_env_var(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    etcd = find_binary("etcd")
    monkeypatch.setenv(testing.BINARY_ENV_VAR, etcd)
    assert find_binary("etcdctl") == str(Path(etcd).with_name("etcdctl").resolve())
    monkeypatch.setenv(testing.BINARY_ENV_VAR, str(tmp_path / "etcd"))
    with pytest.raises(EtcdBinaryNotFoundError, match="ETCDMAP_ETCD_BINARY"):
        find_binary("etcd")


def test_find_binary_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(testing.BINARY_ENV_VAR, raising=False)
    monkeypatch.setattr(testing._binaries, "distro_bin_dir", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EtcdBinaryNotFoundError, match=r"etcdmap\[server\]"):
        find_binary("etcd")
    with pytest.raises(ValueError):
        find_binary("bash")


def test_etcdctl_binary_env_var(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    etcdctl = find_binary("etcdctl")
    monkeypatch.setenv(testing.BINARY_ENV_VAR, str(tmp_path / "etcd"))
    monkeypatch.setenv(testing.ETCDCTL_BINARY_ENV_VAR, etcdctl)
    assert find_binary("etcdctl") == str(Path(etcdctl).resolve())
    monkeypatch.setenv(testing.ETCDCTL_BINARY_ENV_VAR, str(tmp_path / "etcdctl"))
    with pytest.raises(EtcdBinaryNotFoundError, match="ETCDMAP_ETCDCTL_BINARY"):
        find_binary("etcdctl")


def test_binary_parameter_names_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EtcdBinaryNotFoundError, match=r"etcd='.*/nowhere/etcd'"):
        EtcdServer(binary=tmp_path / "nowhere" / "etcd")
    with pytest.raises(EtcdBinaryNotFoundError, match="nowhere"):
        EtcdCluster(binary=tmp_path / "nowhere" / "etcd")


#: etcd binaries of other versions to start (os.pathsep-separated; CI sets it from
#: ``scripts/etcd-servers``), besides the default one.
SERVERS_ENV_VAR = "ETCDMAP_TEST_ETCD_BINARIES"
OTHER_BINARIES = [p for p in os.environ.get(SERVERS_ENV_VAR, "").split(os.pathsep) if p]


@pytest.mark.parametrize(
    "binary",
    [None, *OTHER_BINARIES]
    if OTHER_BINARIES
    else [
        None,
        pytest.param(
            "",
            marks=pytest.mark.skip(reason=f"{SERVERS_ENV_VAR} unset: no other etcd versions"),
        ),
    ],
)
def test_starts_each_etcd_version(binary: str | None) -> None:
    with EtcdServer(binary=binary) as srv:
        reported = subprocess.run(
            [find_binary("etcd", etcd=binary), "--version"], capture_output=True, text=True
        ).stdout
        assert f"etcd Version: {'.'.join(map(str, srv.version))}" in reported
        assert f"etcdctl version: {'.'.join(map(str, srv.version))}" in srv.etcdctl("version")
        with etcdmap.Client(srv.endpoints) as client:
            client.put(b"/versions/k", b"v")
            assert client.get(b"/versions/k").kvs[0].value == b"v"


# --------------------------------------------------------------------------- single server


def test_put_get_roundtrip(server: EtcdServer) -> None:
    assert server.running and server.pid is not None
    assert server.endpoint.startswith("127.0.0.1:")
    assert server.endpoints == [server.endpoint]
    assert server.client_url == f"http://{server.endpoint}"
    assert server.etcdctl("put", "/rt/k", "hello").strip() == "OK"
    assert server.etcdctl("get", "/rt/k", "--print-value-only").strip() == "hello"
    # stdin input
    assert server.etcdctl("put", "/rt/k2", input="from stdin").strip() == "OK"
    assert server.etcdctl("get", "/rt/k2", "--print-value-only").strip() == "from stdin"
    assert os.path.isfile(server.log_path)


def test_etcdctl_error(server: EtcdServer) -> None:
    with pytest.raises(testing.EtcdCommandError, match="status"):
        server.etcdctl("no-such-command")
    server.etcdctl("no-such-command", check=False)


def test_kill_restart_keeps_data(server: EtcdServer) -> None:
    server.etcdctl("put", "/kr/k", "survives")
    endpoint, data_dir, pid = server.endpoint, server.data_dir, server.pid
    assert pid is not None
    server.kill()
    assert not server.running and server.pid is None
    assert _wait_gone(pid)
    server.restart()
    assert server.running and server.pid != pid
    assert (server.endpoint, server.data_dir) == (endpoint, data_dir)
    assert server.etcdctl("get", "/kr/k", "--print-value-only").strip() == "survives"


def test_server_restarted_by_a_thread_outlives_the_thread(server: EtcdServer) -> None:
    # a nemesis restarts members from its own thread; the parent-death signal of a process
    # fires when the thread that started it exits, which killed them with the nemesis
    server.kill()
    thread = threading.Thread(target=server.restart)
    thread.start()
    thread.join()
    assert server.etcdctl("put", "/thread/k", "v").strip() == "OK"  # time to be killed
    assert server.running


def test_stop_removes_temp_dir() -> None:
    srv = EtcdServer(extra_args=("--max-request-bytes", "1048576"))
    with srv:
        pid = srv.pid
        data_dir = srv.data_dir
        srv.etcdctl("put", "a", "1")
        assert os.path.isdir(data_dir)
        srv.stop(keep_data=True)  # restartable
        srv.restart()
        assert srv.etcdctl("get", "a", "--print-value-only").strip() == "1"
        pid = srv.pid
    assert pid is not None
    assert not srv.running
    assert not os.path.exists(data_dir)
    assert _wait_gone(pid, timeout=2)
    with pytest.raises(EtcdStartError, match="removed"):
        srv.restart()


def test_start_failure_reports_log() -> None:
    srv = EtcdServer(extra_args=("--no-such-flag",), start_timeout=10)
    with pytest.raises(EtcdStartError, match="no-such-flag"):
        srv.start()
    assert not srv.running
    srv.stop()


def test_port_taken_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    real = testing._process.free_ports
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))  # bound, not listening: etcd's bind fails fast
        taken = blocker.getsockname()[1]
        calls: list[int] = []

        def fake(count: int) -> list[int]:
            calls.append(count)
            ports = real(count)
            return [taken, *ports[1:]] if len(calls) == 1 else ports

        monkeypatch.setattr(testing._server, "free_ports", fake)
        with EtcdServer() as srv:
            assert len(calls) == 2
            assert srv.client_port != taken


def test_member_configured_by_constructor(tmp_path: Path) -> None:
    # what a cluster gives each member: fixed ports, the initial cluster, a token, its log
    # next to the others'; the member's own options come only through its constructor
    client_port, peer_port = testing._process.free_ports(2)
    peer_url = f"http://127.0.0.1:{peer_port}"
    srv = EtcdServer(
        name="solo",
        data_dir=tmp_path / "solo.data",
        work_dir=tmp_path,
        client_port=client_port,
        peer_port=peer_port,
        initial_cluster={"solo": peer_url},
        cluster_token="etcdmap-constructor-test",
    )
    assert (srv.endpoint, srv.peer_url) == (f"127.0.0.1:{client_port}", peer_url)
    assert srv.log_path == str(tmp_path / "solo.log")
    with srv:
        assert srv.etcdctl("put", "/ctor/k", "v").strip() == "OK"
        members = json.loads(srv.etcdctl("member", "list", "-w", "json"))["members"]
        assert [(m["name"], m["peerURLs"]) for m in members] == [("solo", [peer_url])]
    assert not srv.running
    assert (tmp_path / "solo.log").is_file() and (tmp_path / "solo.data").is_dir()  # not ours


def test_member_constructor_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="client_port=None and peer_port=1"):
        EtcdServer(peer_port=1)
    with pytest.raises(ValueError, match=r"initial_cluster=\{'b'"):
        EtcdServer(
            name="a", client_port=1, peer_port=2, initial_cluster={"b": "http://127.0.0.1:2"}
        )
    with pytest.raises(ValueError, match="peer_port=None"):
        EtcdServer(name="a", initial_cluster={"a": "http://127.0.0.1:2"})
    with pytest.raises(ValueError, match="its peer URL"):
        EtcdServer(
            name="a", client_port=1, peer_port=3, initial_cluster={"a": "http://127.0.0.1:2"}
        )


def test_frozen_server_answers_nothing_until_thawed(server: EtcdServer) -> None:
    from etcdmap.testing.nemeses import frozen

    server.etcdctl("put", "/fz/k", "v")
    with frozen(server):
        with pytest.raises(testing.EtcdCommandError):
            server.etcdctl("get", "/fz/k", "--command-timeout=0.3s", timeout=10)
        assert server.running  # stopped, not dead: its connections stay open
    assert server.etcdctl("get", "/fz/k", "--print-value-only").strip() == "v"
    start = time.monotonic()
    with frozen(server, thaw_after=0.5):
        # the call of the block waits for the timer to let the server run again
        assert server.etcdctl("get", "/fz/k", "--print-value-only", timeout=10).strip() == "v"
        assert time.monotonic() - start >= 0.5


@pytest.mark.parametrize(
    "sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP], ids=["kill", "term", "stop"]
)
def test_outage_takes_the_server_down_for_the_block(server: EtcdServer, sig: int) -> None:
    from etcdmap.testing.nemeses import outage

    server.etcdctl("put", "/out/k", str(sig))
    endpoint = server.endpoint
    with outage(server, sig) as down:
        assert down is server
        assert server.running == (sig == signal.SIGSTOP)  # stopped, or gone
        with pytest.raises(testing.EtcdCommandError):
            server.etcdctl("get", "/out/k", "--command-timeout=0.3s", timeout=10)
    assert server.endpoint == endpoint
    assert server.etcdctl("get", "/out/k", "--print-value-only").strip() == str(sig)


def test_outage_heals_when_the_block_raises(server: EtcdServer) -> None:
    from etcdmap.testing.nemeses import outage

    with pytest.raises(KeyError), outage(server):
        raise KeyError("in the block")
    assert server.running
    with pytest.raises(ValueError, match="sig"):
        with outage(server, signal.SIGCONT):
            pass
    assert server.running


def test_frozen_needs_a_running_server() -> None:
    from etcdmap.testing.nemeses import frozen

    with pytest.raises(RuntimeError, match="not running"):
        with frozen(EtcdServer()):
            pass


# --------------------------------------------------------------------------- cluster


@pytest.mark.cluster
def test_cluster_failover() -> None:
    # four members: alone() must bring back three at once, since one is no quorum with the
    # member left alone
    with EtcdCluster(4) as cluster:
        assert len(cluster.members) == 4 and len(set(cluster.endpoints)) == 4
        assert all(m.running for m in cluster.members)
        cluster.etcdctl("put", "/c/k", "v1")
        leader = cluster.leader()
        old = cluster.members[leader]
        cluster.kill(leader)
        assert not old.running
        # a write proposed while the dead leader is still believed alive can hang until
        # etcdctl's 5 s command timeout, so wait for the election first
        new_leader = cluster.leader(timeout=20)
        assert new_leader != leader and cluster.members[new_leader].running
        survivor = cluster.members[(leader + 1) % 3]
        assert survivor.etcdctl("put", "/c/k2", "v2").strip() == "OK"
        assert survivor.etcdctl("get", "/c/k", "--print-value-only").strip() == "v1"
        assert cluster.etcdctl("get", "/c/k2", "--print-value-only").strip() == "v2"
        cluster.restart(old)
        assert old.running
        old.wait_healthy(10)
        assert old.etcdctl("get", "/c/k2", "--print-value-only").strip() == "v2"
        status = json.loads(cluster.etcdctl("endpoint", "status", "-w", "json"))
        assert len(status) == 4
        follower = cluster.follower()
        assert follower != cluster.leader()
        with cluster.alone(follower) as kept:
            assert kept is cluster.members[follower]
            assert [m.running for m in cluster.members] == [m is kept for m in cluster.members]
        assert all(m.running for m in cluster.members)
        cluster_dir = cluster.data_dir
    assert not any(m.running for m in cluster.members)
    assert not os.path.exists(cluster_dir)


# --------------------------------------------------------------------------- process hygiene

_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from etcdmap.testing import EtcdServer
    srv = EtcdServer().start()
    print(srv.pid, os.path.dirname(srv.log_path), flush=True)
    if sys.argv[1] == "sleep":
        time.sleep(120)
    """
)


@pytest.mark.parametrize("mode", ["exit", "sigkill"])
def test_no_process_left_behind(mode: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _SCRIPT, "exit" if mode == "exit" else "sleep"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        pid_s, tmp_dir = line.split()
        etcd_pid = int(pid_s)
        if mode == "sigkill":
            assert testing._process.pid_alive(etcd_pid)
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert _wait_gone(etcd_pid), f"etcd pid {etcd_pid} survived its parent ({mode})"
        if mode == "exit":
            assert not os.path.exists(tmp_dir)  # atexit also removes the temp dir
        else:
            shutil.rmtree(tmp_dir, ignore_errors=True)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


# --------------------------------------------------------------------------- plugin


def test_plugin_fixtures(etcd_server: EtcdServer | ExternalEtcd, etcd_prefix: str) -> None:
    assert etcd_prefix.startswith("/etcdmap-test/test_plugin_fixtures-")
    assert etcd_prefix.endswith("/")
    key = etcd_prefix + "k"
    assert etcd_server.etcdctl("put", key, "plugin").strip() == "OK"
    assert etcd_server.etcdctl("get", key, "--print-value-only").strip() == "plugin"
    assert etcd_server.etcdctl("get", "--prefix", etcd_prefix, "--keys-only").split() == [key]


PREFIXES_SEEN: list[str] = []


@pytest.mark.parametrize("run", [1, 2])
def test_plugin_prefix_unique(run: int, etcd_prefix: str, request: pytest.FixtureRequest) -> None:
    other = request.getfixturevalue("etcd_prefix")
    assert other == etcd_prefix  # one value per test
    assert "test_plugin_prefix_unique" in etcd_prefix
    # the test's name, then a random part: two runs of one test never share a prefix
    assert re.fullmatch(
        rf"/etcdmap-test/test_plugin_prefix_unique_{run}-[0-9a-f]{{8}}/", etcd_prefix
    )
    assert etcd_prefix not in PREFIXES_SEEN
    PREFIXES_SEEN.append(etcd_prefix)


def test_external_etcd() -> None:
    ext = ExternalEtcd.from_env(" 127.0.0.1:1, 127.0.0.1:2 ")
    assert ext.endpoints == ["127.0.0.1:1", "127.0.0.1:2"]
    assert ext.endpoint == "127.0.0.1:1"
    with pytest.raises(RuntimeError, match="ETCDMAP_TEST_ENDPOINTS"):
        ext.kill()
