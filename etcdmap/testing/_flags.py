"""Which etcd server flags each etcd version accepts, and the rewrite of a command line for one.

Sans-IO: the version comes in as the text ``etcd --version`` printed (``parse_version``), the
command line as a list of strings (``adapt_args``); nothing here runs a process.

The table (``FLAG_HISTORY``) holds the settings whose flag changed name across 3.4 - 3.7, from
etcd's CHANGELOGs and ``etcd --help`` of 3.4.23, 3.5.1 and 3.5.30:

- 3.5 graduated ``--experimental-backend-bbolt-freelist-type`` and dropped 3.4's ``--debug``
  and ``--log-package-levels`` (``--log-level`` replaces them);
- 3.5.x patch releases added flags 3.4 lacks (the version given is the first with the flag);
- 3.6 graduated most ``--experimental-*`` flags (``--experimental-X`` became ``--X``) and
  turned the boolean ones into feature gates (``--feature-gates=Gate=true``); 3.7 removed the
  experimental spellings.

A flag the table does not know is passed unchanged: etcd itself rejects an unknown flag at
start, which :class:`~etcdmap.testing.EtcdServer` reports with the log's tail.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

#: An etcd version as ``(major, minor, patch)``.
Version = tuple[int, int, int]

_VERSION_RE = re.compile(r"(?:etcd Version:\s*)?v?(\d+)\.(\d+)\.(\d+)")
_ALWAYS: Version = (0, 0, 0)
_V35: Version = (3, 5, 0)
_V36: Version = (3, 6, 0)


class UnsupportedFlagError(ValueError):
    """Raised when a flag names a setting the chosen etcd version does not have."""


def parse_version(text: str) -> Version:
    """The version in ``etcd --version`` output (``"etcd Version: 3.4.23\\n..."``) or ``"3.5.1"``.

    Raises
    ------
    ValueError
        If `text` holds no ``X.Y.Z`` version.
    """
    match = _VERSION_RE.search(text)
    if match is None:
        raise ValueError(f"no etcd version (X.Y.Z) in text={text!r}")
    major, minor, patch = (int(part) for part in match.groups())
    return (major, minor, patch)


def format_version(version: Version) -> str:
    """``(3, 5, 1)`` as ``"3.5.1"``."""
    return ".".join(str(part) for part in version)


@dataclass(frozen=True)
class FlagHistory:
    """One etcd setting across versions.

    Attributes
    ----------
    names : tuple of (Version, str or None)
        From each version on (ascending), the flag's name; ``None`` when no flag sets it.
    gate : str, optional
        The feature gate that replaced the (boolean) flag in 3.6 (``--feature-gates=gate=v``).
    """

    names: tuple[tuple[Version, str | None], ...]
    gate: str | None = None

    def name_at(self, version: Version) -> str | None:
        """The flag's name in `version` (``None``: absent, or a feature gate from 3.6)."""
        current: str | None = None
        for since, name in self.names:
            if version >= since:
                current = name
        return current

    def describe(self) -> str:
        """The names by version, e.g. ``"--debug before 3.5.0, none from 3.5.0"``."""
        parts = []
        for index, (since, name) in enumerate(self.names):
            until = self.names[index + 1][0] if index + 1 < len(self.names) else None
            span = "" if since == _ALWAYS else f" from {format_version(since)}"
            if since == _ALWAYS and until is not None:
                span = f" before {format_version(until)}"
            gated = self.gate is not None and since >= _V36
            shown = name or (f"--feature-gates={self.gate}=..." if gated else "none")
            parts.append(shown + span)
        return ", ".join(parts)


def _graduated(name: str, since: Version = _ALWAYS) -> FlagHistory:
    """``--experimental-NAME`` from `since`, ``--NAME`` from 3.6."""
    names: list[tuple[Version, str | None]] = []
    if since != _ALWAYS:
        names.append((_ALWAYS, None))
    names += [(since, f"--experimental-{name}"), (_V36, f"--{name}")]
    return FlagHistory(tuple(names))


def _gated(name: str, gate: str, since: Version = _ALWAYS) -> FlagHistory:
    """Boolean ``--experimental-NAME`` from `since`, feature gate `gate` from 3.6."""
    names: list[tuple[Version, str | None]] = []
    if since != _ALWAYS:
        names.append((_ALWAYS, None))
    names += [(since, f"--experimental-{name}"), (_V36, None)]
    return FlagHistory(tuple(names), gate=gate)


def _added(name: str, since: Version) -> FlagHistory:
    return FlagHistory(((_ALWAYS, None), (since, name)))


