"""``dump`` a prefix as JSON lines at one revision; ``load`` such a file back as a plan
(counts and a diff, then only the changed keys, in byte-sized compare-and-swap batches)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import IO, Any

import click
import msgspec

from .. import Client, Compare, Op
from ._app import CompareFailed, Settings, about, common, note, progress
from ._output import from_record, json_line, record

#: etcd's --max-txn-ops default: operations (and, separately, compares) in one Txn.
MAX_TXN_OPS = 128
#: Bytes of keys and values in one Txn, under etcd's --max-request-bytes default (1.5 MiB).
MAX_TXN_BYTES = 1024 * 1024
#: Per operation overhead counted in a batch's bytes (protobuf framing, the compare).
OP_OVERHEAD = 32

_decode = msgspec.json.Decoder(dict[str, Any])


@click.command()
@click.argument("prefix")
@click.option("-o", "--output", "path", default="-", metavar="FILE",
              help="Write to FILE instead of standard output.")
@click.option("--rev", type=click.IntRange(min=0), default=0, help="At this revision.")
@click.option("--page-size", type=click.IntRange(min=1), default=2000, show_default=True)
@common
def dump(prefix: str, path: str, rev: int, page_size: int, settings: Settings) -> None:
    """Write every key under PREFIX as JSON lines, at one revision (printed on stderr).

    One object per key and nothing else: key (relative to PREFIX), value, mod_revision,
    create_revision, version, lease; key / value as text when UTF-8, else base64 with
    key_base64 / value_base64 true.
    """
    strip = prefix.encode("utf-8")
    out: IO[bytes] = sys.stdout.buffer if path == "-" else open(path, "wb")  # noqa: SIM115
    try:
        with settings.client() as client, about(prefix, client), progress() as bar:
            task = None
            for page in client.get_pages(prefix, prefix=True, revision=rev,
                                         page_size=page_size):
                if task is None:
                    note(f"revision {page.header.revision}")
                    task = bar.add_task("dump", total=page.count)
                out.write(b"".join([json_line(record(kv, strip)) for kv in page.kvs]))
                bar.advance(task, len(page.kvs))
        note(f"dumped {bar.tasks[0].completed if bar.tasks else 0:.0f} keys")
    finally:
        if out is not sys.stdout.buffer:
            out.close()
        else:
            out.flush()


def read_dump(file: IO[bytes], prefix: bytes) -> dict[bytes, bytes]:
    """The keys (under ``prefix``) and values of a dump file; a bad line is a usage error
    naming its number."""
    wanted: dict[bytes, bytes] = {}
    for number, line in enumerate(file, 1):
        if not line.strip():
            continue
        try:
            item = _decode.decode(line)
            wanted[prefix + from_record(item, "key")] = from_record(item, "value")
        except (msgspec.DecodeError, KeyError, ValueError) as error:
            raise click.UsageError(f"{file.name}:{number}: not a dump line: {error}") from None
    return wanted


class Plan(msgspec.Struct):
    """What ``load`` writes: puts of added and changed keys, deletes of removed ones, each
    guarded by the compare of the key as it was read."""

    added: list[bytes]
    changed: list[bytes]
    removed: list[bytes]
    unchanged: int
    revisions: dict[bytes, int]


def make_plan(client: Client, prefix: bytes, wanted: dict[bytes, bytes], prune: bool) -> Plan:
    """Compare ``wanted`` with the prefix, read page by page at one revision."""
    changed: list[bytes] = []
    removed: list[bytes] = []
    revisions: dict[bytes, int] = {}
    present: set[bytes] = set()
    for page in client.get_pages(prefix, prefix=True, page_size=2000):
        for kv in page.kvs:
            value = wanted.get(kv.key)
            if value is None:
                if prune:
                    removed.append(kv.key)
                    revisions[kv.key] = kv.mod_revision
                continue
            present.add(kv.key)
            if value != kv.value:
                changed.append(kv.key)
                revisions[kv.key] = kv.mod_revision
    added = [key for key in wanted if key not in present]
    return Plan(added, changed, removed, len(present) - len(changed), revisions)


def batches(
    plan: Plan, wanted: dict[bytes, bytes], atomic: bool
) -> Iterator[tuple[list[Compare], list[Op]]]:
    """The plan's writes in transactions of at most ``MAX_TXN_OPS`` operations and
    ``MAX_TXN_BYTES`` bytes (one transaction when ``atomic``)."""
    compares: list[Compare] = []
    ops: list[Op] = []
    size = 0
    writes: list[tuple[bytes, bytes | None]] = [
        (key, wanted[key]) for key in plan.added + plan.changed
    ]
    writes += [(key, None) for key in plan.removed]
    for key, value in writes:
        cost = 2 * len(key) + (len(value) if value is not None else 0) + OP_OVERHEAD
        if not atomic and ops and (len(ops) >= MAX_TXN_OPS or size + cost > MAX_TXN_BYTES):
            yield compares, ops
            compares, ops, size = [], [], 0
        revision = plan.revisions.get(key, 0)
        compares.append(Compare.mod_revision(key, "==", revision))
        ops.append(Op.put(key, value) if value is not None else Op.delete(key))
        size += cost
    if ops:
        yield compares, ops


def _show(key: bytes, prefix: bytes) -> str:
    return key[len(prefix):].decode("utf-8", "backslashreplace")


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

    Each write is guarded by the key's mod_revision as read (0: absent), so a key changed
    meanwhile stops the load with exit 3.
    """
    base = prefix.encode("utf-8")
    wanted = read_dump(file, base)
    with settings.client() as client, about(prefix, client):
        plan = make_plan(client, base, wanted, prune)
        note(f"{len(plan.added)} added, {len(plan.changed)} changed, {len(plan.removed)} "
             f"removed, {plan.unchanged} unchanged")
        for sign, keys in (("+", plan.added), ("~", plan.changed), ("-", plan.removed)):
            for key in keys[: show or None]:
                click.echo(f"{sign} {_show(key, base)}")
            if show and len(keys) > show:
                click.echo(f"{sign} ... and {len(keys) - show} more")
        if dry_run:
            return
        total = len(plan.added) + len(plan.changed) + len(plan.removed)
        written = 0
        with progress() as bar:
            task = bar.add_task("load", total=total)
            for compares, ops in batches(plan, wanted, atomic):
                response = client.txn(compares, ops)
                if not response.succeeded:
                    raise CompareFailed(
                        f"a key between {_show(compares[0].key, base)!r} and "
                        f"{_show(compares[-1].key, base)!r} changed since it was read; "
                        f"{written} of {total} writes done"
                    )
                written += len(ops)
                bar.advance(task, len(ops))
    note(f"wrote {written} keys")
