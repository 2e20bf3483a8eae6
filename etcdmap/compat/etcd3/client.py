"""python-etcd3's ``Etcd3Client`` and ``client()``, each method one or a few calls of
etcdmap's ``Client``: the same names, arguments, return shapes and exceptions.

Differences (all listed in docs/migration-python-etcd3.md): the client connects, and logs
in, on first use; watches resume after a broken stream without losing events; the auth
token is renewed when it expires; prefix ranges end where etcd's own do; an error of the
server that python-etcd3 let through as ``grpc.RpcError`` is a ``GrpcError`` (a subclass).
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import IO, Any, ParamSpec, TypeVar

import grpc

from ... import Client, Compare, EtcdError, GetResponse, KeyValue, Op, TLSConfig
from ..._pb import etcdserverpb
from ...errors import LeaseNotFoundError
from . import _messages, transactions
from .exceptions import WatchTimedOut, translate
from .leases import Lease
from .locks import Lock
from .members import Member
from .utils import lease_to_id, prefix_range_end, response_to_event_iterator
from .watch import Callback, Watcher, WatchResponse

__all__ = [
    "Alarm",
    "Endpoint",
    "Etcd3Client",
    "EtcdTokenCallCredentials",
    "KVMetadata",
    "MultiEndpointEtcd3Client",
    "Status",
    "Transactions",
    "client",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _translated(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """Raise etcdmap's errors as python-etcd3's (``exceptions.translate``)."""

    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(*args, **kwargs)
        except EtcdError as error:
            failure = translate(error)
            if failure is error:
                raise
            raise failure from error

    return wrapper


class Transactions:
    """The builders of ``client.transactions``: compares ``value``, ``version``, ``create``,
    ``mod`` and ops ``put``, ``get``, ``delete``, ``txn``."""

    def __init__(self) -> None:
        self.value = transactions.Value
        self.version = transactions.Version
        self.create = transactions.Create
        self.mod = transactions.Mod
        self.put = transactions.Put
        self.get = transactions.Get
        self.delete = transactions.Delete
        self.txn = transactions.Txn


class KVMetadata:
    """A key's metadata, as ``get`` returns it next to the value."""

    def __init__(self, keyvalue: KeyValue, header: Any) -> None:
        self.key = keyvalue.key
        self.create_revision = keyvalue.create_revision
        self.mod_revision = keyvalue.mod_revision
        self.version = keyvalue.version
        self.lease_id = keyvalue.lease
        self.response_header = header


class Status:
    """A member's status, with the ``leader`` as a ``Member`` (None when it has none)."""

    def __init__(
        self, version: str, db_size: int, leader: Member | None, raft_index: int, raft_term: int
    ) -> None:
        self.version = version
        self.db_size = db_size
        self.leader = leader
        self.raft_index = raft_index
        self.raft_term = raft_term


class Alarm:
    """An alarm: ``alarm_type`` (``etcdrpc.NOSPACE``...) and ``member_id`` (0: every member)."""

    def __init__(self, alarm_type: int, member_id: int) -> None:
        self.alarm_type = alarm_type
        self.member_id = member_id


class EtcdTokenCallCredentials(grpc.AuthMetadataPlugin):
    """gRPC call credentials sending an etcd auth token (etcdmap sends and renews the token
    itself; this is kept for code that builds its own channels)."""

    def __init__(self, access_token: str) -> None:
        self._access_token = access_token

    def __call__(
        self, context: grpc.AuthMetadataContext, callback: grpc.AuthMetadataPluginCallback
    ) -> None:
        callback((("token", self._access_token),), None)


#: etcdrpc.NONE: the alarm type that stands for every type.
_ANY_ALARM = etcdserverpb.AlarmType.Value("NONE")

#: python-etcd3's grpc_options -> (etcdmap Client argument, divisor to its unit).
_GRPC_OPTIONS = {
    "grpc.max_send_message_length": ("max_send_bytes", 1),
    "grpc.max_receive_message_length": ("max_recv_bytes", 1),
    "grpc.keepalive_time_ms": ("keepalive_time", 1000),
    "grpc.keepalive_timeout_ms": ("keepalive_timeout", 1000),
}


