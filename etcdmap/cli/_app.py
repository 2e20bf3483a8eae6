"""What every command shares: the connection options, the client they build, the consoles,
and the mapping of errors to exit codes (``main``)."""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click
import msgspec

if TYPE_CHECKING:  # rich is imported when a command needs it: a command starts faster
    from rich.console import Console
    from rich.progress import Progress

from .. import Client, ClientConfig, EtcdError, TLSConfig, TransportError, load_config
from ..errors import ConfigError

#: Exit codes (docs/cli.md).
EXIT_ETCD_ERROR = 1
EXIT_USAGE = 2
EXIT_COMPARE_FAILED = 3
EXIT_INTERRUPTED = 130

#: etcdctl's environment variables, read when the ``ETCDMAP_*`` one is not set.
ETCDCTL_FALLBACKS = {
    "ETCDMAP_ENDPOINTS": "ETCDCTL_ENDPOINTS",
    "ETCDMAP_CACERT": "ETCDCTL_CACERT",
    "ETCDMAP_CERT": "ETCDCTL_CERT",
    "ETCDMAP_KEY": "ETCDCTL_KEY",
    "ETCDMAP_PASSWORD": "ETCDCTL_PASSWORD",
    "ETCDMAP_DIAL_TIMEOUT": "ETCDCTL_DIAL_TIMEOUT",
    "ETCDMAP_REQUEST_TIMEOUT": "ETCDCTL_COMMAND_TIMEOUT",
}
DEFAULT_ENDPOINT = "127.0.0.1:2379"

#: Output formats of the commands that print keys.
FORMATS = ("value", "json", "jsonl", "table", "yaml")



@functools.cache
def err() -> Console:
    """Standard error: messages and progress bars. Colours only on a terminal; rich honours
    NO_COLOR."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


class CompareFailed(click.ClickException):
    """A write whose compare did not hold (exit code 3)."""

    exit_code = EXIT_COMPARE_FAILED


class EtcdFailure(click.ClickException):
    """An etcd error, named with the key or endpoint it concerns (exit code 1)."""

    exit_code = EXIT_ETCD_ERROR


@contextmanager
def about(what: str, client: Client | None = None) -> Iterator[None]:
    """Name ``what`` (a key, a prefix, an endpoint) in an etcd error raised in the block, and
    the endpoints when no answer came."""
    try:
        yield
    except EtcdError as error:
        where = ""
        if client is not None and isinstance(error, TransportError):
            where = f" (endpoints: {','.join(client.endpoints)})"
        raise EtcdFailure(f"{what}: {type(error).__name__}: {error}{where}") from error


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """The common options of a command, as given."""

    endpoints: str | None = None
    user: str | None = None
    password: str | None = None
    cacert: str | None = None
    cert: str | None = None
    key: str | None = None
    config: str | None = None
    timeout: float | None = None
    debug: bool = False

    def client_config(self, environ: Mapping[str, str] | None = None) -> ClientConfig:
        """The client's configuration: these options, then the config file, then
        ``ETCDMAP_*``, then etcdctl's ``ETCDCTL_*``, then ``127.0.0.1:2379``."""
        env = dict(os.environ if environ is None else environ)
        for ours, theirs in ETCDCTL_FALLBACKS.items():
            if not env.get(ours) and env.get(theirs):
                env[ours] = env[theirs]
        if not env.get("ETCDMAP_USERNAME") and env.get("ETCDCTL_USER"):
            name, _, password = env["ETCDCTL_USER"].partition(":")
            env["ETCDMAP_USERNAME"] = name
            if password:
                env["ETCDMAP_PASSWORD"] = password
        env.setdefault("ETCDMAP_ENDPOINTS", DEFAULT_ENDPOINT)
        config = load_config(self.config, environ=env)
        changes: dict[str, Any] = {}
        if self.endpoints:
            changes["endpoints"] = tuple(
                part.strip() for part in self.endpoints.split(",") if part.strip()
            )
        if self.user is not None:
            name, colon, password = self.user.partition(":")
            given = password if colon else self.password
            if given is None:
                given = click.prompt(f"Password for {name}", hide_input=True, err=True)
            changes["username"], changes["password"] = name, given
        if self.timeout is not None:
            changes["timeout"] = self.timeout
        if self.cacert or self.cert or self.key:
            tls = config.tls or TLSConfig()
            try:
                changes["tls"] = TLSConfig(
                    ca_file=self.cacert or tls.ca_file,
                    cert_file=self.cert or tls.cert_file,
                    key_file=self.key or tls.key_file,
                    server_name=tls.server_name,
                )
            except ValueError as error:
                raise click.UsageError(str(error)) from None
        return msgspec.structs.replace(config, **changes)

    def client(self, **overrides: Any) -> Client:
        """A client on these settings (no RPC runs yet)."""
        try:
            return Client(**{**self.client_config().kwargs(), **overrides})
        except ConfigError as error:
            raise click.UsageError(str(error)) from None


