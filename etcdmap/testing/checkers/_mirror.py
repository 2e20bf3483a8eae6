"""A mirror's promises, sample by sample: its content is the prefix's content at the
mirror's revision, its revision never goes back, and it is not ``READY`` while its watch
stream has been down for longer than ``degraded_after`` (``Mirror(degraded_after=...)``:
the mirror turns ``DEGRADED`` at most that long after its watch last confirmed anything,
see ``etcdmap/_core/mirror_health.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..history import MirrorSample, WatchEvent
from ._replay import content_at
from ._result import CheckResult, Finding

__all__ = ["check_mirrors"]

#: The states in which a mirror's content must be the content at its revision (not while it
#: loads for the first time, nor once closed).
CONSISTENT_STATES = ("ready", "degraded", "relisting")


def check_mirrors(
    samples: Iterable[MirrorSample],
    server: Callable[[int], Mapping[str, Any]] | Iterable[WatchEvent],
    *,
    degraded_after: float,
    prefix: str = "",
    slack: float = 0.5,
) -> CheckResult:
    """Check mirror samples (``History.mirrors``).

    Parameters
    ----------
    samples : iterable of MirrorSample
        Each taken at once (``revision`` and ``content`` of one ``local_snapshot()``, the
        ``state`` read next to it), in the mirror's key space.
    server : callable or iterable of WatchEvent
        The truth: ``server(revision)`` returns the content at ``revision`` (a get at that
        revision, in the mirror's key space), or the committed events
        (``History.committed``) from which it is replayed: keys under ``prefix``, with
        ``prefix`` stripped.
    degraded_after : float
        The mirror's ``degraded_after``.
    prefix : str
        The mirror's prefix in etcd, with committed events.
    slack : float
        Seconds allowed on top of ``degraded_after`` for the sampling itself.
    """
    if callable(server):
        truth = server
    else:
        events = list(server)

        def truth(revision: int) -> Mapping[str, Any]:
            full = content_at(events, revision, prefix)
            return {key[len(prefix):]: value for key, value in full.items()}

    samples = list(samples)
    problems = []
    last: dict[int, MirrorSample] = {}
    for sample in samples:
        name = f"mirror {sample.mirror} at {sample.time:.3f} ({sample.state}, revision " \
               f"{sample.revision})"
        before = last.get(sample.mirror)
        if before is not None and sample.revision < before.revision:
            problems.append(Finding("revision went back", f"{name}: revision {before.revision}"
                                    f" at {before.time:.3f} before", (before, sample)))
        last[sample.mirror] = sample
        if sample.state in CONSISTENT_STATES:
            expected = dict(truth(sample.revision))
            if expected != sample.content:
                problems.append(Finding("content", f"{name}: {_diff(sample.content, expected)}",
                                        (sample,)))  # fmt: skip
        down = sample.stream_down_since
        if sample.state == "ready" and down is not None and (
                sample.time - down > degraded_after + slack):  # fmt: skip
            problems.append(Finding("ready while down", f"{name}: READY although its watch "
                                    f"stream was down for {sample.time - down:.2f} s, more "
                                    f"than degraded_after={degraded_after}", (sample,)))
    summary = f"{len(samples)} samples of {len(last)} mirrors"
    return CheckResult("mirror", summary, tuple(problems))


def _diff(got: Mapping[str, Any], expected: Mapping[str, Any]) -> str:
    """How the mirror's content differs from the server's, in words (a few keys)."""
    parts = []
    for key in sorted(got.keys() | expected.keys()):
        mine, theirs = got.get(key), expected.get(key)
        if key not in got:
            parts.append(f"{key!r} missing (server: {theirs!r})")
        elif key not in expected:
            parts.append(f"{key!r} = {mine!r} should not exist")
        elif mine != theirs:
            parts.append(f"{key!r} = {mine!r}, server: {theirs!r}")
    more = f" and {len(parts) - 5} more keys" if len(parts) > 5 else ""
    return "content differs from the server's at that revision: " + "; ".join(parts[:5]) + more
