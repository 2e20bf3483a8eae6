"""Checkers of histories (:mod:`etcdmap.testing.history`): each takes records, returns a
typed result with ``ok`` and an explanation in words.  Pure Python, no server.

- ``check_linearizability``: KV operations against per-key registers (Wing--Gong search
  with memoisation, per partition of keys, response revisions as constraints).
"""

from ..._core.public import publish
from ._linearizability import LinearizabilityResult, Violation, check_linearizability

__all__ = ["LinearizabilityResult", "Violation", "check_linearizability"]

publish(__name__)
