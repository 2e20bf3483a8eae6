"""``watch``: print the changes under a prefix as they come, or run a command per change
(``etcdctl watch ... -- CMD``)."""

from __future__ import annotations

import os
import subprocess
import sys

import click

from .. import Event, EventType, WatchResponse
from ._app import Settings, about, common, interrupted, note, output_option, report_outages
from ._output import json_line, record, write_bytes


def event_record(event: Event) -> dict[str, object]:
    """An event as JSON: ``type`` (PUT / DELETE), ``revision``, the key's record (no value
    for a DELETE) and ``prev`` (the key before, with --prev)."""
    out: dict[str, object] = {"type": event.type.name, "revision": event.kv.mod_revision}
    out.update(record(event.kv, values=event.type is EventType.PUT))
    if event.prev_kv is not None:
        out["prev"] = record(event.prev_kv)
    return out


def _print(response: WatchResponse, output: str) -> None:
    for event in response.events:
        kv = event.kv
        if output == "value":
            # etcdctl's simple form: the type, the key, the value, each on a line.
            lines = [event.type.name.encode(), kv.key]
            if event.prev_kv is not None:
                lines.append(event.prev_kv.value)
            if event.type is EventType.PUT:
                lines.append(kv.value)
            write_bytes(b"\n".join(lines) + b"\n")
        else:
            write_bytes(json_line(event_record(event)))
    sys.stdout.flush()


def _run(response: WatchResponse, command: tuple[str, ...]) -> None:
    for event in response.events:
        env = dict(os.environ)
        env["ETCD_WATCH_REVISION"] = str(event.kv.mod_revision)
        env["ETCD_WATCH_KEY"] = event.kv.key.decode("utf-8", "surrogateescape")
        env["ETCD_WATCH_EVENT_TYPE"] = event.type.name
        env["ETCD_WATCH_VALUE"] = event.kv.value.decode("utf-8", "surrogateescape")
        subprocess.call(list(command), env=env)


@click.command()
@click.argument("prefix")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("--exact", is_flag=True, help="Watch the key PREFIX alone, not the prefix.")
@click.option("--rev", type=click.IntRange(min=0), default=0,
              help="Start at this revision (replays history from it).")
@click.option("--prev", is_flag=True, help="Also print the key as it was before.")
@output_option("value")
@common
def watch(
    prefix: str, command: tuple[str, ...], exact: bool, rev: int, prev: bool, output: str,
    settings: Settings,
) -> None:
    """Print every change under PREFIX as it comes; with '-- CMD ARGS...' run CMD per change
    with ETCD_WATCH_REVISION, ETCD_WATCH_KEY, ETCD_WATCH_EVENT_TYPE and ETCD_WATCH_VALUE set.

    The watch resumes after outages without losing or repeating a change. Ctrl-C stops it
    and prints the last revision delivered (exit 130). Output: value (etcdctl's lines:
    type, key, [previous value,] value) or json/jsonl (one object per event: type,
    revision and the key's record, with prev).
    """
    if output not in ("value", "json", "jsonl"):
        raise click.UsageError("watch prints --output value, json or jsonl")
    report_outages("etcdmap.watch")
    with settings.client() as client, about(prefix, client):
        watcher = client.watch(prefix, prefix=not exact, start_revision=rev, prev_kv=prev)
        with watcher, interrupted(
            lambda: f"watch stopped; last revision delivered: {watcher.next_revision - 1}"
        ):
            note(f"watching {prefix!r} from revision {watcher.next_revision}")
            for response in watcher:
                if command:
                    _run(response, command)
                else:
                    _print(response, output)
