"""``get``, ``put`` and ``rm``: one key or a prefix."""

from __future__ import annotations

import sys

import click

from .. import Compare, GetResponse, KeyValue, Op
from ._app import CompareFailed, EtcdFailure, Settings, about, common, note, output_option
from ._output import print_kvs


def value_argument(value: str | None) -> bytes:
    """VALUE, or standard input's bytes for ``-`` (or no VALUE)."""
    if value is None or value == "-":
        return sys.stdin.buffer.read()
    return value.encode("utf-8")


@click.command()
@click.argument("key")
@click.option("--prefix", is_flag=True, help="Every key starting with KEY.")
@click.option("--rev", type=click.IntRange(min=0), default=0, help="Read at this revision.")
@click.option("--keys-only", is_flag=True, help="Leave out the values.")
@output_option()
@common
def get(
    key: str, prefix: bool, rev: int, keys_only: bool, output: str | None, settings: Settings
) -> None:
    """Print KEY (or every key under the prefix KEY).

    Output: the raw value by default for one key; for --prefix a table on a terminal, JSON
    lines otherwise. A missing key exits 1.
    """
    if output is None:
        output = "value" if not prefix else ("table" if sys.stdout.isatty() else "jsonl")
    with settings.client() as client, about(key, client):
        if prefix:
            kvs: list[KeyValue] = []
            for page in client.get_pages(key, prefix=True, revision=rev, keys_only=keys_only):
                if output in ("value", "jsonl"):  # streamed: memory is one page
                    print_kvs(page.kvs, output, many=True, values=not keys_only)
                else:
                    kvs.extend(page.kvs)
        else:
            kvs = list(client.get(key, revision=rev, keys_only=keys_only).kvs)
    if not kvs and not prefix:
        raise EtcdFailure(f"{key}: key not found")
    if kvs or output not in ("value", "jsonl"):
        print_kvs(kvs, output, many=prefix, values=not keys_only)


@click.command()
@click.argument("key")
@click.argument("value", required=False)
@click.option("--lease", type=click.IntRange(min=1), help="Attach to this lease (id).")
@click.option("--ttl", type=click.IntRange(min=1), help="Attach to a new lease of S seconds.")
@click.option("--if-mod-revision", type=click.IntRange(min=0), metavar="N",
              help="Write only if KEY was last written at revision N (exit 3 if not).")
@click.option("--if-absent", is_flag=True, help="Write only if KEY does not exist (exit 3).")
@common
def put(
    key: str,
    value: str | None,
    lease: int | None,
    ttl: int | None,
    if_mod_revision: int | None,
    if_absent: bool,
    settings: Settings,
) -> None:
    """Write VALUE (or standard input, or '-') under KEY; prints the new revision."""
    if lease is not None and ttl is not None:
        raise click.UsageError("give --lease or --ttl, not both")
    if if_absent and if_mod_revision is not None:
        raise click.UsageError("give --if-absent or --if-mod-revision, not both")
    data = value_argument(value)
    with settings.client() as client, about(key, client):
        if ttl is not None:
            lease = client.lease_grant(ttl).id
        op = Op.put(key, data, lease=lease or 0)
        if if_absent or if_mod_revision is not None:
            compare = (Compare.create_revision(key, "==", 0) if if_absent
                       else Compare.mod_revision(key, "==", if_mod_revision or 0))
            response = client.txn([compare], [op], [Op.get(key, keys_only=True)])
            if not response.succeeded:
                got = response.responses[0]
                assert isinstance(got, GetResponse)
                now = got.kvs[0].mod_revision if got.kvs else 0
                raise CompareFailed(
                    f"{key}: not written: "
                    + ("it exists" if if_absent else f"its mod_revision is {now}, not "
                       f"{if_mod_revision}")
                    + f" (mod_revision {now})"
                )
            revision = response.header.revision
        else:
            revision = client.do(op).header.revision
    click.echo(revision)


@click.command()
@click.argument("key")
@click.option("--prefix", is_flag=True, help="Every key starting with KEY.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask.")
@common
def rm(key: str, prefix: bool, yes: bool, settings: Settings) -> None:
    """Delete KEY (or every key under the prefix KEY), saying how many first."""
    with settings.client() as client, about(key, client):
        if prefix:
            found = client.get(key, prefix=True, count_only=True)
            count = found.count
            if count == 0:
                note(f"no key under {key!r}")
                return
            if not yes:
                if not sys.stdin.isatty():
                    raise click.UsageError(
                        f"would delete {count} keys under {key!r}: add --yes (no terminal "
                        "to ask)"
                    )
                click.confirm(f"Delete {count} keys under {key!r}?", abort=True, err=True)
            deleted = client.delete(key, prefix=True).deleted
        else:
            deleted = client.delete(key).deleted
    if not deleted and not prefix:
        raise EtcdFailure(f"{key}: key not found")
    note(f"deleted {deleted} key{'s' if deleted != 1 else ''}")
