"""``resume_election(...)``: the election object matching the session's flavour."""

from __future__ import annotations

from typing import overload

from ._async.concurrency import AsyncElection, AsyncSession
from ._sync.concurrency import Election, Session

__all__ = ["resume_election"]


@overload
def resume_election(
    session: AsyncSession, prefix: bytes | str, key: bytes | str, rev: int
) -> AsyncElection: ...


@overload
def resume_election(
    session: Session, prefix: bytes | str, key: bytes | str, rev: int
) -> Election: ...


def resume_election(
    session: AsyncSession | Session, prefix: bytes | str, key: bytes | str, rev: int
) -> AsyncElection | Election:
    """An election of ``prefix`` already led (or campaigned for) by ``key``, created at
    revision ``rev`` on ``session``'s lease (no RPC; Go's ``ResumeElection``): e.g. after a
    restart, with ``Session(client, lease=<the old lease id>)``, to ``proclaim`` or
    ``resign`` without campaigning again. An ``AsyncSession`` gives an ``AsyncElection``, a
    ``Session`` an ``Election``.
    """
    if isinstance(session, AsyncSession):
        return AsyncElection.resume(session, prefix, key, rev)
    if isinstance(session, Session):
        return Election.resume(session, prefix, key, rev)
    raise TypeError(
        f"resume_election() needs a Session or AsyncSession, not {type(session).__name__}"
    )
