"""Watch: request builders, typed events, and the multiplexer state machine.

All watchers of a client share one gRPC Watch stream. etcd answers create requests in the order
they arrive without echoing any client id, so creates go out one at a time: the next is sent when
the previous one's ``created`` response came back. Each watcher remembers the revision after the
last one it delivered; when the stream breaks, every watcher is re-created from there, so no event
is lost and none is delivered twice.
"""

from __future__ import annotations

import enum
import itertools
from collections import deque
from collections.abc import Iterable
from typing import Any, Literal

import msgspec

from .._pb import etcdserverpb
from .errors import (
    CompactedError,
    EtcdError,
    RequestTooLargeError,
    ServerError,
    error_from_status,
)
from .keys import ALL_KEYS, to_bytes
from .kv import parse_header, resolve_range
from .results import KeyValue, ResponseHeader

__all__ = [
    "Event",
    "EventType",
    "Subscription",
    "WatchMux",
    "WatchResponse",
    "parse_watch_response",
]

WatchFilter = Literal["noput", "nodelete"]
_FILTERS = {"noput": 0, "nodelete": 1}
#: The highest revision etcd can hold (an int64).
MAX_REVISION = 2**63 - 1
#: What a broken stream's status says when a request on it was over a size limit: the
#: client's ``max_send_bytes`` (gRPC core) or what etcd's gRPC server reads (grpc-go).
_TOO_LARGE = ("Sent message larger than max", "grpc: received message larger than max")
#: The watch id etcd uses for a progress response meant for every watcher of the stream.
ALL_WATCHERS = -1

WatchRequest = etcdserverpb.WatchRequest
WatchCreateRequest = etcdserverpb.WatchCreateRequest
WatchCancelRequest = etcdserverpb.WatchCancelRequest
WatchProgressRequest = etcdserverpb.WatchProgressRequest


class EventType(enum.IntEnum):
    """What happened to a key (mvccpb.Event.EventType)."""

    PUT = 0
    DELETE = 1


_EVENT_TYPES = (EventType.PUT, EventType.DELETE)


class Event(msgspec.Struct, frozen=True, gc=False):
    """One change: the key as written (for a DELETE only key and mod_revision are set) and, when
    the watch asked for ``prev_kv``, the key as it was before."""

    type: EventType
    kv: KeyValue
    prev_kv: KeyValue | None = None


class WatchResponse(msgspec.Struct, frozen=True):
    """What a watcher receives: the events of one or more revisions, in order, or a progress
    notification (no events; every change up to ``header.revision`` has been delivered)."""

    header: ResponseHeader
    events: list[Event]
    compact_revision: int = 0
    created: bool = False
    canceled: bool = False
    progress_notify: bool = False


class WatchOptions(msgspec.Struct, frozen=True):
    """What a watcher watches; fixed for its life, reused for every (re)creation."""

    key: bytes
    range_end: bytes
    prev_kv: bool
    filters: tuple[int, ...]
    progress_notify: bool
    fragment: bool


def watch_options(
    key: bytes | str,
    range_end: bytes | str | None = None,
    prefix: bool = False,
    prev_kv: bool = False,
    filters: Iterable[WatchFilter] = (),
    progress_notify: bool = False,
    fragment: bool = False,
) -> WatchOptions:
    """Validate a watch's arguments (TypeError/ValueError naming the argument), so that a
    watcher, once queued on the shared stream, has a create request etcd accepts."""
    for name, flag in (
        ("prefix", prefix), ("prev_kv", prev_kv), ("progress_notify", progress_notify),
        ("fragment", fragment),
    ):  # fmt: skip
        if type(flag) is not bool:
            raise TypeError(f"{name} must be True or False, not {type(flag).__name__}")
    key_bytes, end = resolve_range(to_bytes(key), range_end, prefix, False)
    if range_end is not None and end and end != ALL_KEYS and end <= (key_bytes or ALL_KEYS):
        # etcd cancels such a watch ("mvcc: watcher range is empty")
        raise ValueError(f"range_end {end!r} must sort after the key {key_bytes!r}")
    return WatchOptions(
        key_bytes, end, prev_kv, _filter_codes(filters), progress_notify, fragment
    )


def _filter_codes(filters: Iterable[WatchFilter]) -> tuple[int, ...]:
    if isinstance(filters, (str, bytes)) or not isinstance(filters, Iterable):
        raise TypeError(
            f"filters must be a list of 'noput' and 'nodelete', not {type(filters).__name__}"
        )
    codes = set()
    for name in filters:
        code = _FILTERS.get(name) if isinstance(name, str) else None
        if code is None:
            raise ValueError(f"filters may hold 'noput' and 'nodelete', not {name!r}")
        codes.add(code)
    return tuple(sorted(codes))


