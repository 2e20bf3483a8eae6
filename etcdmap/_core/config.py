"""Client configuration files: etcdctl's / Go's YAML client config, JSON, dicts and ``ETCDMAP_*``.

``Client.from_config(source)`` reads the keys Go's ``clientv3/yaml`` package and the 3.6
``ConfigSpec`` understand, plus etcdctl's flag names, so one file can serve both::

    endpoints: [https://10.0.0.1:2379, https://10.0.0.2:2379]
    dial-timeout: 5s
    keepalive-time: 30s
    username: app
    password: secret
    trusted-ca-file: /etc/etcd/ca.pem     # or cacert:
    cert-file: /etc/etcd/client.pem       # or cert:
    key-file: /etc/etcd/client-key.pem    # or key:

Durations are Go's: an integer is nanoseconds (``time.Duration`` as Go encodes it), a string
is a Go duration (``"5s"``, ``"250ms"``, ``"1m30s"``). Environment variables ``ETCDMAP_<KEY>``
(the key upper-cased, ``-`` as ``_``: ``ETCDMAP_DIAL_TIMEOUT=5s``) fill in what the source
leaves out. Everything is validated here, without I/O except reading the given file; an
unknown key is an error that names it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from .errors import ConfigError
from .retry import RetryPolicy
from .tls import TLSConfig

__all__ = ["ClientConfig", "ConfigError", "load_config", "parse_duration"]


class ClientConfig(msgspec.Struct, frozen=True, kw_only=True):
    """A validated client configuration: the keyword arguments of ``Client`` / ``AsyncClient``.

    Built by ``load_config`` (and ``Client.from_config``); ``kwargs()`` gives what the client
    constructor takes. Fields left None keep the constructor's defaults.
    """

    endpoints: tuple[str, ...]
    timeout: float | None = None
    connect_timeout: float | None = None
    keepalive_time: float | None = None
    keepalive_timeout: float | None = None
    username: str | None = None
    password: str | None = None
    tls: TLSConfig | None = None
    max_send_bytes: int | None = None
    max_recv_bytes: int | None = None
    auto_sync_interval: float | None = None
    reject_old_cluster: bool = False
    retry: RetryPolicy | None = None

    def __repr__(self) -> str:
        # Never show the password in a traceback or log.
        password = None if self.password is None else "..."
        return (
            f"ClientConfig(endpoints={self.endpoints!r}, username={self.username!r}, "
            f"password={password}, tls={self.tls!r})"
        )

    def kwargs(self) -> dict[str, Any]:
        """The client constructor's keyword arguments (unset fields left out)."""
        out: dict[str, Any] = {"endpoints": list(self.endpoints)}
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if name != "endpoints" and value is not None:
                out[name] = value
        if not self.reject_old_cluster:
            del out["reject_old_cluster"]
        return out