def _client_options(grpc_options: Iterable[tuple[str, Any]] | Mapping[str, Any] | None) -> Any:
    """``grpc_options`` as etcdmap ``Client`` arguments; ``ValueError`` for the others."""
    pairs = grpc_options.items() if isinstance(grpc_options, Mapping) else grpc_options or ()
    options: dict[str, Any] = {}
    for name, value in pairs:
        if name not in _GRPC_OPTIONS:
            raise ValueError(
                f"grpc_options: {name!r} is not supported; supported: {sorted(_GRPC_OPTIONS)}"
            )
        argument, divisor = _GRPC_OPTIONS[name]
        unbounded = argument == "max_recv_bytes" and value < 0
        options[argument] = None if unbounded else value / divisor if divisor > 1 else value
    return options


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _range_options(
    sort_order: str | None = None, sort_target: str | None = "key", **options: Any
) -> dict[str, Any]:
    """python-etcd3's range arguments as etcdmap's: no sort is ``"none"``, arguments left
    None are left out."""
    chosen = {name: value for name, value in options.items() if value is not None}
    return {"sort_order": sort_order or "none", "sort_target": sort_target or "key", **chosen}


def _pairs(response: GetResponse, header: Any = None) -> Iterator[tuple[bytes, KVMetadata]]:
    """The ``(value, KVMetadata)`` pairs of a range, as python-etcd3 returned them."""
    header = _messages.header(response.header) if header is None else header
    return iter([(kv.value, KVMetadata(kv, header)) for kv in response.kvs])


