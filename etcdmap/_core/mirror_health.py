"""When a mirror is ``READY`` and when ``DEGRADED``: the rule, without clocks or I/O.

A mirror turns ``DEGRADED`` when its watch has confirmed nothing (no event, no progress
notification) for a while: the stream is lost, being re-opened or silent. It is ``READY``
again only when all three happened in this order: it turned ``DEGRADED``, then a read told
the server's current revision, then the watch answered (or that read proved the copy
current); and the copy has reached that revision.

A watch of a quiet prefix answers only progress requests, and etcd's gRPC proxy answers none.
Once the heartbeat saw a request go unanswered for half a beat while a read was answered, it asks
for progress only every ``PROBE_BEATS`` beats (the proxy logs each) and confirms the copy by a
read instead (``prefix_unchanged``): a read that finds the prefix as the copy holds it proves
the copy current, which counts as an answer. The caller passes the monotonic times in.
"""

from __future__ import annotations

__all__ = ["PROBE_BEATS", "MirrorHealth", "prefix_unchanged"]

#: While the endpoint answers no progress request, one is sent every this many beats, to
#: notice an endpoint that answers them again (then the cheaper requests take over again).
PROBE_BEATS = 10


def prefix_unchanged(no_key_newer: bool, counts: list[int], held: int) -> bool:
    """Whether the prefix at a read's revision R equals a copy of ``held`` keys (valid and
    invalid) made at revision r: no key of it was modified after r (``no_key_newer``, the
    Compare of one Txn) and the one count-only Range of that Txn counted ``held`` keys
    (``counts``). Every key at R then has the value it had at r (a delete and re-create gives
    a new mod revision), and as many keys means no key of r was deleted: the copy is the
    prefix at R."""
    return no_key_newer and counts == [held]


class MirrorHealth:
    """The times (monotonic seconds) a mirror's health is judged by.

    ``degraded_after``: the longest silence of the watch before ``DEGRADED``; ``beat``: the
    period of the heartbeat that looks, so the silence allowed is ``degraded_after`` less
    1.25 beats (a look may come a beat late, and a call may take a quarter of one).
    """

    __slots__ = (
        "answers_progress", "asked_at", "beat", "beats", "confirmed_at", "degraded_after",
        "degraded_at", "progress_at", "proven_at", "read_at", "read_revision",
    )  # fmt: skip

    def __init__(self, degraded_after: float, beat: float) -> None:
        self.degraded_after = degraded_after
        self.beat = beat
        #: When the watch last answered.
        self.confirmed_at = 0.0
        #: When the last read that told the server's revision was sent, and that revision.
        self.read_at = 0.0
        self.read_revision = 0
        #: When the mirror last turned ``DEGRADED``.
        self.degraded_at = 0.0
        #: Whether the watch's endpoint answers progress requests (the gRPC proxy does not),
        #: when the last one was sent, when the last progress notification came, and the beats.
        self.answers_progress = True
        self.asked_at = 0.0
        self.progress_at = 0.0
        self.beats = 0
        #: When the last read that proved the copy current was sent.
        self.proven_at = -1.0

    def heard(self, now: float, progress: bool = False) -> None:
        """The watch answered at ``now`` (a ``progress`` notification: no events)."""
        self.confirmed_at = max(self.confirmed_at, now)
        if progress:
            self.progress_at = max(self.progress_at, now)

    def ask_progress(self, now: float) -> bool:
        """Whether the heartbeat's beat at ``now`` sends a progress request (then it is
        noted as sent): every beat while the endpoint answers them, else every
        ``PROBE_BEATS`` beats; an answer to a probe makes it every beat again."""
        self.beats += 1
        if self.asked_at and self.progress_at >= self.asked_at:
            self.answers_progress = True
        if self.answers_progress or self.beats % PROBE_BEATS == 0:
            self.asked_at = now
            return True
        return False

    def needs_read(self, now: float) -> bool:
        """Whether the heartbeat must confirm the copy by a read at ``now``: the last
        progress request is unanswered (it was sent a beat ago), or the endpoint answers
        none and nothing confirmed the copy for half a beat (the last read's beat)."""
        if self.asked_at > self.progress_at and self.confirmed_at < self.asked_at:
            return True
        return not self.answers_progress and now - self.confirmed_at >= self.beat / 2

    def read(self, asked: float, revision: int, current: bool = False) -> None:
        """A read sent at ``asked`` told the server's ``revision`` (an older read's answer
        arriving late changes nothing); ``current``: it proved the copy equal to the prefix at
        ``revision``, an answer as good as the watch's. A read answered while the progress
        request sent half a beat or more before it is not means the endpoint answers none."""
        if asked > self.read_at:
            self.read_at, self.read_revision = asked, revision
        if current:
            self.proven_at = max(self.proven_at, asked)
            self.heard(asked)
        if self.progress_at < self.asked_at <= asked - self.beat / 2:
            self.answers_progress = False

    def degraded(self, now: float) -> None:
        """The mirror turned ``DEGRADED`` at ``now``."""
        self.degraded_at = now

    def silence(self, now: float) -> float | None:
        """How long the watch has been silent at ``now``, if that is too long for ``READY``."""
        silent = now - self.confirmed_at
        return silent if silent > self.degraded_after - 1.25 * self.beat else None

    def may_recover(self, revision: int) -> bool:
        """Whether a ``DEGRADED`` mirror whose copy is at ``revision`` may be ``READY``: a read
        after it degraded told the server's revision, the watch answered after that read, and
        the copy has reached the revision the read told (or that read proved it current)."""
        answered = self.read_at < self.confirmed_at or self.read_at == self.proven_at
        return self.degraded_at < self.read_at and answered and revision >= self.read_revision
