"""A drop-in replacement for python-etcd3 (the ``etcd3`` package, 0.12.0) on etcdmap's client.

Migrate with one line, ``import etcdmap.compat.etcd3 as etcd3``; the names, arguments,
return shapes and exceptions are python-etcd3's. What differs, and what is better (watches
that resume without losing events, renewed auth tokens, etcd's own prefix ranges), is listed
in docs/migration-python-etcd3.md. New code should use ``etcdmap.Client`` directly
(``Etcd3Client.etcdmap_client`` is the one underneath).
"""

from . import etcdrpc as etcdrpc
from . import events as events
from . import exceptions as exceptions
from . import leases as leases
from . import locks as locks
from . import members as members
from . import transactions as transactions
from . import utils as utils
from . import watch as watch
from .client import (
    Endpoint,
    Etcd3Client,
    KVMetadata,
    MultiEndpointEtcd3Client,
    Transactions,
    client,
)
from .exceptions import Etcd3Exception
from .leases import Lease
from .locks import Lock
from .members import Member

#: The python-etcd3 release whose API this package reproduces.
__version__ = "0.12.0"

__all__ = [
    "Endpoint",
    "Etcd3Client",
    "Etcd3Exception",
    "KVMetadata",
    "Lease",
    "Lock",
    "Member",
    "MultiEndpointEtcd3Client",
    "Transactions",
    "client",
    "etcdrpc",
]
