"""The ``etcdmap`` command (``pip install 'etcdmap[cli]'``; docs/cli.md): browse, edit with
compare-and-swap, dump/load, watch, copy, lock and elect, on the library's public API."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from .. import __version__
from ._admin import health, members, snapshot, status
from ._app import run
from ._dump import dump, load
from ._edit import edit
from ._history import history, restore, search
from ._kv import get, put, rm
from ._long import copy, dev, elect, lock
from ._tree import ls
from ._watch import watch

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="etcdmap")
def cli() -> None:
    """etcd from the command line: browse, edit, dump/load, watch, copy, lock.

    Connection options on every command; defaults from ETCDMAP_* then ETCDCTL_* variables.
    Exit codes: 0 ok, 1 etcd error, 2 usage, 3 compare failed, 130 Ctrl-C.
    """


for _command in (get, put, rm, ls, edit, history, restore, dump, load, watch, search, status,
                 members, health, snapshot, copy, lock, elect, dev):
    cli.add_command(_command)


def main(args: Sequence[str] | None = None) -> None:
    """Run the ``etcdmap`` command with ``args`` (default ``sys.argv[1:]``) and exit with
    its code: 0 ok, 1 etcd error, 2 usage error, 3 compare failed, 130 Ctrl-C."""
    sys.exit(run(cli, args))
