"""A small TCP proxy on 127.0.0.1 that can pass, blackhole, delay or cut the traffic it relays.

The cluster harness puts one in front of each member's client port and one in front of each
member's peer port (the member advertises the proxy's port), so that a nemesis can partition
members on loopback.  One asyncio loop in one daemon thread serves every proxy of a
:class:`ProxyGroup`; the methods called from other threads hand their work to that loop and
wait for it.

A peer connection is attributed to the member that dialled it by the ``X-PeerURLs`` header
of its first HTTP request (etcd's rafthttp sends it on every stream and pipeline request),
so a rule can cut only the link between two members.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import re
import threading
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

from ._process import HOST

__all__ = ["Link", "ProxyGroup", "TcpProxy"]

_T = TypeVar("_T")
_CHUNK = 65536
_HEADER_LIMIT = 16384
_SNIFF_TIMEOUT = 2.0
_CONTROL_TIMEOUT = 10.0
_PEER_URLS = re.compile(rb"\r\nX-PeerURLs:\s*([^\r\n]*)", re.IGNORECASE)


class Link(enum.Enum):
    """What a proxy does to the bytes of a connection."""

    PASS = "pass"
    """Relay them (after the proxy's delay, if any)."""
    BLACKHOLE = "blackhole"
    """Accept connections and drop every byte both ways; on healing, each connection that
    lost bytes is closed (its stream is corrupt), as a partition's TCP connections would
    time out."""
    CUT = "cut"
    """Close every connection at once and each new one as soon as it is accepted."""


class _Rule:
    """The link state for connections from one source (or from any source)."""

    __slots__ = ("delay", "link")

    def __init__(self, link: Link = Link.PASS, delay: float = 0.0) -> None:
        self.link = link
        self.delay = delay


class _Connection:
    """One relayed connection: its two writers and whether it lost bytes."""

    def __init__(self, source: str | None) -> None:
        self.source = source
        self.writers: list[asyncio.StreamWriter] = []
        self.dropped = False

    def abort(self) -> None:
        for writer in self.writers:
            transport = writer.transport
            if not transport.is_closing():
                transport.abort()


class TcpProxy:
    """Relays connections from its own port on 127.0.0.1 to ``upstream_port`` on 127.0.0.1.

    Parameters
    ----------
    group : ProxyGroup
        The group whose loop serves it (:meth:`ProxyGroup.add` makes proxies).
    name : str
        A name for reprs and errors, e.g. ``"m0-client"``.
    upstream_port : int
        The port the bytes go to.
    port : int
        The port to listen on (0: a free one).
    sources : mapping of str to str, optional
        Peer URL -> source name: attribute each connection to the member whose
        ``X-PeerURLs`` header it sends first, so that :meth:`set` can target one source.
    """

    def __init__(
        self,
        group: ProxyGroup,
        name: str,
        upstream_port: int,
        port: int = 0,
        sources: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.upstream_port = upstream_port
        self._group = group
        self._sources = dict(sources or {})
        self._default = _Rule()
        self._rules: dict[str, _Rule] = {}
        self._connections: set[_Connection] = set()
        self._server: asyncio.Server | None = None
        self.port = port
        """The port clients connect to (0 until started, unless given)."""

    def __repr__(self) -> str:
        return f"<TcpProxy {self.name!r} {HOST}:{self.port} -> {self.upstream_port}>"

    # ------------------------------------------------------------------ control (any thread)

    def set(
        self,
        link: Link,
        *,
        source: str | None = None,
        delay: float = 0.0,
    ) -> None:
        """Set what happens to the traffic of connections from `source` (every source if None).

        Parameters
        ----------
        link : Link
            ``PASS``, ``BLACKHOLE`` or ``CUT``.
        source : str, optional
            Only connections attributed to this source (a member name); a source's rule
            wins over the rule for every source.
        delay : float
            Seconds each chunk waits before it is relayed (with ``Link.PASS``).

        Raises
        ------
        ValueError
            If `delay` is negative or `source` is not one of the proxy's sources.
        """
        if delay < 0:
            raise ValueError(f"delay={delay!r} must be >= 0 seconds")
        if source is not None and source not in self._sources.values():
            raise ValueError(f"source={source!r} is none of {sorted(self._sources.values())}")
        self._group.call(self._apply(_Rule(link, delay), source))

    def heal(self) -> None:
        """Pass every connection's traffic again, without delay."""
        self._group.call(self._heal())

    # ------------------------------------------------------------------ on the loop

    async def _apply(self, rule: _Rule, source: str | None) -> None:
        if source is None:
            self._default = rule
            self._rules.clear()
        else:
            self._rules[source] = rule
        for conn in list(self._connections):
            current = self._rule(conn.source)
            if current.link is Link.CUT or (conn.dropped and current.link is Link.PASS):
                conn.abort()

    async def _heal(self) -> None:
        await self._apply(_Rule(), None)

    def _rule(self, source: str | None) -> _Rule:
        if source is not None and source in self._rules:
            return self._rules[source]
        return self._default

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, HOST, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self._connections):
            conn.abort()
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(self, down_reader: asyncio.StreamReader, down: asyncio.StreamWriter) -> None:
        conn = _Connection(None)
        conn.writers.append(down)
        self._connections.add(conn)
        try:
            first = b""
            if self._sources:
                first = await self._sniff(down_reader)
                conn.source = self._source_of(first)
            if self._rule(conn.source).link is Link.CUT:
                return
            up_reader, up = await asyncio.open_connection(HOST, self.upstream_port)
            conn.writers.append(up)
            await asyncio.gather(
                self._pump(conn, down_reader, up, first),
                self._pump(conn, up_reader, down, b""),
            )
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._connections.discard(conn)
            conn.abort()

    async def _sniff(self, reader: asyncio.StreamReader) -> bytes:
        """The first bytes of a connection, up to the end of its first HTTP header."""
        data = bytearray()

        async def read_header() -> None:
            while b"\r\n\r\n" not in data and len(data) < _HEADER_LIMIT:
                chunk = await reader.read(_CHUNK)
                if not chunk:
                    return
                data.extend(chunk)

        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(read_header(), _SNIFF_TIMEOUT)
        return bytes(data)

    def _source_of(self, first: bytes) -> str | None:
        match = _PEER_URLS.search(first)
        if match is None:
            return None
        for url in match[1].decode(errors="replace").split(","):
            name = self._sources.get(url.strip())
            if name is not None:
                return name
        return None

    async def _pump(
        self,
        conn: _Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        first: bytes,
    ) -> None:
        data = first
        loop = asyncio.get_running_loop()
        while True:
            if data:
                rule = self._rule(conn.source)
                if rule.link is Link.CUT:
                    return
                if rule.link is Link.BLACKHOLE:
                    conn.dropped = True
                else:
                    if rule.delay:
                        due = loop.time() + rule.delay
                        await asyncio.sleep(max(0.0, due - loop.time()))
                    writer.write(data)
                    await writer.drain()
            data = await reader.read(_CHUNK)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return


class ProxyGroup:
    """Proxies served by one asyncio loop in one daemon thread; a context manager.

    Examples
    --------
    >>> with ProxyGroup() as group:                      # doctest: +SKIP
    ...     proxy = group.add("db", upstream_port=2379)
    ...     proxy.set(Link.BLACKHOLE)
    """

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="etcdmap-proxies", daemon=True)
        self._thread.start()
        self.proxies: list[TcpProxy] = []

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def call(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Run `coro` on the group's loop and wait (10 s at most) for its result."""
        if not self._thread.is_alive():
            coro.close()
            raise RuntimeError("the proxy group is closed")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(_CONTROL_TIMEOUT)

    def add(
        self,
        name: str,
        upstream_port: int,
        port: int = 0,
        sources: Mapping[str, str] | None = None,
    ) -> TcpProxy:
        """Start a :class:`TcpProxy` to `upstream_port` on `port` (0: a free one), return it."""
        proxy = TcpProxy(self, name, upstream_port, port, sources)
        self.call(proxy._start())
        self.proxies.append(proxy)
        return proxy

    def heal(self) -> None:
        """Pass all traffic of every proxy again."""
        for proxy in self.proxies:
            proxy.heal()

    def close(self) -> None:
        """Close every proxy and their connections, and stop the loop's thread."""
        if not self._thread.is_alive():
            return
        for proxy in self.proxies:
            self.call(proxy._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(_CONTROL_TIMEOUT)
        self._loop.close()

    def __enter__(self) -> ProxyGroup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