def check_revision(revision: int, name: str = "start_revision") -> int:
    """``revision`` if it is a revision etcd can hold (an int from 0 to 2**63 - 1), else
    TypeError/ValueError naming the argument ``name``."""
    if isinstance(revision, bool) or not isinstance(revision, int):
        raise TypeError(f"{name} must be an int, not {type(revision).__name__}")
    if revision < 0:
        raise ValueError(f"{name} must not be negative, got {revision}")
    if revision > MAX_REVISION:
        raise ValueError(f"{name} must be below 2**63 (an etcd revision), got {revision}")
    return revision


def check_buffer(buffer: int) -> int:
    """``buffer`` if it can hold a response (an int ≥ 1), else TypeError/ValueError."""
    if isinstance(buffer, bool) or not isinstance(buffer, int):
        raise TypeError(f"buffer must be an int, not {type(buffer).__name__}")
    if buffer < 1:
        raise ValueError(f"buffer must be at least 1 (responses held), got {buffer}")
    return buffer


class Subscription:
    """The sans-IO state of one watcher."""

    __slots__ = ("options", "next_revision", "watch_id", "order", "cancelled", "ended", "parts")

    _counter = itertools.count()

    def __init__(self, options: WatchOptions, start_revision: int = 0) -> None:
        self.options = options
        #: The first revision not yet delivered; 0 until the server told us where we start.
        self.next_revision = check_revision(start_revision)
        self.watch_id: int | None = None
        self.order = next(self._counter)
        self.cancelled = False
        self.ended = False
        self.parts: list[Any] = []  # fragments of a response not yet complete

    def create_request(self) -> Any:
        o = self.options
        create = WatchCreateRequest(key=o.key)
        if o.range_end:
            create.range_end = o.range_end
        if self.next_revision:
            create.start_revision = self.next_revision
        if o.prev_kv:
            create.prev_kv = True
        if o.filters:
            create.filters.extend(o.filters)
        if o.progress_notify:
            create.progress_notify = True
        if o.fragment:
            create.fragment = True
        return WatchRequest(create_request=create)

    def create_bytes(self) -> int:
        """The encoded size of this watcher's create request at its largest (re-created
        from the highest revision), to hold against a send limit before it is queued."""
        request = self.create_request()
        request.create_request.start_revision = MAX_REVISION
        return int(request.ByteSize())


def cancel_request(watch_id: int) -> Any:
    """The request that cancels server watch ``watch_id``."""
    return WatchRequest(cancel_request=WatchCancelRequest(watch_id=watch_id))


def progress_request() -> Any:
    """The request asking the server for a progress notification (etcd ≥ 3.4)."""
    return WatchRequest(progress_request=WatchProgressRequest())


#: A delivery: the subscription and what it gets (a response, or the error that ends it).
Delivery = tuple[Subscription, "WatchResponse | EtcdError"]
#: A watcher ended by an error (``Delivery`` where the item is that error).
Failure = tuple[Subscription, EtcdError]


