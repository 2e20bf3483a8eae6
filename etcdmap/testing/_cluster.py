"""A multi-member etcd cluster of real processes on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence

from ._binaries import find_binary
from ._certificates import ServerTLS
from ._etcdctl import EtcdCommandError, EtcdctlRunner
from ._process import (
    HOST,
    EtcdStartError,
    Started,
    free_ports,
    local_url,
    make_temp_dir,
    remove_temp_dir,
)
from ._proxy import ProxyGroup, TcpProxy
from ._server import EtcdServer


class EtcdCluster(EtcdctlRunner, Started):
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
    proxied : bool
        Route each member's client traffic and the peer traffic to each member
        through TCP proxies owned by the cluster (:attr:`client_proxies`,
        :attr:`peer_proxies`; members advertise the proxies' ports), so that the
        partition nemeses of :mod:`etcdmap.testing.nemeses` can isolate a member
        or cut the link between two.  :attr:`endpoints` are then the proxies';
        the harness's own ``etcdctl`` calls go to the members directly.
    binary : str or os.PathLike, optional
        The etcd binary of every member, as for :class:`EtcdServer`.

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
        proxied: bool = False,
        binary: str | os.PathLike[str] | None = None,
    ) -> None:
        if size < 1:
            raise ValueError("cluster size must be at least 1")
        self.size = size
        self.extra_args: tuple[str, ...] = tuple(extra_args)
        self.start_timeout = start_timeout
        self.tls = tls
        self.proxied = proxied
        self._tmp_dir: str | None = None
        self._proxies: ProxyGroup | None = None
        self.members: list[EtcdServer] = []
        """The member servers, in index order."""
        self.client_proxies: list[TcpProxy] = []
        """With ``proxied=True``: the proxy in front of each member's client port."""
        self.peer_proxies: list[TcpProxy] = []
        """With ``proxied=True``: the proxy in front of each member's peer port; it knows
        which member dialled each connection, so a rule can target one peer."""
        self._etcd = find_binary("etcd", etcd=binary)

    @property
    def endpoints(self) -> list[str]:
        """Client endpoints of all members (running or not); the proxies' when proxied."""
        return [self._endpoint(i) for i in range(len(self.members))]

    @property
    def running_endpoints(self) -> list[str]:
        """Client endpoints of the running members; the proxies' when proxied."""
        return [self._endpoint(i) for i, m in enumerate(self.members) if m.running]

    def _endpoint(self, index: int) -> str:
        member = self.members[index]
        if not self.client_proxies:
            return member.endpoint
        address = f"{HOST}:{self.client_proxies[index].port}"
        return address if self.tls is None else f"https://{address}"

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
                self._tmp_dir = make_temp_dir("etcdmap-cluster-")
            self.members = self._new_members(self._tmp_dir)
            deadline = time.monotonic() + self.start_timeout
            try:
                _launch(self.members, deadline)
                self.leader(timeout=max(0.1, deadline - time.monotonic()))
            except (EtcdStartError, EtcdCommandError):
                port_taken = any(m._port_was_taken() for m in self.members)
                for m in self.members:
                    m.kill()
                self._stop_proxies()
                if attempt == 0 and port_taken:
                    remove_temp_dir(self._tmp_dir)
                    self._tmp_dir = None
                    continue
                raise
            return self
        raise AssertionError("unreachable")  # pragma: no cover

    def _new_members(self, directory: str) -> list[EtcdServer]:
        """Members on fresh free ports, their data and logs in `directory`."""
        ports = free_ports(4 * self.size if self.proxied else 2 * self.size)
        names = [f"m{i}" for i in range(self.size)]
        # advertised (client, peer) ports: the proxies' when proxied
        shown = ports[2 * self.size :] if self.proxied else ports
        peers = {name: local_url(shown[2 * i + 1]) for i, name in enumerate(names)}
        token = f"etcdmap-{uuid.uuid4().hex[:12]}"
        if self.proxied:
            self._start_proxies(ports, names, peers)
        return [
            EtcdServer(
                data_dir=os.path.join(directory, f"{name}.data"),
                name=name,
                extra_args=self.extra_args,
                start_timeout=self.start_timeout,
                tls=self.tls,
                work_dir=directory,
                client_port=ports[2 * i],
                peer_port=ports[2 * i + 1],
                initial_cluster=peers,
                cluster_token=token,
                advertise_client_port=shown[2 * i],
                advertise_peer_port=shown[2 * i + 1],
                binary=self._etcd,
            )
            for i, name in enumerate(names)
        ]

    def _start_proxies(self, ports: list[int], names: list[str], peers: dict[str, str]) -> None:
        """A proxy on ``ports[2 * size + k]`` in front of each member port ``ports[k]``."""
        self._stop_proxies()
        self._proxies = group = ProxyGroup()
        sources = {url: name for name, url in peers.items()}
        offset = 2 * self.size
        self.client_proxies = [
            group.add(f"{name}-client", ports[2 * i], ports[offset + 2 * i])
            for i, name in enumerate(names)
        ]
        self.peer_proxies = [
            group.add(f"{name}-peer", ports[2 * i + 1], ports[offset + 2 * i + 1], sources)
            for i, name in enumerate(names)
        ]

    def _stop_proxies(self) -> None:
        if self._proxies is not None:
            self._proxies.close()
        self._proxies = None
        self.client_proxies = []
        self.peer_proxies = []

    def heal_proxies(self) -> None:
        """Let every proxy pass all traffic again, without delay (no-op when not proxied)."""
        if self._proxies is not None:
            self._proxies.heal()
    def _etcdctl_binary(self) -> str:
        return find_binary("etcdctl", etcd=self._etcd)

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
            m.kill()
        self._stop_proxies()
        if self._tmp_dir is not None:
            remove_temp_dir(self._tmp_dir)
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

        Asks every running member (one ``etcdctl endpoint status -w json``, the
        maintenance Status RPC) and waits, up to `timeout` seconds, until a
        majority of the cluster agrees on a leader that is itself running -- e.g.
        while an election follows a leader's death (a member partitioned away may
        still name the old leader, or none).

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
                votes = Counter(int(s["Status"].get("leader", 0)) for s in json.loads(out))
                last = f"leaders reported: {dict(votes)}"
                lid, count = votes.most_common(1)[0]
                index = ids.get(lid)
                # a quorum agrees: a member cut off from the others may still see no leader
                if count > self.size // 2 and index is not None and self.members[index].running:
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
            _launch(stopped, time.monotonic() + self.start_timeout)

    def _etcdctl_endpoints(self) -> list[str]:
        return [m.endpoint for m in self.members if m.running] or [
            m.endpoint for m in self.members
        ]

    def __repr__(self) -> str:
        return f"<EtcdCluster size={self.size} members={self.members!r}>"


def _launch(members: Sequence[EtcdServer], deadline: float) -> None:
    """Start every member, then wait until each is healthy.

    All are started before any is waited for: a member is not healthy before a
    quorum of its cluster runs.  (``_spawn``, start without waiting, is not
    public: only a cluster has a use for it.)
    """
    for member in members:
        member._spawn()
    for member in members:
        member.wait_healthy(max(0.1, deadline - time.monotonic()))