FLAG_HISTORY: tuple[FlagHistory, ...] = (
    # 3.4 -> 3.5
    FlagHistory(
        (
            (_ALWAYS, "--experimental-backend-bbolt-freelist-type"),
            (_V35, "--backend-bbolt-freelist-type"),
        )
    ),
    FlagHistory(((_ALWAYS, "--debug"), (_V35, None))),
    FlagHistory(((_ALWAYS, "--log-package-levels"), (_V35, None))),
    _added("--socket-reuse-port", _V35),
    _added("--socket-reuse-address", _V35),
    _added("--unsafe-no-fsync", _V35),
    _added("--enable-log-rotation", _V35),
    _added("--log-rotation-config-json", _V35),
    _added("--self-signed-cert-validity", _V35),
    _added("--tls-min-version", (3, 5, 8)),
    _added("--tls-max-version", (3, 5, 8)),
    _added("--listen-client-http-urls", (3, 5, 8)),
    # graduated in 3.6: --experimental-X -> --X
    _graduated("corrupt-check-time"),
    _graduated("compaction-batch-limit"),
    _graduated("watch-progress-notify-interval"),
    _graduated("warning-apply-duration"),
    _graduated("memory-mlock"),
    _graduated("downgrade-check-time"),
    _graduated("snapshot-catchup-entries"),
    _graduated("warning-unary-request-duration"),
    _graduated("bootstrap-defrag-threshold-megabytes", _V35),
    _graduated("enable-distributed-tracing", _V35),
    _graduated("distributed-tracing-address", _V35),
    _graduated("distributed-tracing-service-name", _V35),
    _graduated("distributed-tracing-instance-id", _V35),
    _graduated("distributed-tracing-sampling-rate", (3, 5, 11)),
    _graduated("compact-hash-check-time", (3, 5, 5)),
    _graduated("compaction-sleep-interval", (3, 5, 16)),
    # boolean experimental flags that became feature gates in 3.6
    _gated("initial-corrupt-check", "InitialCorruptCheck"),
    _gated("enable-lease-checkpoint", "LeaseCheckpoint"),
    _gated("txn-mode-write-with-shared-buffer", "TxnModeWriteWithSharedBuffer", _V35),
    _gated("enable-lease-checkpoint-persist", "LeaseCheckpointPersist", (3, 5, 3)),
    _gated("compact-hash-check-enabled", "CompactHashCheck", (3, 5, 5)),
    _gated("stop-grpc-service-on-defrag", "StopGRPCServiceOnDefrag", (3, 5, 14)),
)

_BY_NAME: dict[str, FlagHistory] = {
    name: history for history in FLAG_HISTORY for _, name in history.names if name is not None
}


def _split(arg: str) -> tuple[str, str | None]:
    """``"--a=b"`` as ``("--a", "b")``, ``"-a"`` as ``("--a", None)``."""
    name, sep, value = arg.partition("=")
    if not name.startswith("--"):
        name = "-" + name
    return name, (value if sep else None)


def adapt_args(args: Sequence[str], version: Version) -> list[str]:
    """Rewrite etcd command-line `args` for etcd `version`.

    A flag of ``FLAG_HISTORY`` given under any of its names becomes the name `version` knows;
    a boolean flag that `version` (3.6+) turned into a feature gate joins one
    ``--feature-gates=A=true,B=false`` argument.  Other arguments are kept as they are.

    Raises
    ------
    UnsupportedFlagError
        If an argument sets what `version` has no flag for (e.g. ``--unsafe-no-fsync``,
        added in 3.5, given to etcd 3.4).
    """
    adapted: list[str] = []
    gates: list[str] = []
    for arg in args:
        history = _BY_NAME.get(_split(arg)[0]) if arg.startswith("-") else None
        if history is None:
            adapted.append(arg)
            continue
        name, value = _split(arg)
        new_name = history.name_at(version)
        if new_name is not None:
            adapted.append(new_name if value is None else f"{new_name}={value}")
        elif history.gate is not None and version >= _V36:
            gates.append(f"{history.gate}={'true' if value is None else value}")
        else:
            raise UnsupportedFlagError(
                f"etcd {format_version(version)} has no flag for {name} "
                f"({history.describe()}); remove it from the arguments {list(args)!r}"
            )
    if gates:
        adapted.append("--feature-gates=" + ",".join(gates))
    return adapted


_SPEC_RE = re.compile(r"\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+){0,2})\s*")
_COMPARE = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def version_matches(version: Version, spec: str) -> bool:
    """Whether `version` satisfies `spec`, comma-separated clauses such as ``">=3.5, <3.6"``.

    A clause's version may leave out the patch or minor number: it then compares only the
    parts given (``"==3.5"`` holds for every 3.5.x, ``"<3.6"`` for 3.5.30).

    Raises
    ------
    ValueError
        If a clause of `spec` is not an operator followed by a version.
    """
    for clause in spec.split(","):
        match = _SPEC_RE.fullmatch(clause)
        if match is None:
            raise ValueError(f"spec={spec!r}: {clause!r} is not like '>=3.5' or '<3.6.0'")
        operator, text = match.groups()
        wanted = tuple(int(part) for part in text.split("."))
        if not _COMPARE[operator](version[: len(wanted)], wanted):
            return False
    return True
