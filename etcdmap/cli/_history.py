"""``history``, ``restore`` and ``search``."""

from __future__ import annotations

import re
import sys
from typing import Any

import click

from .. import ConflictError, EventType
from ._app import CompareFailed, EtcdFailure, Settings, about, common, note, output_option
from ._output import print_kvs, print_records, raw_map, text_or_base64


@click.command()
@click.argument("key")
@output_option("table")
@common
def history(key: str, output: str, settings: Settings) -> None:
    """Every version of KEY still in etcd's history (until compaction), oldest first:
    type (PUT/DELETE), revision, value, version, create_revision, lease
    (EtcdMap.history)."""
    with settings.client() as client, about(key, client):
        found = raw_map(client, None).history(key)
    changes: list[dict[str, Any]] = []
    for version in found.versions:
        change: dict[str, Any] = {"type": version.kind.name, "revision": version.revision}
        if version.kind is EventType.PUT:
            text_or_base64(version.data, "value", change)
        change.update(version=version.version, create_revision=version.create_revision,
                      lease=version.lease)
        changes.append(change)
    if not found.complete:
        note(f"history from revision {found.earliest} on (older changes were compacted)")
    if output == "value":
        output = "jsonl"
    print_records(changes, output, many=True)


@click.command()
@click.argument("key")
@click.argument("revision", type=click.IntRange(min=1))
@common
def restore(key: str, revision: int, settings: Settings) -> None:
    """Write back KEY's value as it was at REVISION (delete it if it did not exist then),
    if nobody writes it meanwhile (exit 3 if someone does); prints the write's revision
    (EtcdMap.restore)."""
    with settings.client() as client, about(key, client):
        try:
            written = raw_map(client, None).restore(key, revision)
        except ConflictError:
            raise CompareFailed(f"{key}: changed while restoring; nothing written") from None
    click.echo(written)


@click.command()
@click.argument("pattern")
@click.option("--prefix", default="", help="Search under this prefix (default: everywhere).")
@click.option("--values", is_flag=True, help="Also match values (reads them).")
@click.option("--regex", is_flag=True, help="PATTERN is a regular expression.")
@click.option("-o", "--output", type=click.Choice(["value", "jsonl"]), default="value",
              help="value: the keys, one a line; jsonl: their records.")
@common
def search(
    pattern: str, prefix: str, values: bool, regex: bool, output: str, settings: Settings
) -> None:
    """Print the keys (under --prefix) whose key, or with --values value, contains PATTERN
    (or matches the --regex), read page by page at one revision. -o value prints the keys."""
    try:
        compiled = re.compile(pattern.encode() if regex else re.escape(pattern.encode()))
    except re.error as error:
        raise click.UsageError(f"PATTERN: not a regular expression: {error}") from None
    found = 0
    with settings.client() as client, about(prefix or "(all keys)", client):
        pages = (client.get_pages(prefix, prefix=True, keys_only=not values, page_size=2000)
                 if prefix else client.get_pages(b"\x00", range_end=b"\x00",
                                                 keys_only=not values, page_size=2000))
        for page in pages:
            hits = [kv for kv in page.kvs
                    if compiled.search(kv.key) or (values and compiled.search(kv.value))]
            found += len(hits)
            if output == "value":
                sys.stdout.buffer.write(b"".join(kv.key + b"\n" for kv in hits))
            else:
                print_kvs(hits, "jsonl", many=True, values=values)
    if not found:
        raise EtcdFailure(f"no key matches {pattern!r}")
