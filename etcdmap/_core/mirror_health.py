"""When a mirror is ``READY`` and when ``DEGRADED``: the rule, without clocks or I/O.

A mirror turns ``DEGRADED`` when its watch has confirmed nothing (no event, no progress
notification) for a while: the stream is lost, being re-opened or silent. It is ``READY``
again only when all three happened in this order: it turned ``DEGRADED``, then a read told
the server's current revision, then the watch answered; and the copy has reached that
revision. The caller passes the monotonic times in.
"""

from __future__ import annotations

__all__ = ["MirrorHealth"]


class MirrorHealth:
    """The times (monotonic seconds) a mirror's health is judged by.

    ``degraded_after``: the longest silence of the watch before ``DEGRADED``; ``beat``: the
    period of the heartbeat that looks, so the silence allowed is ``degraded_after`` less
    1.25 beats (a look may come a beat late, and a call may take a quarter of one).
    """

    __slots__ = (
        "beat", "confirmed_at", "degraded_after", "degraded_at", "read_at", "read_revision",
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

    def heard(self, now: float) -> None:
        """The watch answered at ``now``."""
        self.confirmed_at = max(self.confirmed_at, now)

    def read(self, asked: float, revision: int) -> None:
        """A read sent at ``asked`` told the server's ``revision`` (an older read's answer
        arriving late changes nothing)."""
        if asked > self.read_at:
            self.read_at, self.read_revision = asked, revision

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
        the copy has reached the revision the read told."""
        return (
            self.degraded_at < self.read_at < self.confirmed_at
            and revision >= self.read_revision
        )
