"""Sans-IO parts of the service registry: Go's key layout and JSON values, watch updates."""

from __future__ import annotations

import json

import pytest

from etcdmap import Event, EventType, KeyValue
from etcdmap._core.naming import (
    decode_endpoint,
    encode_endpoint,
    endpoint_key,
    endpoints_from_kvs,
    service_prefix,
    updates_from_events,
)
from etcdmap.naming import Endpoint, EndpointUpdate


def test_keys() -> None:
    assert service_prefix("svc/api") == service_prefix(b"svc/api/") == b"svc/api/"
    assert endpoint_key(b"svc/api/", "10.0.0.1:80") == b"svc/api/10.0.0.1:80"
    with pytest.raises(ValueError):
        service_prefix("/")
    with pytest.raises(ValueError):
        endpoint_key(b"svc/", "")


def test_values_are_gos_json() -> None:
    assert json.loads(encode_endpoint(Endpoint("a:1"))) == {"Op": 0, "Addr": "a:1"}
    value = encode_endpoint(Endpoint("a:1", {"w": 2}))
    assert json.loads(value) == {"Op": 0, "Addr": "a:1", "Metadata": {"w": 2}}
    assert decode_endpoint(value) == Endpoint("a:1", {"w": 2})
    assert decode_endpoint(b'{"Addr": "b:2"}') == Endpoint("b:2")
    assert decode_endpoint(b"junk") is None and decode_endpoint(b'{"Addr": 5}') is None


def test_listing_and_updates_skip_unreadable_values() -> None:
    good = KeyValue(key=b"s/a", value=encode_endpoint(Endpoint("a:1")))
    bad = KeyValue(key=b"s/b", value=b"junk")
    assert endpoints_from_kvs([good, bad]) == {"s/a": Endpoint("a:1")}
    events = [
        Event(type=EventType.PUT, kv=good),
        Event(type=EventType.PUT, kv=bad),
        Event(type=EventType.DELETE, kv=KeyValue(key=b"s/a")),
    ]
    assert updates_from_events(events) == [
        EndpointUpdate(op="add", key="s/a", endpoint=Endpoint("a:1")),
        EndpointUpdate(op="delete", key="s/a"),
    ]
