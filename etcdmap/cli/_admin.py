"""``status``, ``members``, ``health`` (tables of the cluster) and ``snapshot save``."""

from __future__ import annotations

import json
import time
from typing import Any

import click
from rich.filesize import decimal

from .. import Client, EtcdError
from ..errors import PermissionDeniedError
from ._app import EtcdFailure, Settings, about, common, progress
from ._output import table

_FORMAT = click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table")


def _show(columns: list[str], rows: list[dict[str, Any]], output: str) -> None:
    if output == "json":
        click.echo(json.dumps(rows, indent=2))
    else:
        table(columns, ([row[name] for name in columns] for row in rows))


@click.command()
@_FORMAT
@common
def status(output: str, settings: Settings) -> None:
    """The status of every endpoint: version, db size, leader, raft term and index, errors."""
    rows: list[dict[str, Any]] = []
    failed = False
    with settings.client() as client:
        for endpoint in client.endpoints:
            try:
                got = client.status(endpoint)
            except EtcdError as error:
                failed = True
                rows.append({"endpoint": endpoint, "id": "", "version": "", "db_size": "",
                             "leader": "", "raft_term": "", "raft_index": "",
                             "errors": f"{type(error).__name__}: {error}"})
                continue
            rows.append({
                "endpoint": endpoint, "id": f"{got.header.member_id:x}", "version": got.version,
                "db_size": got.db_size if output == "json" else decimal(got.db_size),
                "leader": got.leader == got.header.member_id, "raft_term": got.raft_term,
                "raft_index": got.raft_index, "errors": ", ".join(got.errors),
            })
    _show(list(rows[0]), rows, output)
    if failed:
        raise EtcdFailure("an endpoint did not answer")


@click.command()
@_FORMAT
@common
def members(output: str, settings: Settings) -> None:
    """The cluster's members: id, name, peer and client URLs, learner or not."""
    with settings.client() as client, about("member list", client):
        listed = client.member_list().members
    rows = [{"id": f"{member.id:x}", "name": member.name,
             "peer_urls": ",".join(member.peer_urls), "client_urls": ",".join(member.client_urls),
             "learner": member.is_learner} for member in listed]
    _show(["id", "name", "peer_urls", "client_urls", "learner"], rows, output)


@click.command()
@_FORMAT
@common
def health(output: str, settings: Settings) -> None:
    """Whether each endpoint serves a linearizable read (as etcdctl endpoint health);
    exit 1 if one does not."""
    rows: list[dict[str, Any]] = []
    config = settings.client_config()
    for endpoint in config.endpoints:
        start = time.monotonic()
        error = ""
        try:
            with Client(**{**config.kwargs(), "endpoints": [endpoint]}) as client:
                client.get("health")
        except EtcdError as failure:
            # etcdctl: a permission error still proves the member answers a linearizable read.
            if not isinstance(failure, PermissionDeniedError):
                error = f"{type(failure).__name__}: {failure}"
        rows.append({"endpoint": endpoint, "healthy": not error,
                     "took": f"{time.monotonic() - start:.3f}s", "error": error})
    _show(["endpoint", "healthy", "took", "error"], rows, output)
    sick = [row["endpoint"] for row in rows if not row["healthy"]]
    if sick:
        raise EtcdFailure("unhealthy: " + ", ".join(sick))


@click.group()
def snapshot() -> None:
    """Snapshots of a member's backend."""


@snapshot.command("save")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--endpoint", help="The member (default: the first endpoint).")
@common
def snapshot_save(file: str, endpoint: str | None, settings: Settings) -> None:
    """Save a snapshot into FILE, verified against its sha256 (etcdctl snapshot save)."""
    with settings.client() as client, about(f"snapshot into {file}", client), \
            progress(bytes_=True) as bar:
        task = bar.add_task("snapshot", total=None)

        def advance(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        result = client.snapshot(file, endpoint=endpoint, progress=advance)
    click.echo(f"saved {result.size} bytes to {file} (sha256 verified)")
