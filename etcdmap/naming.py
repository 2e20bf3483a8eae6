"""A service registry over etcd (Go's ``naming/endpoints`` manager).

``Registry(client, "services/billing")`` (``AsyncRegistry`` for an ``AsyncClient``) registers
endpoints as ``services/billing/<addr>`` with Go's JSON value ``{"Op":0,"Addr":...,
"Metadata":...}`` on a kept-alive lease, lists them and watches them as add/delete updates.
An entry vanishes when its owner stops renewing the lease (for instance because it died).
"""

from __future__ import annotations

from ._async.naming import AsyncRegistration, AsyncRegistry, AsyncRegistryWatcher
from ._core.naming import Endpoint, EndpointUpdate
from ._core.public import publish
from ._sync.naming import Registration, Registry, RegistryWatcher

__all__ = [
    "AsyncRegistration",
    "AsyncRegistry",
    "AsyncRegistryWatcher",
    "Endpoint",
    "EndpointUpdate",
    "Registration",
    "Registry",
    "RegistryWatcher",
]

publish(__name__)
