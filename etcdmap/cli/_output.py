"""Keys as people and machines read them: the JSON record of a key (docs/cli.md), and the
``value``, ``json``, ``jsonl``, ``table`` and ``yaml`` outputs."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import click
import msgspec

from .. import WHOLE_KEYSPACE, Client, EtcdMap, KeyValue
from ..codecs import Raw

_encoder = msgspec.json.Encoder()


def text_or_base64(data: bytes, field: str, record: dict[str, Any]) -> None:
    """``record[field]``: ``data`` as text when it is valid UTF-8, else base64 with
    ``record[field + "_base64"] = True``."""
    try:
        record[field] = data.decode("utf-8")
    except UnicodeDecodeError:
        record[field] = base64.b64encode(data).decode("ascii")
        record[field + "_base64"] = True


def from_record(record: dict[str, Any], field: str) -> bytes:
    """The bytes ``text_or_base64`` stored in ``record[field]``."""
    data = record[field]
    if not isinstance(data, str):
        raise ValueError(f"{field}: expected a string, got {type(data).__name__}")
    if record.get(field + "_base64"):
        return base64.b64decode(data, validate=True)
    return data.encode("utf-8")


def record(kv: KeyValue, strip: bytes = b"", *, values: bool = True) -> dict[str, Any]:
    """The JSON object of a key: ``key`` (without ``strip``), ``value``, ``mod_revision``,
    ``create_revision``, ``version``, ``lease``."""
    out: dict[str, Any] = {}
    text_or_base64(kv.key[len(strip):], "key", out)
    if values:
        text_or_base64(kv.value, "value", out)
    out["mod_revision"] = kv.mod_revision
    out["create_revision"] = kv.create_revision
    out["version"] = kv.version
    out["lease"] = kv.lease
    return out


def json_line(obj: Any) -> bytes:
    return _encoder.encode(obj) + b"\n"


def write_bytes(data: bytes) -> None:
    sys.stdout.buffer.write(data)


def print_kvs(kvs: Sequence[KeyValue], output: str, *, many: bool, values: bool = True) -> None:
    """Print keys in ``output``; ``many``: the answer is a list (a prefix), not one key."""
    if output == "value":
        for kv in kvs:
            data = kv.key if not values else kv.value
            # One key: its exact bytes (a newline after it on a terminal only), so that
            # ``get KEY -o value > file`` copies the value. Many: one per line.
            write_bytes(data + (b"\n" if many or sys.stdout.isatty() else b""))
        sys.stdout.buffer.flush()
        return
    records = [record(kv, values=values) for kv in kvs]
    print_records(records, output, many=many)


def print_records(records: Sequence[dict[str, Any]], output: str, *, many: bool) -> None:
    """Print JSON objects as ``json`` (a list when ``many``), ``jsonl``, ``yaml`` or a
    ``table``."""
    if output == "jsonl":
        for item in records:
            write_bytes(json_line(item))
    elif output == "json":
        document: Any = list(records) if many else (records[0] if records else None)
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    elif output == "yaml":
        import yaml

        document = list(records) if many else (records[0] if records else None)
        click.echo(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), nl=False)
    elif output == "table":
        columns = list(records[0]) if records else ["key", "value"]
        table(columns, ([item.get(name, "") for name in columns] for item in records))
    else:
        raise click.UsageError(f"--output {output!r} is not available here")
    sys.stdout.flush()


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None) -> None:
    """A rich table on standard output (plain when it is not a terminal)."""
    from rich.console import Console
    from rich.table import Table

    grid = Table(title=title, show_lines=False)
    for name in columns:
        grid.add_column(name, overflow="fold")
    for row in rows:
        grid.add_row(*(str(cell) for cell in row))
    # Not on a terminal: as wide as the rows need (no folding at 80 columns).
    Console(highlight=False, width=None if sys.stdout.isatty() else 1000).print(grid)


class AnyKey:
    """A key codec for maps whose keys may be any bytes: ``str`` with the bytes that are not
    UTF-8 kept as surrogates (``surrogateescape``), so every key goes there and back."""

    __slots__ = ()

    def encode(self, value: str, /) -> bytes:
        return value.encode("utf-8", "surrogateescape")

    def decode(self, data: bytes, /) -> str:
        return data.decode("utf-8", "surrogateescape")


def raw_map(client: Client, prefix: str | None) -> EtcdMap[bytes]:
    """The keys under ``prefix`` (None: every key) as a map of stored bytes (``AnyKey``
    keys)."""
    if prefix == "":
        raise click.UsageError("the prefix must not be empty")
    where = WHOLE_KEYSPACE if prefix is None else prefix
    return EtcdMap(client, where, codec=Raw(), key_codec=AnyKey())
