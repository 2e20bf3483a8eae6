"""Sans-IO parts of the service registry (Go's naming endpoints manager): key layout, the JSON
value ``{"Op":0,"Addr":...,"Metadata":...}`` and watch events as endpoint updates."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import msgspec

from .keys import to_bytes
from .results import KeyValue
from .watch import Event, EventType

__all__ = [
    "Endpoint",
    "EndpointUpdate",
    "decode_endpoint",
    "encode_endpoint",
    "endpoint_key",
    "endpoints_from_kvs",
    "service_prefix",
    "updates_from_events",
]


class Endpoint(msgspec.Struct, frozen=True):
    """A registered service endpoint: its address and optional JSON-compatible metadata."""

    addr: str
    metadata: Any = None


class EndpointUpdate(msgspec.Struct, frozen=True):
    """One change to the registry: ``"add"`` (with the endpoint) or ``"delete"`` (endpoint
    None) of the full key ``key``."""

    op: Literal["add", "delete"]
    key: str
    endpoint: Endpoint | None = None


class _Wire(msgspec.Struct):
    # Go's endpoints.Update as JSON; Op 0 is Add (the only op ever stored).
    Op: int = 0
    Addr: str = ""
    Metadata: Any = None


_decoder = msgspec.json.Decoder(_Wire)


def service_prefix(service: bytes | str) -> bytes:
    """The key prefix of a service's endpoints: ``<service>/`` (a trailing ``/`` is not doubled)."""
    name = to_bytes(service, "service_prefix").rstrip(b"/")
    if not name:
        raise ValueError("service_prefix must name a service, not be empty")
    return name + b"/"


def endpoint_key(prefix: bytes, name: str) -> bytes:
    """The key of endpoint ``name`` (by default its address) under a service prefix."""
    if not name:
        raise ValueError("an endpoint needs a non-empty name (or address)")
    return prefix + name.encode()


def encode_endpoint(endpoint: Endpoint) -> bytes:
    """The stored value, as Go writes it: ``{"Op":0,"Addr":...}`` plus ``"Metadata"`` if set."""
    wire: dict[str, Any] = {"Op": 0, "Addr": endpoint.addr}
    if endpoint.metadata is not None:
        wire["Metadata"] = endpoint.metadata
    return msgspec.json.encode(wire)


def decode_endpoint(value: bytes) -> Endpoint | None:
    """The endpoint stored in ``value``, or None if it is not a registry entry."""
    try:
        wire = _decoder.decode(value)
    except msgspec.DecodeError:
        return None
    return Endpoint(addr=wire.Addr, metadata=wire.Metadata)


def endpoints_from_kvs(kvs: Iterable[KeyValue]) -> dict[str, Endpoint]:
    """Key -> endpoint for the readable entries (others are skipped, as Go does)."""
    found = {}
    for kv in kvs:
        endpoint = decode_endpoint(kv.value)
        if endpoint is not None:
            found[kv.key.decode(errors="replace")] = endpoint
    return found


def updates_from_events(events: Iterable[Event]) -> list[EndpointUpdate]:
    """Watch events as updates: a PUT adds (an unreadable value is skipped), a DELETE removes."""
    updates = []
    for event in events:
        key = event.kv.key.decode(errors="replace")
        if event.type is EventType.DELETE:
            updates.append(EndpointUpdate(op="delete", key=key))
            continue
        endpoint = decode_endpoint(event.kv.value)
        if endpoint is not None:
            updates.append(EndpointUpdate(op="add", key=key, endpoint=endpoint))
    return updates
