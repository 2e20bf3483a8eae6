"""``AsyncClient``: the asyncio etcd v3 client."""

from __future__ import annotations

from .auth import AsyncAuth
from .cluster import AsyncCluster
from .kv import AsyncKV
from .lease import AsyncLeaseService
from .maintenance import AsyncMaintenance
from .watch import AsyncWatch

__all__ = ["AsyncClient"]


class AsyncClient(
    AsyncWatch, AsyncLeaseService, AsyncKV, AsyncCluster, AsyncMaintenance, AsyncAuth
):
    """The asyncio etcd v3 client.

    ``AsyncClient(endpoints=None, *, timeout=None, max_send_bytes=2 MiB, max_recv_bytes=None,
    keepalive_time=30, keepalive_timeout=10)``. With no endpoints it reads ``ETCDMAP_ENDPOINTS``
    (comma-separated), else ``127.0.0.1:2379``. The channel opens on first use, on the event
    loop of that use; one channel per endpoint is reused by every call. Close it with
    ``await client.aclose()`` or ``async with AsyncClient() as client:``.

    With ``username=`` and ``password=`` (both or neither) the client logs in on first use and
    sends its token with every call, logging in again when the server rejects the token
    (expired, e.g. after ``--auth-token-ttl``, or a restarted member).

    ``tls=TLSConfig(ca_file=, cert_file=, key_file=, server_name=)`` makes every channel use TLS
    (mutual TLS with a client certificate); ``https://`` endpoints use TLS even without it,
    trusting gRPC's root certificates. See docs/tls.md.
    """
