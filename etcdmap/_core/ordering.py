"""Sans-IO parts of the ordering KV (Go's ordering package): the highest revision seen, the
check that a response does not go back before it, and the endpoint-switching budget."""

from __future__ import annotations

from .errors import NoGreaterRevisionError, OrderingViolationError

__all__ = ["NO_GREATER_REVISION", "RevisionGuard", "ViolationBudget", "violation"]

#: Go's ``ErrNoGreaterRev`` message.
NO_GREATER_REVISION = (
    "etcdclient: no cluster members have a revision higher than the previously received revision"
)
#: Violations tolerated per endpoint before the switching handler gives up (Go's factor).
VIOLATIONS_PER_ENDPOINT = 5


class RevisionGuard:
    """The highest header revision seen; a response may equal or exceed it, never fall
    below it."""

    __slots__ = ("prev_revision",)

    def __init__(self, prev_revision: int = 0) -> None:
        self.prev_revision = prev_revision

    def accept(self, revision: int) -> bool:
        """Record ``revision`` and return True, or return False if it goes back."""
        if revision < self.prev_revision:
            return False
        self.prev_revision = revision
        return True


def violation(
    operation: str, revision: int, prev_revision: int, endpoint: str | None, response: object
) -> OrderingViolationError:
    """The error describing a response at ``revision`` after ``prev_revision`` was seen."""
    where = f" from {endpoint}" if endpoint else ""
    return OrderingViolationError(
        f"{operation} answered{where} at revision {revision}, older than the revision "
        f"{prev_revision} already seen (a member that is behind)",
        revision=revision, prev_revision=prev_revision, operation=operation,
        response=response, endpoint=endpoint,
    )


class ViolationBudget:
    """Go's ``NewOrderViolationSwitchEndpointClosure`` count: up to 5 violations per endpoint
    are answered by switching endpoint; the next one is ``NoGreaterRevisionError``. The count
    never resets."""

    __slots__ = ("used",)

    def __init__(self) -> None:
        self.used = 0

    def spend(self, error: OrderingViolationError, endpoints: int) -> None:
        """Count one violation; raise ``NoGreaterRevisionError`` once over budget."""
        if self.used >= VIOLATIONS_PER_ENDPOINT * max(endpoints, 1):
            raise NoGreaterRevisionError(
                NO_GREATER_REVISION, revision=error.revision, prev_revision=error.prev_revision,
                operation=error.operation, response=error.response, endpoint=error.endpoint,
            ) from error
        self.used += 1
