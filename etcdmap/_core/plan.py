"""Applying a document to a map: the ``Plan`` (what would change, computed at one revision),
its diff text and HTML view, nested documents flattened into keys, and the guarded Txn ops
that write exactly a plan. Sans-IO; ``map_apply`` reads the prefix and sends the Txns.

A plan is guarded by the revision it was computed at (R), not by per-key revisions, so a
mirror (whose copy has one revision and no per-key ones) makes plans too: a key written by
the plan must still have ``mod_revision <= R`` (nothing wrote it since) and, if the plan read
it, still exist (``version > 0``); an atomic apply also compares the whole prefix, so any key
written under it since R (the ones the plan leaves unchanged included) is a conflict.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import msgspec

from .keyspace import KeySpace
from .kv import Compare, LeaseLike, Op
from .views import summarize

__all__ = ["Plan", "PlanBuilder", "flatten_document", "plan_from_copy", "plan_writes"]


class Plan(msgspec.Struct, frozen=True):
    """What applying a document to the map under ``prefix`` writes, as computed at
    ``revision``: ``added`` and ``removed`` (key -> value), ``changed`` (key -> (old, new)),
    and the number of keys left ``unchanged``. Keys are relative to the map. A stored value
    that does not decode shows as an ``InvalidValue`` on the old side. ``str(plan)`` is a
    readable diff; notebooks show it as a table.

    ``apply(plan)`` writes exactly this, and only if none of the keys it writes was written
    since ``revision`` (else ``ConflictError``, nothing written)."""

    prefix: str
    added: dict[str, Any]
    removed: dict[str, Any]
    changed: dict[str, tuple[Any, Any]]
    unchanged: int
    revision: int

    @property
    def writes(self) -> int:
        """The number of keys applying the plan writes (puts and deletes)."""
        return len(self.added) + len(self.removed) + len(self.changed)

    def _rows(self, width: int) -> list[tuple[str, str, str, str]]:
        """(mark, key, old, new) for every key written, in key order."""
        rows = [("+", k, "", summarize(v, width)) for k, v in self.added.items()]
        rows += [("-", k, summarize(v, width), "") for k, v in self.removed.items()]
        rows += [
            ("~", k, summarize(old, width), summarize(new, width))
            for k, (old, new) in self.changed.items()
        ]
        return sorted(rows, key=lambda row: row[1])

    def summary(self) -> str:
        """One line: the counts and the revision."""
        return (
            f"plan for {self.prefix!r} at revision {self.revision}: {len(self.added)} added, "
            f"{len(self.changed)} changed, {len(self.removed)} removed, "
            f"{self.unchanged} unchanged"
        )

    def text(self) -> str:
        """The diff: the summary, then ``+ key: new``, ``- key: old`` or ``~ key: old -> new``
        per key written, in key order."""
        lines = [self.summary()]
        for mark, key, old, new in self._rows(60):
            if mark == "+":
                lines.append(f"+ {key}: {new}")
            elif mark == "-":
                lines.append(f"- {key}: {old}")
            else:
                lines.append(f"~ {key}: {old} -> {new}")
        return "\n".join(lines)

    __str__ = text

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text())

    def _repr_html_(self) -> str:
        esc = html.escape
        colors = {"+": "#e6ffec", "-": "#ffebe9", "~": "#fff8c5"}
        rows = "".join(
            f'<tr style="background:{colors[mark]}"><td>{mark}</td><td><code>{esc(key)}'
            f"</code></td><td>{esc(old)}</td><td>{esc(new)}</td></tr>"
            for mark, key, old, new in self._rows(200)
        )
        return (
            f"<div><b>{esc(self.summary())}</b><table><thead><tr><th></th><th>key</th>"
            f"<th>old</th><th>new</th></tr></thead><tbody>{rows}</tbody></table></div>"
        )


def flatten_document(document: Mapping[str, Any], separator: str | None) -> dict[str, Any]:
    """``document`` as a dict of the map's keys. With a ``separator``, nested mappings become
    keys joined by it (``{"db": {"port": 1}}`` -> ``{"db/port": 1}``; an empty one adds no
    key). ``TypeError`` for a document that is no mapping or a key that is no ``str``,
    ``ValueError`` for a key given twice (``"db/port"`` and ``{"db": {"port": ...}}``)."""
    if not isinstance(document, Mapping):
        raise TypeError(
            f"document must be a mapping of keys to values, not {type(document).__name__}"
        )
    if separator is not None and (not isinstance(separator, str) or not separator):
        raise TypeError(f"flatten must be a non-empty str separator or None, not {separator!r}")
    flat: dict[str, Any] = {}

    def walk(head: str, mapping: Mapping[Any, Any]) -> None:
        for key, value in mapping.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"document key {head}{key!r} must be a str, not {type(key).__name__}"
                )
            name = head + key
            if separator is not None and isinstance(value, Mapping):
                walk(name + separator, value)
                continue
            if name in flat:
                raise ValueError(f"document key {name!r} is given twice (once nested)")
            flat[name] = value

    walk("", document)
    return flat


class PlanBuilder:
    """Compares a document (the map's keys -> values) with the stored keys, fed one at a
    time in one pass at one revision, and makes the ``Plan``. Every document value is
    encoded (validated) here first: ``TypeError``/``ValueEncodeError`` naming its key before
    anything is read. Values are compared as stored bytes, then decoded: a value stored
    with other bytes that decodes equal (another writer's JSON spacing) is unchanged."""

    def __init__(self, keyspace: KeySpace[Any], document: dict[str, Any], prune: bool) -> None:
        self._ks = keyspace
        self._prune = prune
        self._encoded = {}
        for key, value in document.items():
            keyspace.full(key)  # the key codec's TypeError, naming the key
            self._encoded[key] = keyspace.encode(key, value)
        self._seen: set[str] = set()
        self.added: dict[str, Any] = {}
        self.removed: dict[str, Any] = {}
        self.changed: dict[str, tuple[Any, Any]] = {}
        self.unchanged = 0

    def _new(self, key: str) -> Any:
        return self._ks.codec.decode(self._encoded[key])

    def stored(self, key: str, value: Any, data: bytes | None = None) -> None:
        """``key`` is stored with ``value`` (decoded; ``data`` its bytes when known)."""
        self._seen.add(key)
        encoded = self._encoded.get(key)
        if encoded is None:
            if self._prune:
                self.removed[key] = value
            return
        if data is not None and data == encoded:
            self.unchanged += 1
            return
        new = self._new(key)
        if value == new:
            self.unchanged += 1
        else:
            self.changed[key] = (value, new)

    def invalid(self, key: str, marker: Any) -> None:
        """``key`` is stored with a value that does not decode (``marker`` shows it)."""
        self._seen.add(key)
        if key in self._encoded:
            self.changed[key] = (marker, self._new(key))
        elif self._prune:
            self.removed[key] = marker

    def plan(self, revision: int) -> Plan:
        """The plan, computed at ``revision`` (the pass's)."""
        added = {key: self._new(key) for key in self._encoded if key not in self._seen}
        return Plan(self._ks.name, added, self.removed, self.changed, self.unchanged, revision)


def plan_from_copy(
    keyspace: KeySpace[Any],
    document: Mapping[str, Any],
    *,
    prune: bool,
    flatten: str | None,
    revision: int,
    data: Mapping[str, Any],
    invalid: Mapping[str, Any],
) -> Plan:
    """The plan of ``document`` against a local copy of the map at ``revision`` (a
    mirror's): ``data`` the decoded values, ``invalid`` the keys that do not decode."""
    builder = PlanBuilder(keyspace, flatten_document(document, flatten), prune)
    for key, value in data.items():
        builder.stored(key, value)
    for key, marker in invalid.items():
        builder.invalid(key, marker)
    return builder.plan(revision)


def plan_writes(
    plan: Plan, keyspace: KeySpace[Any], lease: LeaseLike, *, atomic: bool
) -> tuple[list[Op], list[str], list[list[Compare]]]:
    """The ops that write ``plan`` (in key order), the map's key of each, and the compares
    each one brings to its Txn (see the module's docstring).

    Split over several Txns (``atomic=False``) each op is guarded alone: its key not written
    since the plan's revision (``mod_revision < revision + 1``) and, if the plan read it,
    still there (``version > 0``: a deletion leaves a mod_revision of 0). In one Txn
    (``atomic=True``) one compare over the prefix's range does the first for every key at
    once, the ones the plan leaves unchanged included; it goes with the first op.
    """
    since = plan.revision + 1
    ops: list[Op] = []
    names: list[str] = []
    guards: list[list[Compare]] = []
    writes = [(key, "+") for key in plan.added] + [(key, "~") for key in plan.changed]
    writes += [(key, "-") for key in plan.removed]
    for key, mark in sorted(writes):
        full = keyspace.full(key)
        guard = [] if atomic else [Compare.mod_revision(full, "<", since)]
        if mark == "-":
            ops.append(Op.delete(full))
        else:
            new = plan.added[key] if mark == "+" else plan.changed[key][1]
            ops.append(Op.put(full, keyspace.encode(key, new), lease=lease))
        if mark != "+":
            guard.append(Compare.version(full, ">", 0))
        names.append(key)
        guards.append(guard)
    if atomic and guards:
        whole = Compare.mod_revision(keyspace.start, "<", since, range_end=keyspace.end)
        guards[0].insert(0, whole)
    return ops, names, guards