class WatchMux:
    """Multiplexes watchers on one stream. Every method returns the requests to send, in order;
    ``on_response`` also returns what to deliver to which watcher. Not thread-safe: the owner
    serialises calls (a lock in the threaded client, the event loop in the asyncio one)."""

    def __init__(self) -> None:
        self.endpoint = ""  # set by on_connect
        self.connected = False
        self._to_create: deque[Subscription] = deque()
        self._creating: Subscription | None = None
        self._active: dict[int, Subscription] = {}

    @property
    def watchers(self) -> int:
        """How many watchers are queued, being created or active."""
        return len(self._to_create) + (self._creating is not None) + len(self._active)

    def add(self, sub: Subscription) -> list[Any]:
        """Register a watcher; it is created on the server as soon as the stream allows."""
        self._to_create.append(sub)
        return self._next_create()

    def cancel(self, sub: Subscription) -> list[Any]:
        """Stop a watcher (its queued deliveries are the owner's to drop)."""
        sub.cancelled = True
        sub.ended = True
        if sub in self._to_create:
            self._to_create.remove(sub)
            return []
        if sub is self._creating or sub.watch_id is None:
            return []  # cancelled once its created response arrives
        self._active.pop(sub.watch_id, None)
        return [cancel_request(sub.watch_id)] if self.connected else []

    def on_connect(self, endpoint: str) -> list[Any]:
        """A new stream is up: (re)create every watcher, in the order they were added."""
        self.endpoint = endpoint
        self.connected = True
        return self._next_create()

    def on_disconnect(self) -> None:
        """The stream broke: every live watcher goes back to the queue, to resume later from
        its next revision."""
        self.connected = False
        waiting = list(self._active.values())
        if self._creating is not None:
            waiting.append(self._creating)
        waiting.extend(self._to_create)
        for sub in waiting:
            sub.watch_id = None
            sub.parts.clear()
        self._to_create = deque(s for s in sorted(waiting, key=lambda s: s.order) if not s.ended)
        self._creating = None
        self._active.clear()

    def retry(self, sub: Subscription) -> None:
        """Create an ended watcher again on the next stream (after a stale auth token)."""
        sub.ended = False
        self._to_create.append(sub)

    def fail_all(self, error: EtcdError) -> list[Failure]:
        """End every watcher with ``error`` (a failure no reconnect can cure)."""
        subs = [*self._to_create, *self._active.values()]
        if self._creating is not None:
            subs.append(self._creating)
        self._to_create.clear()
        self._active.clear()
        self._creating = None
        for sub in subs:
            sub.ended = True
        return [(sub, error) for sub in sorted(subs, key=lambda s: s.order)]

    def on_stream_error(self, code: Any, details: str) -> list[Failure]:
        """The stream broke with gRPC status ``code``/``details``. If a request was over a
        size limit, it was the create being answered (cancels and progress requests are a
        few bytes): that watcher ends with ``RequestTooLargeError``, so that reopening the
        stream does not send it again, forever; the others resume."""
        sub = self._creating
        if sub is None or not any(text in details for text in _TOO_LARGE):
            return []
        self._creating = None
        sub.ended = True
        action = f"watch {sub.options.key[:64]!r}"
        error = error_from_status(code, details, endpoint=self.endpoint, action=action)
        if not isinstance(error, RequestTooLargeError):
            error = RequestTooLargeError(
                f"{action}: the create request is over what etcd at {self.endpoint} reads "
                f"(--max-request-bytes + 512 KiB) ({details})",
                code=code, details=details, endpoint=self.endpoint,
            )
        return [(sub, error)]

    def on_response(self, response: Any) -> tuple[list[Any], list[Delivery]]:
        """Apply one response from the server."""
        if response.created:
            return self._on_created(response)
        if response.watch_id == ALL_WATCHERS and not response.events:
            return [], self._on_progress_all(response)
        sub = self._active.get(response.watch_id)
        if sub is None:
            return [], []  # a watcher we already cancelled
        if response.canceled:
            del self._active[response.watch_id]
            sub.ended = True
            return [], [(sub, self._cancel_error(sub, response))]
        if response.fragment:
            sub.parts.append(response)
            return [], []
        if sub.parts:
            sub.parts.append(response)
            events = [e for part in sub.parts for e in part.events]
            sub.parts.clear()
        else:
            events = response.events
        if events:
            sub.next_revision = events[-1].kv.mod_revision + 1
            return [], [(sub, parse_watch_response(response, events, sub.options.prev_kv))]
        sub.next_revision = max(sub.next_revision, response.header.revision + 1)
        return [], [(sub, parse_watch_response(response, events))]

    def _next_create(self) -> list[Any]:
        if not self.connected or self._creating is not None or not self._to_create:
            return []
        self._creating = self._to_create.popleft()
        return [self._creating.create_request()]

    def _on_created(self, response: Any) -> tuple[list[Any], list[Delivery]]:
        sub, self._creating = self._creating, None
        requests = self._next_create()
        if sub is None:
            return requests, []
        if response.canceled or response.compact_revision:
            sub.ended = True
            return requests, [(sub, self._cancel_error(sub, response))]
        if sub.cancelled:
            return [cancel_request(response.watch_id), *requests], []
        sub.watch_id = response.watch_id
        self._active[response.watch_id] = sub
        if not sub.next_revision:
            sub.next_revision = response.header.revision + 1
        # The owner learns the watch is registered: changes after this are seen.
        return requests, [(sub, parse_watch_response(response, []))]

    def _on_progress_all(self, response: Any) -> list[Delivery]:
        next_revision = response.header.revision + 1
        progress = parse_watch_response(response, [])  # frozen: one for every watcher
        for sub in self._active.values():
            sub.next_revision = max(sub.next_revision, next_revision)
        return [(sub, progress) for sub in self._active.values()]

    def _cancel_error(self, sub: Subscription, response: Any) -> EtcdError:
        key = sub.options.key
        if response.compact_revision:
            return CompactedError(
                f"watch {key!r} from revision {sub.next_revision}: that revision has been "
                f"compacted (compaction at {response.compact_revision}); restart the watch "
                f"from {response.compact_revision} or later, after re-reading the keys",
                compact_revision=response.compact_revision,
                endpoint=self.endpoint,
            )
        reason = response.cancel_reason
        if reason:
            return error_from_status(
                None, reason, endpoint=self.endpoint, action=f"watch {key!r}"
            )
        return ServerError(f"watch {key!r} was cancelled by the server at {self.endpoint}")


def parse_watch_response(
    response: Any, events: Iterable[Any], prev_kv: bool = False
) -> WatchResponse:
    """``etcdserverpb.WatchResponse`` (with the events of all its fragments) -> WatchResponse.

    ``prev_kv`` says whether the watch asked for previous values (only then are they read)."""
    types = _EVENT_TYPES
    if prev_kv:
        parsed = [
            Event(types[e.type], e.kv, e.prev_kv if e.HasField("prev_kv") else None)
            for e in events
        ]
    else:
        parsed = [Event(types[e.type], e.kv) for e in events]
    return WatchResponse(
        parse_header(response.header),
        parsed,
        response.compact_revision,
        response.created,
        response.canceled,
        not events and not response.created and not response.canceled,
    )