class Etcd3Client:
    """python-etcd3's client, on an etcdmap ``Client`` (``etcdmap_client``) for
    ``host:port``. ``timeout`` bounds every call (None: no deadline); ``user`` and
    ``password`` log in on first use; ``ca_cert`` (with ``cert_key`` and ``cert_cert`` for
    mutual TLS) makes the channel TLS."""

    def __init__(
        self,
        host: str = "localhost",
        port: int = 2379,
        ca_cert: str | None = None,
        cert_key: str | None = None,
        cert_cert: str | None = None,
        timeout: float | None = None,
        user: str | None = None,
        password: str | None = None,
        grpc_options: Iterable[tuple[str, Any]] | Mapping[str, Any] | None = None,
    ) -> None:
        if (cert_key is None) != (cert_cert is None):
            raise ValueError(
                "to use a secure channel ca_cert is required by itself, "
                "or cert_cert and cert_key must both be specified."
            )
        tls = None
        if ca_cert is not None or cert_cert is not None:  # no ca_cert: gRPC's root CAs
            tls = TLSConfig(ca_file=ca_cert, cert_file=cert_cert, key_file=cert_key)
        client = Client(
            _netloc(host, port), timeout=timeout, username=user, password=password, tls=tls,
            **_client_options(grpc_options),
        )  # fmt: skip
        self._start(client, timeout, secure=tls is not None)

    def _start(self, client: Client, timeout: float | None, *, secure: bool) -> None:
        #: The etcdmap client doing the work, for code moving over to etcdmap's API.
        self.etcdmap_client = client
        self.uses_secure_channel = secure
        self.timeout = timeout
        self.watcher = Watcher(client, timeout)
        self.transactions = Transactions()

    def close(self) -> None:
        """Stop every watch and close the connection."""
        self.watcher.close()
        self.etcdmap_client.close()

    def __enter__(self) -> Etcd3Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- KV ----------------------------------------------------------------------------------

    def _build_get_range_request(self, key: bytes | str, **options: Any) -> Any:
        """The ``etcdrpc.RangeRequest`` a read with these arguments sends (``ValueError`` for
        an unknown ``sort_order`` or ``sort_target``)."""
        return Op.get(key, **_range_options(**options)).request

    @_translated
    def get_response(self, key: bytes | str, **options: Any) -> Any:
        """Read ``key`` (KV.Range, linearizable unless ``serializable=True``): the
        ``etcdrpc.RangeResponse``. Takes etcd's range options (``revision``, ``limit``...)."""
        return _messages.range_response(self.etcdmap_client.get(key, **_range_options(**options)))

    @_translated
    def get(self, key: bytes | str, **options: Any) -> tuple[bytes, KVMetadata] | tuple[None, None]:
        """Read ``key`` (KV.Range, linearizable unless ``serializable=True``):
        ``(value, KVMetadata)``, or ``(None, None)`` when it does not exist."""
        response = self.etcdmap_client.get(key, **_range_options(**options))
        if not response.kvs:
            return None, None
        return next(_pairs(response))

    def _prefix_options(self, options: dict[str, Any]) -> dict[str, Any]:
        if "key" in options or "range_end" in options:
            raise TypeError("Don't use key or range_end with prefix")
        return _range_options(prefix=True, **options)

    @_translated
    def get_prefix_response(self, key_prefix: bytes | str, **options: Any) -> Any:
        """Read every key under ``key_prefix`` (KV.Range): the ``etcdrpc.RangeResponse``."""
        found = self.etcdmap_client.get(key_prefix, **self._prefix_options(options))
        return _messages.range_response(found)

    @_translated
    def get_prefix(
        self, key_prefix: bytes | str, **options: Any
    ) -> Iterator[tuple[bytes, KVMetadata]]:
        """Read every key under ``key_prefix`` (KV.Range, one request): ``(value,
        KVMetadata)`` pairs. Options: ``keys_only``, ``sort_order``, ``sort_target``,
        ``serializable``, ``limit``, ``revision``, ``count_only``, min/max revisions."""
        return _pairs(self.etcdmap_client.get(key_prefix, **self._prefix_options(options)))

    @_translated
    def get_range_response(
        self, range_start: bytes | str, range_end: bytes | str, **options: Any
    ) -> Any:
        """Read the keys of ``[range_start, range_end)`` (KV.Range): the response."""
        options = _range_options(range_end=range_end, **options)
        return _messages.range_response(self.etcdmap_client.get(range_start, **options))

    @_translated
    def get_range(
        self, range_start: bytes | str, range_end: bytes | str, **options: Any
    ) -> Iterator[tuple[bytes, KVMetadata]]:
        """Read the keys of ``[range_start, range_end)`` (KV.Range): ``(value,
        KVMetadata)`` pairs."""
        options = _range_options(range_end=range_end, **options)
        return _pairs(self.etcdmap_client.get(range_start, **options))

    @_translated
    def get_all_response(self, **options: Any) -> Any:
        """Read every key (KV.Range): the ``etcdrpc.RangeResponse``."""
        found = self.etcdmap_client.get(b"\0", **_range_options(range_end=b"\0", **options))
        return _messages.range_response(found)

    @_translated
    def get_all(self, **options: Any) -> Iterator[tuple[bytes, KVMetadata]]:
        """Read every key (KV.Range, one request): ``(value, KVMetadata)`` pairs."""
        return _pairs(self.etcdmap_client.get(b"\0", **_range_options(range_end=b"\0", **options)))

    @_translated
    def put(
        self, key: bytes | str, value: bytes | str, lease: Any = None, prev_kv: bool = False
    ) -> Any:
        """Write ``key`` (KV.Put), on ``lease`` (a ``Lease`` or an id) if given: the
        ``etcdrpc.PutResponse`` (``prev_kv`` set with ``prev_kv=True``)."""
        written = self.etcdmap_client.put(key, value, lease=lease_to_id(lease), prev_kv=prev_kv)
        return _messages.put_response(written)

    @_translated
    def put_if_not_exists(self, key: bytes | str, value: bytes | str, lease: Any = None) -> bool:
        """Write ``key`` only if it does not exist (one KV.Txn): whether it was written."""
        return self.etcdmap_client.txn(
            [Compare.create_revision(key, "==", 0)],
            [Op.put(key, value, lease=lease_to_id(lease))],
        ).succeeded

    @_translated
    def replace(
        self, key: bytes | str, initial_value: bytes | str, new_value: bytes | str
    ) -> bool:
        """Write ``new_value`` only if ``key`` holds ``initial_value`` (one KV.Txn): whether
        it was written."""
        return self.etcdmap_client.txn(
            [Compare.value(key, "==", initial_value)], [Op.put(key, new_value)]
        ).succeeded

    @_translated
    def delete(
        self, key: bytes | str, prev_kv: bool = False, return_response: bool = False
    ) -> Any:
        """Delete ``key`` (KV.DeleteRange): whether it existed, or with
        ``return_response=True`` the ``etcdrpc.DeleteRangeResponse``."""
        deleted = self.etcdmap_client.delete(key, prev_kv=prev_kv)
        return _messages.delete_response(deleted) if return_response else deleted.deleted >= 1

    @_translated
    def delete_prefix(self, prefix: bytes | str, prev_kv: bool = False) -> Any:
        """Delete every key under ``prefix`` (KV.DeleteRange): the
        ``etcdrpc.DeleteRangeResponse``."""
        return _messages.delete_response(
            self.etcdmap_client.delete_prefix(prefix, prev_kv=prev_kv)
        )

    @_translated
    def compact(self, revision: int, physical: bool = False) -> None:
        """Drop the history before ``revision`` (KV.Compact); ``physical=True`` waits until
        the backend has removed it."""
        self.etcdmap_client.compact(revision, physical=physical)

    # --- transactions ------------------------------------------------------------------------

    def _ops_to_requests(self, ops: Sequence[Any] | None) -> list[Op]:
        """python-etcd3's ops as etcdmap's ``Op`` (``TypeError`` for anything else)."""
        return transactions.to_ops(ops)

    @_translated
    def transaction(
        self,
        compare: Sequence[transactions.BaseCompare],
        success: Sequence[Any] | None = None,
        failure: Sequence[Any] | None = None,
    ) -> tuple[bool, list[Any]]:
        """Run a transaction (KV.Txn): ``(succeeded, responses)``, a read's response as a
        list of ``(value, KVMetadata)``, the others as ``etcdrpc.ResponseOp`` messages.

        Parameters
        ----------
        compare:
            Conditions made with ``client.transactions`` (``value(key) == b"v"``...).
        success, failure:
            The ops run when every condition holds / when one does not.
        """
        response = self.etcdmap_client.txn(*transactions.to_txn(compare, success, failure))
        header = _messages.header(response.header)
        return response.succeeded, [
            list(_pairs(r, header)) if isinstance(r, GetResponse) else _messages.response_op(r)
            for r in response.responses
        ]

    # --- watches -----------------------------------------------------------------------------

    @_translated
    def add_watch_callback(self, key: bytes | str, callback: Callback, **options: Any) -> int:
        """Watch ``key`` (Watch.Watch) and call ``callback`` with each ``WatchResponse``, or
        the exception that ended the watch, on a worker thread of the watch. Options:
        ``range_end``, ``start_revision``, ``progress_notify``, ``filters``, ``prev_kv``.
        Returns the watch id for ``cancel_watch``; ``WatchTimedOut`` if the server did not
        create the watch within the client's timeout."""
        return self.watcher.add_callback(key, callback, **options)

    def add_watch_prefix_callback(
        self, key_prefix: bytes | str, callback: Callback, **options: Any
    ) -> int:
        """``add_watch_callback`` for every key under ``key_prefix``."""
        options["range_end"] = prefix_range_end(key_prefix)
        return self.add_watch_callback(key_prefix, callback, **options)

    def cancel_watch(self, watch_id: int) -> None:
        """Stop a watch of ``add_watch_callback`` (a no-op for an unknown id)."""
        self.watcher.cancel(watch_id)

    def _watch_queue(
        self, key: bytes | str, options: dict[str, Any]
    ) -> tuple[queue.Queue[Any], int]:
        """A watch whose responses (and ending exception) go into a queue."""
        responses: queue.Queue[Any] = queue.Queue()
        return responses, self.add_watch_callback(key, responses.put, **options)

    def watch_response(
        self, key: bytes | str, **options: Any
    ) -> tuple[Iterator[WatchResponse], Callable[[], None]]:
        """Watch ``key`` (Watch.Watch): ``(responses, cancel)``; iterating ``responses``
        blocks for the next ``WatchResponse`` and ends after ``cancel()``; an exception that
        ends the watch (``RevisionCompactedError``...) is raised from it."""
        responses, watch_id = self._watch_queue(key, options)
        canceled = threading.Event()

        def cancel() -> None:
            canceled.set()
            responses.put(None)
            self.cancel_watch(watch_id)

        def iterate() -> Iterator[WatchResponse]:
            while not canceled.is_set():
                item = responses.get()
                if item is None or canceled.is_set():
                    return
                if isinstance(item, BaseException):
                    canceled.set()
                    raise item
                yield item

        return iterate(), cancel

    def watch(
        self, key: bytes | str, **options: Any
    ) -> tuple[Iterator[Any], Callable[[], None]]:
        """Watch ``key``: ``(events, cancel)``, the events one by one."""
        responses, cancel = self.watch_response(key, **options)
        return response_to_event_iterator(responses), cancel

    def watch_prefix_response(
        self, key_prefix: bytes | str, **options: Any
    ) -> tuple[Iterator[WatchResponse], Callable[[], None]]:
        """``watch_response`` for every key under ``key_prefix``."""
        options["range_end"] = prefix_range_end(key_prefix)
        return self.watch_response(key_prefix, **options)

    def watch_prefix(
        self, key_prefix: bytes | str, **options: Any
    ) -> tuple[Iterator[Any], Callable[[], None]]:
        """``watch`` for every key under ``key_prefix``."""
        options["range_end"] = prefix_range_end(key_prefix)
        return self.watch(key_prefix, **options)

    def watch_once_response(
        self, key: bytes | str, timeout: float | None = None, **options: Any
    ) -> WatchResponse:
        """The first ``WatchResponse`` of a watch on ``key``; ``WatchTimedOut`` if none
        came within ``timeout`` seconds (None: wait as long as it takes)."""
        responses, watch_id = self._watch_queue(key, options)
        try:
            item = responses.get(timeout=timeout)
        except queue.Empty:
            raise WatchTimedOut(f"no event on {key!r} within {timeout} s") from None
        finally:
            self.cancel_watch(watch_id)
        if isinstance(item, BaseException):
            raise item
        response: WatchResponse = item
        return response

    def watch_once(self, key: bytes | str, timeout: float | None = None, **options: Any) -> Any:
        """The first event of a watch on ``key``; ``WatchTimedOut`` as ``watch_once_response``."""
        return self.watch_once_response(key, timeout=timeout, **options).events[0]

    def watch_prefix_once_response(
        self, key_prefix: bytes | str, timeout: float | None = None, **options: Any
    ) -> WatchResponse:
        """``watch_once_response`` for every key under ``key_prefix``."""
        options["range_end"] = prefix_range_end(key_prefix)
        return self.watch_once_response(key_prefix, timeout=timeout, **options)

    def watch_prefix_once(
        self, key_prefix: bytes | str, timeout: float | None = None, **options: Any
    ) -> Any:
        """``watch_once`` for every key under ``key_prefix``."""
        options["range_end"] = prefix_range_end(key_prefix)
        return self.watch_once(key_prefix, timeout=timeout, **options)

    # --- leases and locks --------------------------------------------------------------------

    @_translated
    def lease(self, ttl: int, lease_id: int | None = None) -> Lease:
        """Grant a lease of ``ttl`` seconds (Lease.LeaseGrant), with id ``lease_id`` if
        given."""
        granted = self.etcdmap_client.lease_grant(ttl, id=lease_id or 0)
        return Lease(granted.id, granted.ttl, etcd_client=self)

    @_translated
    def revoke_lease(self, lease_id: int) -> None:
        """Revoke a lease, deleting its keys (Lease.LeaseRevoke)."""
        self.etcdmap_client.lease_revoke(lease_id)

    @_translated
    def refresh_lease(self, lease_id: int) -> Iterator[Any]:
        """Renew a lease once, now (one Lease.LeaseKeepAlive request): an iterator of the
        ``etcdrpc.LeaseKeepAliveResponse``, whose ``TTL`` is 0 when the lease is gone."""
        try:
            kept = self.etcdmap_client.lease_keep_alive_once(lease_id)
        except LeaseNotFoundError:
            return iter([etcdserverpb.LeaseKeepAliveResponse(ID=lease_id, TTL=0)])
        header = _messages.header(kept.header)
        return iter([etcdserverpb.LeaseKeepAliveResponse(header=header, ID=kept.id, TTL=kept.ttl)])

    @_translated
    def get_lease_info(self, lease_id: int) -> Any:
        """A lease's TTLs and keys (Lease.LeaseTimeToLive): the
        ``etcdrpc.LeaseTimeToLiveResponse`` (``TTL`` -1 once expired)."""
        info = self.etcdmap_client.lease_time_to_live(lease_id, keys=True)
        return etcdserverpb.LeaseTimeToLiveResponse(
            header=_messages.header(info.header), ID=info.id, TTL=info.ttl,
            grantedTTL=info.granted_ttl, keys=info.keys,
        )  # fmt: skip

    def lock(self, name: str, ttl: int = 60) -> Lock:
        """A lock on ``/locks/<name>`` (no RPC until ``acquire``), python-etcd3's layout."""
        return Lock(name, ttl=ttl, etcd_client=self)

    # --- cluster and maintenance -------------------------------------------------------------

    def _member(self, member: Any) -> Member:
        return Member(member.id, member.name, member.peer_urls, member.client_urls, self)

    @_translated
    def add_member(self, urls: Sequence[str]) -> Member:
        """Add a member reachable at the peer ``urls`` (Cluster.MemberAdd)."""
        return self._member(self.etcdmap_client.member_add(urls).member)

    @_translated
    def remove_member(self, member_id: int) -> None:
        """Remove a member (Cluster.MemberRemove)."""
        self.etcdmap_client.member_remove(member_id)

    @_translated
    def update_member(self, member_id: int, peer_urls: Sequence[str]) -> None:
        """Give a member new peer URLs (Cluster.MemberUpdate)."""
        self.etcdmap_client.member_update(member_id, peer_urls)

    @property
    def members(self) -> Iterator[Member]:
        """The members of the cluster (Cluster.MemberList, linearizable), one by one."""
        return self._members()

    @_translated
    def _members(self) -> Iterator[Member]:
        return iter([self._member(m) for m in self.etcdmap_client.member_list().members])

    @_translated
    def status(self) -> Status:
        """The status of the member the client talks to (Maintenance.Status), and the
        member it follows as ``leader`` (Cluster.MemberList)."""
        s = self.etcdmap_client.status()
        leader = next((m for m in self.members if m.id == s.leader), None)
        return Status(s.version, s.db_size, leader, s.raft_index, s.raft_term)

    @_translated
    def defragment(self) -> None:
        """Defragment the member's backend (Maintenance.Defragment)."""
        self.etcdmap_client.defragment()

    @_translated
    def hash(self) -> int:
        """The hash of the member's keyspace (Maintenance.HashKV at the latest revision)."""
        return self.etcdmap_client.hash_kv().hash

    @staticmethod
    def _alarms(alarms: Iterable[Any]) -> list[Alarm]:
        return [Alarm(etcdserverpb.AlarmType.Value(a.alarm.upper()), a.member_id) for a in alarms]

    @_translated
    def create_alarm(self, member_id: int = 0) -> list[Alarm]:
        """Raise a NOSPACE alarm on ``member_id`` (0: the cluster) (Maintenance.Alarm
        ACTIVATE): the alarm raised."""
        return self._alarms(self.etcdmap_client.alarm_activate(member_id).alarms)

    @_translated
    def list_alarms(self, member_id: int = 0, alarm_type: str = "none") -> Iterator[Alarm]:
        """The alarms raised (Maintenance.Alarm GET), only ``member_id``'s unless 0, only
        of ``alarm_type`` (``"no space"``) unless ``"none"``."""
        alarms = self._alarms(self.etcdmap_client.alarm_list().alarms)
        kind = etcdserverpb.AlarmType.Value(alarm_type.replace(" ", "").upper())
        return iter([
            a for a in alarms
            if member_id in (0, a.member_id) and kind in (_ANY_ALARM, a.alarm_type)
        ])  # fmt: skip

    @_translated
    def disarm_alarm(self, member_id: int = 0) -> list[Alarm]:
        """Clear the NOSPACE alarm of ``member_id`` (0: every one) (Maintenance.Alarm
        DEACTIVATE): the alarms cleared."""
        return self._alarms(self.etcdmap_client.alarm_disarm(member_id, "nospace").alarms)

    @_translated
    def snapshot(self, file_obj: IO[bytes]) -> None:
        """Write a snapshot of the member's backend into ``file_obj`` (Maintenance.Snapshot,
        checked against its sha256)."""
        self.etcdmap_client.snapshot(file_obj)  # type: ignore[arg-type]  # any binary file


