"""The result of the watch, mirror and lock checkers: findings in words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["CheckResult", "Finding"]


@dataclass(frozen=True)
class Finding:
    """One thing a checker found: its ``kind`` (e.g. ``"gap"``), an ``explanation`` in
    words, and the history ``records`` that show it."""

    kind: str
    explanation: str
    records: tuple[Any, ...] = ()


@dataclass(frozen=True)
class CheckResult:
    """A checker's verdict: ``ok`` when it found no ``problems``; ``notes`` are findings
    that are no violation (an overlap of lock holds excused by an expired session, a check
    that lacked its input); ``summary`` says what was checked."""

    checker: str
    summary: str
    problems: tuple[Finding, ...]
    notes: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether no problem was found."""
        return not self.problems

    def explain(self) -> str:
        """The verdict, then each problem and note, in words."""
        verdict = "ok" if self.ok else f"{len(self.problems)} problems"
        lines = [f"{self.checker}: {self.summary}: {verdict}"]
        lines += [f"- {f.kind}: {f.explanation}" for f in self.problems]
        lines += [f"- note, {f.kind}: {f.explanation}" for f in self.notes]
        return "\n".join(lines)
