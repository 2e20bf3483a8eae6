"""Logging a background loop's failures one line per change of state.

A stream re-opened every second through a long outage must not fill the logs: the first
failure after the loop worked is one WARNING line (what, endpoint, error class, next retry),
the repeats go to DEBUG, and the recovery is one INFO line. No traceback and no gRPC object
dump: a broken stream is expected in the field, and the error class says what happened.
"""

from __future__ import annotations

import logging

from .errors import EtcdError, error_from_status

__all__ = ["FailureLog", "describe"]

#: Longest error text kept in a log line.
_MAX_TEXT = 200


def describe(error: BaseException | None) -> str:
    """``ErrorClass: first line of its message`` for a log line; a gRPC error is named by
    the etcdmap class it maps to (``ConnectionFailedError``, ``NoLeaderError``...)."""
    if error is None:
        return "the server ended the stream"
    code = getattr(error, "code", None)
    if not isinstance(error, EtcdError) and callable(code):
        details = getattr(error, "details", None)
        text = details() if callable(details) else ""
        error = error_from_status(code(), text, endpoint="", action="")
        message = error.details
    else:
        message = str(error)
    line = " ".join(message.split())
    if len(line) > _MAX_TEXT:
        line = line[: _MAX_TEXT - 3] + "..."
    return f"{type(error).__name__}: {line}" if line else type(error).__name__


class FailureLog:
    """The failures of one background loop (``what``, e.g. ``"watch stream"``), logged to
    ``logger`` one line per change: ``failed`` at WARNING the first time, DEBUG after;
    ``recovered`` at INFO once after failures, silent otherwise."""

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self._log = logger
        self.what = what
        #: Failures in a row (0 while the loop works).
        self.failures = 0

    def failed(self, endpoint: str | None, error: BaseException | None, retry_in: float) -> None:
        """Note one failure; ``retry_in`` is the pause before the next attempt."""
        self.failures += 1
        level = logging.WARNING if self.failures == 1 else logging.DEBUG
        if self._log.isEnabledFor(level):
            where = f" to {endpoint}" if endpoint else ""
            self._log.log(
                level, "%s%s failed (%s); next retry in %.1f s (failure %d in a row)",
                self.what, where, describe(error), retry_in, self.failures,
            )  # fmt: skip

    def recovered(self, endpoint: str | None) -> None:
        """Note that the loop works again (logged only after failures)."""
        if self.failures:
            where = f" to {endpoint}" if endpoint else ""
            self._log.info(
                "%s%s works again after %d failures", self.what, where, self.failures
            )
            self.failures = 0