class Endpoint:
    """An endpoint of ``MultiEndpointEtcd3Client`` (python-etcd3 after 0.12.0): ``host``,
    ``port``, and with ``secure=True`` (the default) ``creds``, which must be an etcdmap
    ``TLSConfig`` here (gRPC's channel credentials cannot be read back). ``time_retry`` is
    accepted and unused: the client itself chooses when to try a failed endpoint again.
    ``opts`` takes the ``grpc_options`` of ``client()``."""

    def __init__(
        self,
        host: str,
        port: int,
        secure: bool = True,
        creds: TLSConfig | None = None,
        time_retry: float = 300.0,
        opts: Iterable[tuple[str, Any]] | Mapping[str, Any] | None = None,
    ) -> None:
        if secure and not isinstance(creds, TLSConfig):
            raise ValueError(
                "Please set TLS credentials for secure connections: creds=etcdmap.TLSConfig(...)"
            )
        self.host = host
        self.netloc = _netloc(host, port)
        self.secure = secure
        self.protocol = "https" if secure else "http"
        self.credentials = creds
        self.time_retry = time_retry
        self.opts = opts

    def __str__(self) -> str:
        return f"Endpoint({self.protocol}://{self.netloc})"


class MultiEndpointEtcd3Client(Etcd3Client):
    """``Etcd3Client`` over several endpoints (python-etcd3 after 0.12.0), on one etcdmap
    ``Client`` that fails over between them by itself, retrying as etcd's Go client does:
    ``failover`` is accepted and always on. Every endpoint must be secure with the same
    ``TLSConfig``, or every one plain; the ``opts`` of the first endpoint apply."""

    def __init__(
        self,
        endpoints: Iterable[Endpoint] | None = None,
        timeout: float | None = None,
        user: str | None = None,
        password: str | None = None,
        failover: bool = False,
    ) -> None:
        listed = list(endpoints or ())
        if not listed:
            raise ValueError("endpoints: give at least one Endpoint")
        if len({ep.credentials for ep in listed}) > 1:
            raise ValueError("endpoints: every endpoint needs the same creds (or none)")
        self.endpoints = {ep.netloc: ep for ep in listed}
        self.failover = failover
        client = Client(
            [ep.netloc for ep in listed], timeout=timeout, username=user, password=password,
            tls=listed[0].credentials, **_client_options(listed[0].opts),
        )  # fmt: skip
        self._start(client, timeout, secure=listed[0].secure)


def client(
    host: str = "localhost",
    port: int = 2379,
    ca_cert: str | None = None,
    cert_key: str | None = None,
    cert_cert: str | None = None,
    timeout: float | None = None,
    user: str | None = None,
    password: str | None = None,
    grpc_options: Iterable[tuple[str, Any]] | Mapping[str, Any] | None = None,
) -> Etcd3Client:
    """An ``Etcd3Client`` (see there; no RPC until the first call)."""
    return Etcd3Client(
        host=host, port=port, ca_cert=ca_cert, cert_key=cert_key, cert_cert=cert_cert,
        timeout=timeout, user=user, password=password, grpc_options=grpc_options,
    )  # fmt: skip
