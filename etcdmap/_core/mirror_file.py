"""A mirror's copy on disk: the saved format and the file it is saved to and restored from.

``MirrorFile`` is the mirror's persistence (``persist=``): ``save`` writes the copy (full keys,
raw values, the revision) atomically; ``load`` reads it back, checked to be of the mirror's
prefix. The format functions are pure; the class does the two file operations and no network
or concurrency (the mirror copies its store under its guard and hands the copy over).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import msgspec

from .keyspace import KeySpace
from .mirror import InvalidValue
from .results import KeyValue

__all__ = ["MirrorFile", "SavedCopy", "dump_copy", "load_copy", "saved_pages"]

log = logging.getLogger("etcdmap.mirror")


class MirrorFile:
    """Where a mirror of ``keyspace`` keeps its copy between runs (``path``, None for none).

    With ``keys_only`` the values are saved empty."""

    __slots__ = ("keys_only", "keyspace", "path")

    def __init__(
        self, path: str | os.PathLike[str] | None, keyspace: KeySpace[Any], keys_only: bool
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.keyspace = keyspace
        self.keys_only = keys_only

    def save(
        self,
        revision: int,
        data: Mapping[str, Any],
        invalid: Mapping[str, InvalidValue],
        path: str | os.PathLike[str] | None = None,
    ) -> Path:
        """Write the copy (``data`` and the ``invalid`` keys' bytes at ``revision``) to ``path``
        (default ``self.path``) atomically: a temporary file of its own renamed over it."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("save() needs a path (or persist= on the mirror)")
        full, encode = self.keyspace.full, self.keyspace.codec.encode
        items = [
            (full(key), b"" if self.keys_only else encode(value)) for key, value in data.items()
        ]
        items += [(full(key), bad.data) for key, bad in invalid.items()]
        content = dump_copy(self.keyspace.prefix, revision, items)
        # A temporary file of its own: mirrors of other threads and processes may save to
        # the same path at once (one snapshot shared by a host's mirrors).
        fd, temporary = tempfile.mkstemp(
            prefix=target.name + ".", suffix=".tmp", dir=target.parent
        )
        try:
            os.fchmod(fd, 0o644)  # as a plain write would (mkstemp makes it 0600)
            with os.fdopen(fd, "wb") as file:
                file.write(content)
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        return target

    def load(self) -> SavedCopy | None:
        """The saved copy, or None when there is no file or it cannot be used (a warning
        says why: unreadable, not a snapshot, another prefix's)."""
        if self.path is None or not self.path.exists():
            return None
        try:
            return load_copy(self.path.read_bytes(), self.keyspace.prefix)
        except (OSError, ValueError) as error:
            log.warning(
                "mirror of %r: cannot restore %s (%s)", self.keyspace.name, self.path, error
            )
            return None


class SavedCopy(msgspec.Struct, frozen=True):
    """What a mirror saves to its file: the prefix, the revision and every key's bytes."""

    prefix: bytes
    revision: int
    keys: list[bytes]
    values: list[bytes]
    format: int = 1


_SNAPSHOT_ENCODER = msgspec.msgpack.Encoder()
_SNAPSHOT_DECODER = msgspec.msgpack.Decoder(SavedCopy)


def dump_copy(
    prefix: bytes,
    revision: int,
    items: Iterable[tuple[bytes, bytes]],
) -> bytes:
    """The file content for a copy of ``prefix`` at ``revision`` (full keys, raw values)."""
    keys: list[bytes] = []
    values: list[bytes] = []
    for key, value in items:
        keys.append(key)
        values.append(value)
    return _SNAPSHOT_ENCODER.encode(SavedCopy(prefix, revision, keys, values))


def load_copy(content: bytes, prefix: bytes) -> SavedCopy:
    """A saved snapshot, checked to be of ``prefix``; ``ValueError`` if the content is not
    a snapshot or is one of another prefix."""
    try:
        snapshot = _SNAPSHOT_DECODER.decode(content)
    except msgspec.DecodeError as error:
        raise ValueError(f"not a mirror snapshot: {error}") from None
    if snapshot.prefix != prefix:
        raise ValueError(
            f"the snapshot is of prefix {snapshot.prefix!r}, not {prefix!r}"
        )
    if len(snapshot.keys) != len(snapshot.values):
        raise ValueError("damaged snapshot: keys and values differ in number")
    return snapshot


def saved_pages(snapshot: SavedCopy) -> list[list[KeyValue]]:
    """The saved keys as one page of ``KeyValue`` (mod_revision = the snapshot's revision),
    ready for ``MirrorStore.build``."""
    revision = snapshot.revision
    return [
        [
            KeyValue(key=key, value=value, mod_revision=revision)
            for key, value in zip(snapshot.keys, snapshot.values, strict=True)
        ]
    ]
