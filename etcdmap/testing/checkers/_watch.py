"""The guarantees of etcd's watch, per watcher, against the committed events.

For each watcher (a :class:`~etcdmap.testing.history.WatchStart` and its deliveries, in the
order they were delivered):

- ordered: event revisions never go down;
- unique: no event (key, revision) is delivered twice;
- atomic: the events of one revision (one txn) come in one response, all of them;
- correct: each event is the committed one (kind, value) under the watched prefix;
- reliable: no committed revision under the prefix is missing between the start revision
  and the last revision delivered (or confirmed by a progress notification);
- bookmarkable: after a progress notification at revision ``r`` every committed event up to
  ``r`` has been delivered and no event at or below ``r`` follows;
- resumable: the first event after a reconnect is exactly the next committed revision
  after the last one delivered.

The truth is ``committed``: every event of the run under the watched prefixes (read from
etcd at the end, as ``History.committed``).  Without it only the first three are checked.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable

from ..history import WatchDelivery, WatchEvent, WatchStart
from ._result import CheckResult, Finding

__all__ = ["check_watches"]


def check_watches(
    watches: Iterable[WatchStart],
    deliveries: Iterable[WatchDelivery],
    committed: Iterable[WatchEvent],
) -> CheckResult:
    """Check every watcher's deliveries (``History.watches``, ``History.deliveries``)
    against the ``committed`` events (``History.committed``)."""
    truth = list(committed)
    by_watcher: dict[int, list[WatchDelivery]] = defaultdict(list)
    for delivery in deliveries:
        by_watcher[delivery.watcher].append(delivery)
    starts = {w.watcher: w for w in watches}
    problems: list[Finding] = []
    notes: list[Finding] = []
    for watcher in sorted(by_watcher.keys() - starts.keys()):
        problems.append(Finding("unknown watcher", f"watcher {watcher} delivered events but "
                                "has no WatchStart record"))  # fmt: skip
    events = 0
    for watcher, start in sorted(starts.items()):
        got = by_watcher.get(watcher, [])
        events += sum(len(d.events) for d in got)
        problems += _Watcher(start, truth).check(got)
    if not truth and events:
        notes.append(Finding("no committed events", "History.committed is empty: whether "
                             "the events are correct and complete was not checked"))  # fmt: skip
    summary = (f"{len(starts)} watchers, {sum(map(len, by_watcher.values()))} responses, "
               f"{events} events, {len(truth)} committed events")  # fmt: skip
    return CheckResult("watch", summary, tuple(problems), tuple(notes))


class _Watcher:
    """One watcher's check: what it should see, and what it saw so far."""

    def __init__(self, start: WatchStart, committed: list[WatchEvent]) -> None:
        self.name = f"watcher {start.watcher} ({start.prefix!r} from revision "
        self.name += f"{start.start_revision})"
        self.truth: dict[int, dict[str, WatchEvent]] = defaultdict(dict)
        for event in committed:
            if event.key.startswith(start.prefix):
                self.truth[event.mod_revision][event.key] = event
        self.revisions = sorted(self.truth)
        self.checked = bool(committed)
        if start.start_revision:
            self.upto = start.start_revision - 1  # every revision up to here is accounted for
        else:
            self.upto = start.current_revision if start.current_revision is not None else -1
        self.last = 0  # the last event revision delivered
        self.bookmark = 0
        self.seen: set[tuple[str, int]] = set()
        self.answered: set[int] = set()  # revisions delivered by earlier responses
        self.problems: list[Finding] = []

    def problem(self, kind: str, text: str, *records: object) -> None:
        self.problems.append(Finding(kind, f"{self.name}: {text}", records))

    def check(self, deliveries: list[WatchDelivery]) -> list[Finding]:
        for delivery in deliveries:
            revisions = sorted({e.mod_revision for e in delivery.events})
            if delivery.after_reconnect:
                self.resumed(delivery, revisions)
            if revisions:
                if self.upto >= 0:
                    self.gap(self.upto, revisions[0] - 1, delivery, "gap")
                self.events(delivery)
                self.upto = max(self.upto, revisions[-1])
            else:
                self.progress(delivery)
        return self.problems

    def missing(self, after: int, upto: int) -> list[int]:
        """The committed revisions in (after, upto] not delivered."""
        if not self.checked:
            return []
        low = bisect.bisect_right(self.revisions, after)
        high = bisect.bisect_right(self.revisions, upto)
        return [r for r in self.revisions[low:high]
                if any((k, r) not in self.seen for k in self.truth[r])]

    def gap(self, after: int, upto: int, delivery: WatchDelivery, kind: str) -> None:
        if lost := self.missing(after, upto):
            self.problem(kind, f"revisions {_show(lost)} were committed under the prefix but "
                         f"not delivered before the response at {delivery.time:.3f}", delivery)

    def resumed(self, delivery: WatchDelivery, revisions: list[int]) -> None:
        if not revisions or not self.checked:
            return
        after = bisect.bisect_right(self.revisions, max(self.upto, self.last))
        expected = self.revisions[after] if after < len(self.revisions) else None
        if revisions[0] != expected:
            self.problem("not resumed", f"after the reconnect at {delivery.time:.3f} the "
                         f"first event is at revision {revisions[0]}, the next one after "
                         f"{self.last} is {expected}", delivery)  # fmt: skip

    def events(self, delivery: WatchDelivery) -> None:
        here: dict[int, set[str]] = defaultdict(set)
        for event in delivery.events:
            rev, key = event.mod_revision, event.key
            if rev < self.last:
                self.problem("unordered", f"event {key!r}@{rev} came after revision "
                             f"{self.last}", delivery)  # fmt: skip
            if rev <= self.bookmark:
                self.problem("bookmark", f"event {key!r}@{rev} came after a progress "
                             f"notification at revision {self.bookmark}", delivery)  # fmt: skip
            if (key, rev) in self.seen:
                self.problem("duplicate", f"event {key!r}@{rev} delivered again at "
                             f"{delivery.time:.3f}", delivery)  # fmt: skip
            elif rev in self.answered:
                self.problem("split revision", f"events of revision {rev} came in several "
                             "responses", delivery)  # fmt: skip
            self.seen.add((key, rev))
            here[rev].add(key)
            self.last = max(self.last, rev)
            if self.checked:
                self.correct(event, delivery)
        for rev in here:
            if lost := sorted(k for k in self.truth.get(rev, {}) if (k, rev) not in self.seen):
                self.problem("split revision", f"the response with revision {rev} lacks "
                             f"its events on {lost}", delivery)
        self.answered.update(here)

    def correct(self, event: WatchEvent, delivery: WatchDelivery) -> None:
        truth = self.truth.get(event.mod_revision, {}).get(event.key)
        if truth is None:
            self.problem("unexpected event", f"{event.kind} {event.key!r}@"
                         f"{event.mod_revision} was not committed under the prefix",
                         delivery)  # fmt: skip
        elif (truth.kind, truth.value) != (event.kind, event.value):
            self.problem("wrong event", f"{event.key!r}@{event.mod_revision} delivered as "
                         f"{event.kind} {event.value!r}, committed as {truth.kind} "
                         f"{truth.value!r}", delivery)  # fmt: skip

    def progress(self, delivery: WatchDelivery) -> None:
        """A progress notification: every event up to its revision was delivered."""
        if self.upto >= 0:
            self.gap(self.upto, delivery.revision, delivery, "bookmark")
        self.bookmark = max(self.bookmark, delivery.revision)
        self.upto = max(self.upto, delivery.revision)


def _show(revisions: list[int]) -> str:
    shown = ", ".join(map(str, revisions[:10]))
    return shown + (f" (and {len(revisions) - 10} more)" if len(revisions) > 10 else "")
