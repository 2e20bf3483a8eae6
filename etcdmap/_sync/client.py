# Generated from etcdmap/_async/client.py by scripts/unasync: do not edit.
"""``Client``: the asyncio etcd v3 client."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, TypeVar

from .._core.config import load_config
from .auth import Auth
from .cluster import Cluster
from .election_service import ElectionService
from .kv import KVService
from .lease import LeaseService
from .lock_service import LockService
from .maintenance import Maintenance
from .stm import STMService
from .watch import Watch

__all__ = ["Client"]

_Client = TypeVar("_Client", bound="Client")


class Client(
    Watch, LeaseService, STMService, KVService, Cluster, Maintenance,
    Auth, LockService, ElectionService,
):
    """The asyncio etcd v3 client.

    ``Client(endpoints=None, *, timeout=None, max_send_bytes=2 MiB, max_recv_bytes=None,
    keepalive_time=30, keepalive_timeout=10)``. With no endpoints it reads ``ETCDMAP_ENDPOINTS``
    (comma-separated), else ``127.0.0.1:2379``. The channel opens on first
    use; one channel per endpoint is reused by every call. Close it with
    ``client.close()`` or ``with Client() as client:``; a client dropped
    unclosed after it connected releases its channels, streams and workers (keep-alives,
    sessions, watch callbacks, auto-sync) when it is garbage-collected, and warns
    ``ResourceWarning`` as an unclosed file does; a watcher, callback handle or session
    still held keeps its client alive. The
    blocking ``Client`` warns once (``RuntimeWarning``) when it is called from a thread that
    runs an event loop, which it would stop until etcd answers.

    Every argument is checked before any I/O (``etcdmap._core.checks``): a wrong type is a
    ``TypeError``, a bad value (a timeout that is NaN, infinite, negative or zero, an endpoint
    that is not ``host:port``) a ``ValueError``, both naming the argument.

    ``reconnect_backoff=0.5`` caps the seconds between two attempts to reconnect to an
    endpoint that is down (gRPC's default cap is 120 s), so requests succeed again within
    about that long after the server is back.

    With ``username=`` and ``password=`` (both or neither) the client logs in on first use and
    sends its token with every call, logging in again when the server rejects the token
    (expired, e.g. after ``--auth-token-ttl``, or a restarted member).

    ``tls=TLSConfig(ca_file=, cert_file=, key_file=, server_name=)`` makes every channel use TLS
    (mutual TLS with a client certificate); ``https://`` endpoints use TLS even without it,
    trusting gRPC's root certificates. See docs/tls.md.
    """

    @classmethod
    def from_config(
        cls: type[_Client],
        source: str | os.PathLike[str] | Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> _Client:
        """A client configured from etcdctl's / Go's client config (no RPC runs here).

        ``source`` is a ``.yaml`` file (needs PyYAML), a ``.json`` file, a mapping with the
        same keys, or None; ``ETCDMAP_*`` environment variables fill in what it leaves out,
        and ``kwargs`` (the constructor's) win over both. Keys: ``endpoints``,
        ``dial-timeout``, ``request-timeout``, ``keepalive-time`` / ``dial-keep-alive-time``,
        ``keepalive-timeout``, ``username``, ``password`` (or ``auth:``), ``cacert`` /
        ``trusted-ca-file``, ``cert`` / ``cert-file``, ``key`` / ``key-file``,
        ``server-name`` (or ``secure:``), ``insecure-transport``, ``auto-sync-interval``,
        ``reject-old-cluster``, ``max-call-send-msg-size``, ``max-call-recv-msg-size``,
        ``max-unary-retries``, ``backoff-wait-between``, ``backoff-jitter-fraction``.
        Durations are Go's: ``"5s"`` or integer nanoseconds (see ``etcdmap._core.config``).

        Raises ``ConfigError`` (a ``ValueError``) naming the key for an unknown key or a bad
        value.
        """
        return cls(**{**load_config(source).kwargs(), **kwargs})