_F = TypeVar("_F", bound=Callable[..., Any])


def common(command: _F) -> _F:
    """Add the connection options (and ``--debug``) to ``command``, which receives them as
    ``settings``."""
    # Each option's parameter is named "conn_..." so that a command's own KEY argument
    # and the --key option do not collide.
    options = [
        click.option("--endpoints", "conn_endpoints", metavar="HOST:PORT,...",
                     help="etcd endpoints (ETCDMAP_ENDPOINTS, ETCDCTL_ENDPOINTS)."),
        click.option("--user", "conn_user", metavar="NAME[:PASSWORD]",
                     help="Log in as this user."),
        click.option("--password", "conn_password", help="The user's password (else asked)."),
        click.option("--cacert", "conn_cacert", metavar="FILE",
                     help="CA bundle of the servers' certificates."),
        click.option("--cert", "conn_cert", metavar="FILE", help="Client certificate (TLS)."),
        click.option("--key", "conn_key", metavar="FILE", help="Client certificate's key (TLS)."),
        click.option("--config", "conn_config", metavar="FILE",
                     help="Client config file (YAML or JSON, etcdctl's keys)."),
        click.option("--timeout", "conn_timeout", type=click.FloatRange(min=0, min_open=True),
                     metavar="SECONDS", help="Timeout of each request."),
        click.option("--debug", "conn_debug", is_flag=True, help="Show tracebacks."),
    ]
    names = ("endpoints", "user", "password", "cacert", "cert", "key", "config", "timeout",
             "debug")

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        settings = Settings(**{name: kwargs.pop("conn_" + name) for name in names})
        return command(*args, settings=settings, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]  # click's decorators keep the signature


def output_option(default: str | None = None) -> Callable[[_F], _F]:
    """``-o/--output`` with the formats of keys."""
    return click.option(
        "-o", "--output", type=click.Choice(FORMATS), default=default,
        help="Output format (docs/cli.md).",
    )


def progress(*, bytes_: bool = False) -> Progress:
    """A rich progress bar on standard error, shown only on a terminal."""
    from rich import progress as bar

    columns: list[Any] = [bar.TextColumn("{task.description}"), bar.BarColumn()]
    columns.append(bar.DownloadColumn() if bytes_ else bar.MofNCompleteColumn())
    columns.append(bar.TimeRemainingColumn())
    console = err()
    return bar.Progress(*columns, console=console, disable=not console.is_terminal,
                        transient=True)


def note(message: str) -> None:
    """A message for people, on standard error."""
    err().print(message, markup=False, soft_wrap=True)


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


@contextmanager
def interrupted(say: Callable[[], str]) -> Iterator[None]:
    """On Ctrl-C, print ``say()`` (where a long command stopped) and exit 130."""
    try:
        yield
    except KeyboardInterrupt:
        note(say())
        raise


def report_outages(*loggers: str) -> None:
    """Say on stderr when a background loop of the library (a watch stream, a copy) fails
    and when it works again (its WARNING and INFO log lines)."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("etcdmap: %(message)s"))
    for name in loggers:
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)


def _wants_debug(args: Sequence[str]) -> bool:
    own = list(args)[: list(args).index("--")] if "--" in args else list(args)
    return "--debug" in own or os.environ.get("ETCDMAP_DEBUG", "") not in ("", "0")


def run(group: click.Group, args: Sequence[str] | None = None) -> int:
    """Run the command line ``args`` and return its exit code (docs/cli.md)."""
    argv = list(sys.argv[1:] if args is None else args)
    debug = _wants_debug(argv)
    try:
        group.main(argv, prog_name="etcdmap", standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.ClickException as error:
        if debug and error.__cause__ is not None:
            traceback.print_exception(error.__cause__)
        error.show()
        return error.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        note("etcdmap: interrupted")
        return EXIT_INTERRUPTED
    except EtcdError as error:
        if debug:
            traceback.print_exc()
        note(f"etcdmap: {type(error).__name__}: {error}")
        return EXIT_ETCD_ERROR
    except BrokenPipeError:
        # The reader went away (``| head``): not an error of ours; keep Python quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 0
