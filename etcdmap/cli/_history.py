"""``history``, ``restore`` and ``search``."""

from __future__ import annotations

import queue
import re
import sys
from typing import Any

import click

from .. import Client, CompactedError, Compare, EtcdError, Op, WatchResponse
from ._app import CompareFailed, EtcdFailure, Settings, about, common, output_option
from ._output import print_kvs, print_records, record

#: Seconds without news before the server is asked whether the replay is complete.
PROGRESS_EVERY = 0.2


def key_history(client: Client, key: str) -> list[dict[str, Any]]:
    """Every change of ``key`` still in etcd's history, oldest first: a watch from the
    oldest revision kept (Watch.Watch replays them), ended by a progress notification past
    the revision read first."""
    head = client.get(key, keys_only=True).header.revision
    start = 1
    while True:
        changes: list[dict[str, Any]] = []
        items: queue.Queue[WatchResponse | EtcdError] = queue.Queue()
        handle = client.add_watch_callback(key, items.put, start_revision=start)
        try:
            while True:
                try:
                    item = items.get(timeout=PROGRESS_EVERY)
                except queue.Empty:
                    client.request_progress()
                    continue
                if isinstance(item, CompactedError) and item.compact_revision:
                    start = item.compact_revision
                    break
                if isinstance(item, EtcdError):
                    raise item
                for event in item.events:
                    if event.kv.mod_revision <= head:
                        entry = record(event.kv, values=event.type.name == "PUT")
                        changes.append({"type": event.type.name, **entry})
                if item.header.revision >= head and (
                    item.progress_notify or (item.events and item.events[-1].kv.mod_revision
                                             >= head)
                ):
                    return changes
        finally:
            handle.cancel()


@click.command()
@click.argument("key")
@output_option("table")
@common
def history(key: str, output: str, settings: Settings) -> None:
    """Every version of KEY still in etcd's history (until compaction), oldest first:
    type (PUT/DELETE), mod_revision, version and value."""
    with settings.client() as client, about(key, client):
        changes = key_history(client, key)
    if output == "value":
        output = "jsonl"
    if output == "table":
        for change in changes:
            change.pop("lease", None)
            change.pop("key", None)
    print_records(changes, output, many=True)


@click.command()
@click.argument("key")
@click.argument("revision", type=click.IntRange(min=1))
@common
def restore(key: str, revision: int, settings: Settings) -> None:
    """Write back KEY's value as it was at REVISION (delete it if it did not exist then),
    if nobody writes it meanwhile (exit 3 if someone does)."""
    with settings.client() as client, about(key, client):
        then = client.get(key, revision=revision).kvs
        now = client.get(key).kvs
        current = now[0].mod_revision if now else 0
        op = Op.put(key, then[0].value) if then else Op.delete(key)
        response = client.txn([Compare.mod_revision(key, "==", current)], [op])
        if not response.succeeded:
            raise CompareFailed(f"{key}: changed while restoring; nothing written")
    click.echo(response.header.revision)


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
