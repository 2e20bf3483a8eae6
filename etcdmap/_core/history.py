"""A key's history: the result types and the replay of its changes from a watch, sans-IO.

etcd keeps every revision of every key until a compaction. A watch created with a past
``start_revision`` replays them: the server reads the history in rounds (every 100 ms) and
sends each round's changes of the watched key in one response of at most 1,000 revisions
(``watchBatchMaxRevs``), so reading N versions takes about N / 1,000 responses, not N Ranges.

What the replay needs is to know when it has everything up to ``now`` (the revision of the
Range that read the key first), since etcd never says "caught up": before 3.5.8 a progress
request is answered at once, ahead of the replay (etcd #15220). So ``HistoryReplay`` stops on
what the events themselves prove: the key's current ``mod_revision`` arrived, or an event after
``now``, or a replay response that is the last of its kind (fewer than 1,000 revisions, read
at or after ``now``). Only for a key that is missing now and has no change to replay (or whose
last response was exactly full) does it need a quiet period with nothing left to come.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import msgspec

from .results import KeyValue
from .views import summarize
from .watch import Event, EventType, WatchResponse

__all__ = [
    "QUIET",
    "REPLAY_BATCH",
    "History",
    "HistoryReplay",
    "Version",
    "version_of",
    "versions_of",
]

V = TypeVar("V")

#: The most revisions etcd puts in one replay response of a watch (``watchBatchMaxRevs``).
REPLAY_BATCH = 1000
#: Seconds without a replay response after which a key missing now is taken to have nothing
#: more to replay: five of etcd's 100 ms replay rounds.
QUIET = 0.5


class Version(msgspec.Struct, Generic[V], frozen=True, gc=False):
    """One change of a key: ``kind`` PUT or DELETE at ``revision``; ``value`` the value
    written (None for a DELETE, and for a value that does not decode: then ``error`` holds
    the ``ValueDecodeError``); ``version`` the number of writes since the key was created
    (0 for a DELETE), ``create_revision`` the revision that created this generation of the
    key, ``lease`` its lease id (0 for none). ``data`` is the stored bytes."""

    revision: int
    kind: EventType
    value: V | None
    version: int
    create_revision: int
    lease: int
    data: bytes = b""
    error: Any = None


class History(msgspec.Struct, Generic[V], frozen=True):
    """Every change of ``key`` still in etcd's history, oldest first (``versions``).

    ``revision`` is the store revision the history is complete up to (the key's state then
    is its last version). ``earliest`` is the first revision whose changes it holds: the
    ``since`` asked for, else 1, or where the store was compacted. ``complete`` is False
    when a compaction removed changes of the asked range: the first version may then be
    the one that survived the compaction (its ``revision`` is before ``earliest``) and
    older ones, and older generations of the key, are gone. ``pages`` counts the watch
    responses the history was read from."""

    key: str
    versions: list[Version[V]]
    revision: int
    earliest: int
    complete: bool
    pages: int = 0

    def __len__(self) -> int:
        return len(self.versions)

    def __iter__(self) -> Any:
        return iter(self.versions)

    def __getitem__(self, index: int) -> Version[V]:
        return self.versions[index]

    def text(self) -> str:
        """One line per version (what ``str()`` shows)."""
        state = "complete" if self.complete else f"from revision {self.earliest} (compacted)"
        lines = [
            f"history of {self.key!r}: {len(self.versions)} changes up to revision "
            f"{self.revision}, {state}"
        ]
        for v in self.versions:
            lines.append(f"  {v.revision:>8} {_describe(v)}")
        return "\n".join(lines)

    __str__ = text

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text())

    def _repr_html_(self) -> str:
        esc = html.escape
        rows = "".join(
            f"<tr><td>{v.revision}</td><td>{v.kind.name}</td><td>{esc(_describe(v, 200))}"
            f"</td><td>{v.version}</td><td>{v.create_revision}</td><td>{v.lease}</td></tr>"
            for v in self.versions
        )
        state = "complete" if self.complete else f"from revision {self.earliest} (compacted)"
        return (
            f"<div><b>history</b> <code>{esc(self.key)}</code> &middot; "
            f"{len(self.versions)} changes up to revision {self.revision} &middot; {state}"
            "<table><thead><tr><th>revision</th><th>kind</th><th>value</th><th>version</th>"
            f"<th>create_revision</th><th>lease</th></tr></thead><tbody>{rows}</tbody>"
            "</table></div>"
        )


def _describe(v: Version[Any], width: int = 60) -> str:
    if v.kind is EventType.DELETE:
        return "deleted"
    if v.error is not None:
        return f"<does not decode: {summarize(v.data, 40)}>"
    return summarize(v.value, width)


class HistoryReplay:
    """Collects the changes of one key a watch replays from ``start`` and says when every
    change up to ``now`` is in (``done``), from the key as a Range read it at ``now``
    (``current``, None if missing). Feed it each watch response (``feed``); when it waits
    for nothing the events prove (``needs_quiet``), a quiet period ends it (``quiet``)."""

    def __init__(self, now: int, current: KeyValue | None, start: int) -> None:
        self.now = now
        self.start = start
        self.events: list[Event] = []
        #: Watch responses with events received.
        self.pages = 0
        self._full = False
        # The key's last change up to now: known when it exists now.
        self._target = current.mod_revision if current is not None else 0
        self.done = start > now or (current is not None and current.mod_revision < start)

    @property
    def needs_quiet(self) -> bool:
        """Whether only a quiet period can end the replay: the key is missing now and no
        response has proved that the replay reached ``now``."""
        return not self.done and not self._target and (self.pages == 0 or self._full)

    def quiet(self) -> None:
        """No response came for ``QUIET`` seconds while ``needs_quiet``: nothing is left."""
        self.done = True

    def feed(self, response: WatchResponse) -> None:
        """One response of the watch (a progress notification carries no proof: ignored)."""
        if self.done or not response.events:
            return
        self.pages += 1
        for event in response.events:
            revision = event.kv.mod_revision
            if revision > self.now:
                self.done = True
                return
            self.events.append(event)
            if self._target and revision >= self._target:
                self.done = True
                return
        self._full = len({e.kv.mod_revision for e in response.events}) >= REPLAY_BATCH
        if response.header.revision >= self.now and not self._full:
            self.done = True  # the last response of a replay read at or after now


def versions_of(events: Sequence[Event], decode: Any) -> list[Version[Any]]:
    """The ``Version``s of a key's replayed ``events``; ``decode(kv)`` gives a PUT's value or
    raises its ``ValueDecodeError``. A DELETE gets the create_revision of the generation it
    ended, when its PUTs were replayed."""
    versions: list[Version[Any]] = []
    created = 0
    for event in events:
        kv = event.kv
        if event.type is EventType.DELETE:
            versions.append(Version(kv.mod_revision, EventType.DELETE, None, 0, created, 0))
            created = 0
            continue
        created = kv.create_revision
        versions.append(version_of(kv, decode))
    return versions


def version_of(kv: KeyValue, decode: Any) -> Version[Any]:
    """The PUT ``Version`` of ``kv`` (a key as a Range or a watch event gives it)."""
    try:
        value, error = decode(kv), None
    except ValueError as problem:  # ValueDecodeError
        value, error = None, problem
    return Version(
        kv.mod_revision, EventType.PUT, value, kv.version, kv.create_revision, kv.lease,
        kv.value, error,
    )  # fmt: skip
