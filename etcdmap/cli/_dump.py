"""``dump`` a prefix as JSON lines at one revision; ``load`` such a file back as a plan
(``EtcdMap.plan``: counts and a diff, then ``apply``: only the changed keys, each guarded
against writes since the plan's revision, in byte-sized steps of a progress bar)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import click
import msgspec

from .. import ConflictError, Plan
from ._app import CompareFailed, Settings, about, common, note, progress
from ._output import from_record, json_line, raw_map, record

#: Bytes of keys and values written between two steps of the progress bar (the library
#: cuts each step into Txns under etcd's limits).
CHUNK_BYTES = 1024 * 1024
#: Per key overhead counted in a chunk's bytes.
OP_OVERHEAD = 32

_decode = msgspec.json.Decoder(dict[str, Any])


@click.command()
@click.argument("prefix")
@click.option("-o", "--output", "path", default="-", metavar="FILE",
              help="Write to FILE instead of standard output.")
@click.option("--rev", type=click.IntRange(min=0), default=0, help="At this revision.")
@click.option("--page-size", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="Keys per Range (fewer round trips; memory is one page).")
@common
def dump(prefix: str, path: str, rev: int, page_size: int, settings: Settings) -> None:
    """Write every key under PREFIX as JSON lines, at one revision (printed on stderr).

    One object per key and nothing else: key (relative to PREFIX), value, mod_revision,
    create_revision, version, lease; key / value as text when UTF-8, else base64 with
    key_base64 / value_base64 true.
    """
    strip = prefix.encode("utf-8")
    count = 0
    with click.open_file(path, "wb") as out, settings.client() as client, \
            about(prefix, client), progress() as bar:
        task = None
        for page in client.get_pages(prefix, prefix=True, revision=rev, page_size=page_size):
            if task is None:
                note(f"revision {page.header.revision}")
                task = bar.add_task("dump", total=page.count)
            out.write(b"".join([json_line(record(kv, strip)) for kv in page.kvs]))
            count += len(page.kvs)
            bar.advance(task, len(page.kvs))
    note(f"dumped {count} keys")


def read_dump(file: IO[bytes]) -> dict[str, bytes]:
    """The keys (relative) and values of a dump file; a bad line is a usage error naming
    its number."""
    wanted: dict[str, bytes] = {}
    for number, line in enumerate(file, 1):
        if not line.strip():
            continue
        try:
            item = _decode.decode(line)
            key = from_record(item, "key").decode("utf-8", "surrogateescape")
            wanted[key] = from_record(item, "value")
        except (msgspec.DecodeError, KeyError, ValueError) as error:
            raise click.UsageError(f"{file.name}:{number}: not a dump line: {error}") from None
    return wanted


def chunks(plan: Plan, limit: int = CHUNK_BYTES) -> Iterator[Plan]:
    """``plan`` cut into plans of about ``limit`` bytes of keys and values each, at the same
    revision (each still guarded against writes since it), for a progress bar."""
    parts: list[tuple[str, Any]] = [("added", item) for item in plan.added.items()]
    parts += [("changed", item) for item in plan.changed.items()]
    parts += [("removed", item) for item in plan.removed.items()]
    chunk: dict[str, dict[Any, Any]] = {"added": {}, "changed": {}, "removed": {}}
    size = 0
    for kind, (key, value) in parts:
        new = value[1] if kind == "changed" else (b"" if kind == "removed" else value)
        chunk[kind][key] = value
        size += len(key) + len(new) + OP_OVERHEAD  # len(key) in characters: about right
        if size >= limit:
            yield msgspec.structs.replace(plan, unchanged=0, **chunk)
            chunk, size = {"added": {}, "changed": {}, "removed": {}}, 0
    if any(chunk.values()):
        yield msgspec.structs.replace(plan, unchanged=0, **chunk)


def _show(key: str) -> str:
    """A plan's key for people (bytes that are not UTF-8 as escapes)."""
    return key.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


@click.command()
@click.argument("file", type=click.File("rb"))
@click.option("--prefix", required=True, help="Where the file's keys go.")
@click.option("--prune", is_flag=True, help="Also delete keys under PREFIX not in FILE.")
@click.option("--dry-run", is_flag=True, help="Print the plan; write nothing.")
@click.option("--atomic", is_flag=True, help="All writes in one transaction.")
@click.option("--show", type=click.IntRange(min=0), default=20, show_default=True,
              help="Diff lines shown per kind (0: all).")
@common
def load(
    file: IO[bytes], prefix: str, prune: bool, dry_run: bool, atomic: bool, show: int,
    settings: Settings,
) -> None:
    """Apply a dump FILE under PREFIX: counts and a diff, then only the changed keys.

    The plan is made at one revision; every write is guarded against a write of its key
    since then, so a key changed meanwhile stops the load with exit 3.
    """
    wanted = read_dump(file)
    with settings.client() as client, about(prefix, client):
        # Keys and values as stored bytes: a dump reproduces binary keys and values.
        store = raw_map(client, prefix)
        plan = store.plan(wanted, prune=prune)
        note(plan.summary())
        for sign, keys in (("+", plan.added), ("~", plan.changed), ("-", plan.removed)):
            for key in list(keys)[: show or None]:
                click.echo(f"{sign} {_show(key)}")
            if show and len(keys) > show:
                click.echo(f"{sign} ... and {len(keys) - show} more")
        if dry_run:
            return
        try:
            if atomic:
                store.apply(plan, atomic=True)
            else:
                with progress() as bar:
                    task = bar.add_task("load", total=plan.writes)
                    for part in chunks(plan):
                        store.apply(part, atomic=False)
                        bar.advance(task, part.writes)
        except ConflictError as error:
            raise CompareFailed(f"{prefix}: changed since the plan was made: {error}") from None
    note(f"wrote {plan.writes} keys")
