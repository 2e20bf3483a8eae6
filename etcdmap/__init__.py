"""etcdmap: etcd as a Python mapping, on a complete etcd v3 client (sync and asyncio).

The names here are the daily ones: the clients, the KV builders and results, the views of the
KV, the map and the mirror, and the error families. The rest lives in public modules, each
listed in docs/api.md: ``etcdmap.errors`` (every error), ``etcdmap.concurrency`` (locks,
elections, recipes), ``etcdmap.lease``, ``etcdmap.watch`` (watch handles), ``etcdmap.admin``
(cluster, maintenance and auth results), ``etcdmap.syncer`` (copying a prefix to another
cluster), ``etcdmap.codecs``, ``etcdmap.metrics``, ``etcdmap.naming`` and ``etcdmap.testing``.
"""

from importlib import metadata as _metadata

# The public modules of the names a client hands back, first: each makes itself the
# __module__ of the names it exports (etcdmap.errors.CompactedError, also importable from
# here), whichever one users import. etcdmap.naming, metrics and testing load on demand.
from . import admin as admin
from . import codecs as codecs
from . import concurrency as concurrency
from . import errors as errors
from . import lease as lease
from . import syncer as syncer
from . import watch as watch
from ._async.client import AsyncClient
from ._async.kv import AsyncKV
from ._async.leasing import AsyncLeasingKV
from ._async.mapping import AsyncEtcdMap, AsyncEtcdMapSnapshot, AsyncMapTransaction
from ._async.mirror import AsyncMirror
from ._async.namespace import AsyncNamespace
from ._async.ordering import AsyncOrderingKV, AsyncSwitchEndpoint
from ._async.repository import AsyncRepository, AsyncRepositoryMirror
from ._core.config import ClientConfig, load_config
from ._core.history import History, Version
from ._core.keys import prefix_range_end
from ._core.keyspace import WHOLE_KEYSPACE, KeySpace
from ._core.kv import Compare, Op
from ._core.mapping import Entry, UpdateResult
from ._core.mirror import Batch, Change, ChangeKind, InvalidValue, MirrorSnapshot, MirrorState
from ._core.plan import Plan
from ._core.public import publish
from ._core.repository import RepositoryCheck
from ._core.results import (
    CompactResponse,
    DeleteResponse,
    GetResponse,
    KeyValue,
    PutResponse,
    ResponseHeader,
    TxnResponse,
)
from ._core.retry import RetryPolicy
from ._core.stats import PrefixStats, Stats
from ._core.tls import TLSConfig
from ._core.validate import InvalidEntry
from ._core.watch import Event, EventType, WatchResponse
from ._sync.client import Client
from ._sync.kv import KV
from ._sync.leasing import LeasingKV
from ._sync.mapping import EtcdMap, EtcdMapSnapshot, MapTransaction
from ._sync.mirror import Mirror
from ._sync.namespace import Namespace
from ._sync.ordering import OrderingKV, SwitchEndpoint
from ._sync.repository import Repository, RepositoryMirror
from .errors import (
    ClientClosedError,
    ClientError,
    CompactedError,
    ConflictError,
    ConnectionFailedError,
    DeadlineExceededError,
    EtcdError,
    OutcomeUnknownError,
    PartialWriteError,
    RequestTooLargeError,
    ServerError,
    TransportError,
    UniqueViolationError,
    ValueDecodeError,
    ValueEncodeError,
)

try:
    # Single source: setup.cfg's version, as installed.
    __version__: str = _metadata.version("etcdmap")
except _metadata.PackageNotFoundError:  # a source tree on sys.path, never installed
    __version__ = "0+unknown"

__all__ = [
    "AsyncClient",
    "AsyncEtcdMap",
    "AsyncEtcdMapSnapshot",
    "AsyncKV",
    "AsyncLeasingKV",
    "AsyncMapTransaction",
    "AsyncMirror",
    "AsyncNamespace",
    "AsyncOrderingKV",
    "AsyncRepository",
    "AsyncRepositoryMirror",
    "AsyncSwitchEndpoint",
    "Batch",
    "Change",
    "ChangeKind",
    "Client",
    "ClientClosedError",
    "ClientConfig",
    "ClientError",
    "CompactResponse",
    "CompactedError",
    "Compare",
    "ConflictError",
    "ConnectionFailedError",
    "DeadlineExceededError",
    "DeleteResponse",
    "Entry",
    "EtcdError",
    "EtcdMap",
    "EtcdMapSnapshot",
    "Event",
    "EventType",
    "GetResponse",
    "History",
    "InvalidEntry",
    "InvalidValue",
    "KV",
    "KeySpace",
    "KeyValue",
    "LeasingKV",
    "MapTransaction",
    "Mirror",
    "MirrorSnapshot",
    "MirrorState",
    "Namespace",
    "Op",
    "OrderingKV",
    "OutcomeUnknownError",
    "PartialWriteError",
    "Plan",
    "PrefixStats",
    "PutResponse",
    "Repository",
    "RepositoryCheck",
    "RepositoryMirror",
    "RequestTooLargeError",
    "ResponseHeader",
    "RetryPolicy",
    "ServerError",
    "Stats",
    "SwitchEndpoint",
    "TLSConfig",
    "TransportError",
    "TxnResponse",
    "UniqueViolationError",
    "UpdateResult",
    "ValueDecodeError",
    "ValueEncodeError",
    "Version",
    "WHOLE_KEYSPACE",
    "WatchResponse",
    "load_config",
    "prefix_range_end",
]

publish(__name__)