class _Auth(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    username: str | None = None
    password: str | None = None


class _Secure(msgspec.Struct, forbid_unknown_fields=True, frozen=True, rename="kebab"):
    cert: str | None = None
    key: str | None = None
    cacert: str | None = None
    server_name: str | None = None
    insecure_transport: bool = False
    insecure_skip_tls_verify: bool = False


class _File(msgspec.Struct, forbid_unknown_fields=True, frozen=True, rename="kebab"):
    """Every key a config source may have. Several spellings of one setting (Go's yaml
    package, ConfigSpec, etcdctl flags) are separate fields; ``_ALIASES`` merges them."""

    endpoints: list[str] | str | None = None
    auto_sync_interval: int | str | None = None
    dial_timeout: int | str | None = None
    request_timeout: int | str | None = None
    command_timeout: int | str | None = None
    dial_keep_alive_time: int | str | None = None
    dial_keep_alive_timeout: int | str | None = None
    keepalive_time: int | str | None = None
    keepalive_timeout: int | str | None = None
    username: str | None = None
    password: str | None = None
    auth: _Auth | None = None
    reject_old_cluster: bool = False
    permit_without_stream: bool = False
    max_unary_retries: int | None = None
    backoff_wait_between: int | str | None = None
    backoff_jitter_fraction: float | None = None
    max_call_send_msg_size: int | None = None
    max_call_recv_msg_size: int | None = None
    max_call_send_msg_size_go: int | None = msgspec.field(default=None, name="MaxCallSendMsgSize")
    max_call_recv_msg_size_go: int | None = msgspec.field(default=None, name="MaxCallRecvMsgSize")
    max_request_bytes: int | None = None
    max_recv_bytes: int | None = None
    secure: _Secure | None = None
    insecure_transport: bool = False
    insecure_skip_tls_verify: bool = False
    trusted_ca_file: str | None = None
    cacert: str | None = None
    ca_file: str | None = None  # deprecated in Go's yaml package and ignored there: here too
    cert_file: str | None = None
    cert: str | None = None
    key_file: str | None = None
    key: str | None = None
    server_name: str | None = None


#: setting -> the file keys (field names) that spell it; at most one may be given.
_ALIASES: dict[str, tuple[str, ...]] = {
    "timeout": ("request_timeout", "command_timeout"),
    "keepalive_time": ("dial_keep_alive_time", "keepalive_time"),
    "keepalive_timeout": ("dial_keep_alive_timeout", "keepalive_timeout"),
    "max_send_bytes": ("max_call_send_msg_size", "max_call_send_msg_size_go", "max_request_bytes"),
    "max_recv_bytes": ("max_call_recv_msg_size", "max_call_recv_msg_size_go", "max_recv_bytes"),
    "ca": ("trusted_ca_file", "cacert"),
    "cert": ("cert_file", "cert"),
    "key": ("key_file", "key"),
}

#: Environment variables read by ``load_config``: ETCDMAP_<KEY> for these keys.
ENV_KEYS = (
    "endpoints", "dial-timeout", "request-timeout", "keepalive-time", "keepalive-timeout",
    "username", "password", "cacert", "cert", "key", "server-name", "insecure-transport",
    "insecure-skip-tls-verify", "auto-sync-interval", "reject-old-cluster",
    "max-call-send-msg-size", "max-call-recv-msg-size", "max-unary-retries",
    "backoff-wait-between", "backoff-jitter-fraction",
)
_BOOL_KEYS = frozenset({"insecure-transport", "insecure-skip-tls-verify", "reject-old-cluster"})
_INT_KEYS = frozenset({"max-call-send-msg-size", "max-call-recv-msg-size", "max-unary-retries"})

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(value: int | str, key: str = "duration") -> float:
    """Seconds from a Go duration: integer nanoseconds, or a string such as ``"1m30s"``.

    Raises ``ConfigError`` naming ``key`` for anything else (a float is refused: Go would
    read it as nanoseconds, which is rarely what was meant).
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ConfigError(
            f"{key}: expected a Go duration such as '5s' or integer nanoseconds, got {value!r}"
        )
    if isinstance(value, int):
        seconds = value * 1e-9
    else:
        text = value.strip()
        sign = -1.0 if text.startswith("-") else 1.0
        body = text.lstrip("+-")
        if body == "0":
            return 0.0
        pos, seconds = 0, 0.0
        while pos < len(body):
            match = _DURATION_PART.match(body, pos)
            if match is None:
                raise ConfigError(
                    f"{key}: {value!r} is not a Go duration (e.g. '5s', '250ms', '1m30s')"
                )
            seconds += float(match[1]) * _UNITS[match[2]]
            pos = match.end()
        if not body:
            raise ConfigError(f"{key}: empty duration")
        seconds *= sign
    if seconds < 0:
        raise ConfigError(f"{key}: {value!r} is negative")
    return seconds


def load_config(
    source: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> ClientConfig:
    """Read and validate a client configuration.

    Parameters
    ----------
    source:
        A ``.yaml`` / ``.yml`` file (needs PyYAML: ``pip install pyyaml``), a ``.json`` file,
        a mapping with the same keys, or None for the environment alone.
    environ:
        Where ``ETCDMAP_*`` variables are read (``os.environ`` by default); they fill in keys
        the source does not give.

    Raises
    ------
    ConfigError
        For an unknown key, a value of the wrong type, two spellings of one setting, a bad
        duration, or TLS files that cannot be read; the message names the key and the source.
    """
    raw, origin = _read_source(source)
    env = _from_environ(os.environ if environ is None else environ)
    merged = {**env, **raw}
    try:
        parsed = msgspec.convert(merged, _File)
    except msgspec.ValidationError as error:
        raise ConfigError(f"{origin}: {_explain(error)}") from None
    try:
        return _build(parsed)
    except (ConfigError, ValueError, TypeError) as error:
        raise ConfigError(f"{origin}: {error}") from None


def _read_source(
    source: str | os.PathLike[str] | Mapping[str, Any] | None,
) -> tuple[dict[str, Any], str]:
    if source is None:
        return {}, "environment"
    if isinstance(source, Mapping):
        return dict(source), "config"
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(
            f"cannot read config file {str(path)!r}: {error.strerror or error}"
        ) from None
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ConfigError(
                f"{path}: reading YAML needs PyYAML (pip install pyyaml, or etcdmap[yaml])"
            ) from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ConfigError(f"{path}: not valid YAML: {error}") from None
    else:
        try:
            data = json.loads(text)
        except ValueError as error:
            raise ConfigError(f"{path}: not valid JSON: {error}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys, got {type(data).__name__}")
    return data, str(path)


def _from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ENV_KEYS:
        name = "ETCDMAP_" + key.upper().replace("-", "_")
        text = environ.get(name)
        if text is None or text == "":
            continue
        value: Any = text
        if key in _BOOL_KEYS:
            lowered = text.strip().lower()
            if lowered not in ("1", "0", "true", "false", "yes", "no"):
                raise ConfigError(f"{name}={text!r}: expected true or false")
            value = lowered in ("1", "true", "yes")
        elif key in _INT_KEYS:
            try:
                value = int(text)
            except ValueError:
                raise ConfigError(f"{name}={text!r}: expected an integer") from None
        elif key == "backoff-jitter-fraction":
            try:
                value = float(text)
            except ValueError:
                raise ConfigError(f"{name}={text!r}: expected a number") from None
        elif key == "endpoints":
            value = [part.strip() for part in text.split(",") if part.strip()]
        elif key.endswith(("timeout", "time", "interval", "between")) and text.isdigit():
            value = text + "s"  # a bare number in the environment means seconds
        out[key] = value
    return out


def _explain(error: msgspec.ValidationError) -> str:
    """msgspec's message with the path in the file's own words (``$.secure.cert`` etc.)."""
    message = str(error)
    match = re.search(r"unknown field `([^`]*)`", message)
    if match:
        return f"unknown key {match[1]!r} ({message})"
    return message


def _pick(parsed: _File, setting: str) -> Any:
    given = [(name, getattr(parsed, name)) for name in _ALIASES[setting]]
    given = [(name, value) for name, value in given if value is not None]
    if len(given) > 1:
        names = " and ".join(_key(name) for name, _ in given)
        raise ConfigError(f"{names} set the same thing; give only one")
    return given[0] if given else (None, None)


def _key(field: str) -> str:
    return {"max_call_send_msg_size_go": "MaxCallSendMsgSize",
            "max_call_recv_msg_size_go": "MaxCallRecvMsgSize"}.get(field, field.replace("_", "-"))


def _duration(name: str | None, value: Any) -> float | None:
    if value is None or name is None:
        return None
    seconds = parse_duration(value, _key(name))
    return seconds or None  # Go: 0 means "not set"


def _build(parsed: _File) -> ClientConfig:
    endpoints = parsed.endpoints
    if isinstance(endpoints, str):
        endpoints = [part.strip() for part in endpoints.split(",") if part.strip()]
    if not endpoints:
        raise ConfigError("endpoints: no endpoints given (etcdclient: no available endpoints)")
    if parsed.permit_without_stream:
        raise ConfigError(
            "permit-without-stream: true is not supported; etcd closes connections that ping "
            "without calls unless the server permits it, so etcdmap never does"
        )
    username, password = parsed.username, parsed.password
    if parsed.auth is not None:
        if username is not None or password is not None:
            raise ConfigError("username/password and auth: set the same thing; give only one")
        username, password = parsed.auth.username, parsed.auth.password
    # Go enables token auth only when both are non-empty.
    if not username and not password:
        username = password = None
    elif not username or not password:
        raise ConfigError("username and password: give both or neither")

    send = _pick(parsed, "max_send_bytes")[1]
    recv = _pick(parsed, "max_recv_bytes")[1]
    if recv and send is not None and send > recv:
        raise ConfigError(
            f"gRPC message recv limit ({recv} bytes) must be greater than send limit "
            f"({send} bytes)"
        )
    if recv is None and send is not None and send > 2**31 - 1:
        raise ConfigError(f"max send size {send} is larger than gRPC allows")

    retry = None
    if (parsed.max_unary_retries, parsed.backoff_wait_between,
            parsed.backoff_jitter_fraction) != (None, None, None):
        defaults = RetryPolicy()
        wait = _duration("backoff_wait_between", parsed.backoff_wait_between)
        retry = RetryPolicy(
            max_attempts=parsed.max_unary_retries or defaults.max_attempts,
            backoff_wait=defaults.backoff_wait if wait is None else wait,
            backoff_jitter=(defaults.backoff_jitter if parsed.backoff_jitter_fraction is None
                            else parsed.backoff_jitter_fraction),
        )
        if retry.max_attempts < 1 or not 0 <= retry.backoff_jitter <= 1:
            raise ConfigError("max-unary-retries must be >= 1 and backoff-jitter-fraction 0..1")

    return ClientConfig(
        endpoints=tuple(endpoints),
        timeout=_duration(*_pick(parsed, "timeout")),
        connect_timeout=_duration("dial_timeout", parsed.dial_timeout),
        keepalive_time=_duration(*_pick(parsed, "keepalive_time")),
        keepalive_timeout=_duration(*_pick(parsed, "keepalive_timeout")),
        username=username,
        password=password,
        tls=_tls(parsed, endpoints),
        max_send_bytes=send,
        max_recv_bytes=recv or None,  # Go: 0 means the default, unlimited
        auto_sync_interval=_duration("auto_sync_interval", parsed.auto_sync_interval),
        reject_old_cluster=parsed.reject_old_cluster,
        retry=retry,
    )


def _tls(parsed: _File, endpoints: list[str]) -> TLSConfig | None:
    secure = parsed.secure or _Secure()
    flat = {
        "ca_file": _pick(parsed, "ca"), "cert_file": _pick(parsed, "cert"),
        "key_file": _pick(parsed, "key"),
    }
    nested = {"ca_file": secure.cacert, "cert_file": secure.cert, "key_file": secure.key}
    files: dict[str, str | None] = {}
    for name, (flat_key, value) in flat.items():
        if value is not None and nested[name] is not None:
            raise ConfigError(f"{_key(flat_key)} and secure: set the same file; give only one")
        files[name] = value if value is not None else nested[name]
    if parsed.server_name is not None and secure.server_name is not None:
        raise ConfigError("server-name and secure.server-name: give only one")
    server_name = parsed.server_name or secure.server_name
    if parsed.insecure_skip_tls_verify or secure.insecure_skip_tls_verify:
        raise ConfigError(
            "insecure-skip-tls-verify: gRPC Python cannot skip certificate verification; give "
            "the server's CA as cacert / trusted-ca-file instead"
        )
    if parsed.insecure_transport or secure.insecure_transport:
        if any(files.values()) or server_name:
            raise ConfigError("insecure-transport is set together with TLS files; choose one")
        return None
    if not any(files.values()) and not server_name:
        # Go's yaml package always builds a TLS config; clientv3 then only uses it for
        # https:// and bare host:port endpoints. Plaintext stays plaintext here unless a
        # file or https:// asks for TLS, which is what etcdctl users expect from such files.
        return None
    if any(e.startswith("http://") for e in endpoints):
        raise ConfigError("TLS files are given but an endpoint is http://; use https://")
    return TLSConfig(
        ca_file=files["ca_file"], cert_file=files["cert_file"], key_file=files["key_file"],
        server_name=server_name,
    )
