"""Client config files (sans-IO apart from reading the given file): keys, aliases, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import etcdmap
from etcdmap import ClientConfig, RetryPolicy, TLSConfig, load_config
from etcdmap._core.config import parse_duration
from etcdmap.errors import ConfigError

CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"
NO_ENV: dict[str, str] = {}


@pytest.fixture
def pem_files(tmp_path: Path) -> dict[str, str]:
    files = {"ca": CERT, "cert": CERT, "key": KEY}
    out = {}
    for name, text in files.items():
        path = tmp_path / f"{name}.pem"
        path.write_text(text)
        out[name] = str(path)
    return out


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("5s", 5.0), ("250ms", 0.25), ("1m30s", 90.0), ("1.5h", 5400.0), ("0", 0.0),
     (2_000_000_000, 2.0), ("10us", 1e-5), ("3µs", 3e-6), ("7ns", 7e-9)],
)
def test_durations_are_go_durations(value: int | str, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["5", "5 s", "s", "", "-1s", 1.5, True, "5d"])
def test_bad_durations_name_the_key(value: object) -> None:
    with pytest.raises(ConfigError, match="dial-timeout"):
        parse_duration(value, "dial-timeout")  # type: ignore[arg-type]


def test_go_yaml_file(tmp_path: Path, pem_files: dict[str, str]) -> None:
    pytest.importorskip("yaml")
    path = tmp_path / "etcd.yaml"
    path.write_text(
        "endpoints: [10.0.0.1:2379, 10.0.0.2:2379]\n"
        "dial-timeout: 5s\n"
        "dial-keep-alive-time: 30s\n"
        "dial-keep-alive-timeout: 10s\n"
        "auto-sync-interval: 1m\n"
        "reject-old-cluster: true\n"
        "username: app\n"
        "password: secret\n"
        f"trusted-ca-file: {pem_files['ca']}\n"
        f"cert-file: {pem_files['cert']}\n"
        f"key-file: {pem_files['key']}\n"
        "ca-file: /ignored/as/in/go.pem\n"
        "MaxCallSendMsgSize: 1048576\n"
        "max-unary-retries: 5\n"
        "backoff-wait-between: 50ms\n"
    )
    config = load_config(path, environ=NO_ENV)
    assert config.endpoints == ("10.0.0.1:2379", "10.0.0.2:2379")
    assert config.connect_timeout == 5.0
    assert (config.keepalive_time, config.keepalive_timeout) == (30.0, 10.0)
    assert config.auto_sync_interval == 60.0
    assert config.reject_old_cluster
    assert (config.username, config.password) == ("app", "secret")
    assert config.tls == TLSConfig(
        ca_file=pem_files["ca"], cert_file=pem_files["cert"], key_file=pem_files["key"]
    )
    assert config.max_send_bytes == 1048576
    assert config.retry == RetryPolicy(max_attempts=5, backoff_wait=0.05)
    assert "secret" not in repr(config)
    with pytest.raises(AttributeError):
        config.username = "x"  # type: ignore[misc]


def test_config_spec_form(pem_files: dict[str, str]) -> None:
    """etcd 3.6's ConfigSpec keys, with nested ``secure`` and ``auth``."""
    config = load_config(
        {
            "endpoints": ["https://e1:2379"],
            "request-timeout": 2_000_000_000,
            "keepalive-time": "20s",
            "max-request-bytes": 1024,
            "max-recv-bytes": 4096,
            "secure": {"cacert": pem_files["ca"], "server-name": "etcd.local"},
            "auth": {"username": "u", "password": "p"},
        },
        environ=NO_ENV,
    )
    assert config.timeout == 2.0
    assert config.keepalive_time == 20.0
    assert (config.max_send_bytes, config.max_recv_bytes) == (1024, 4096)
    assert config.tls == TLSConfig(ca_file=pem_files["ca"], server_name="etcd.local")
    assert (config.username, config.password) == ("u", "p")


def test_json_file_and_kwargs(tmp_path: Path) -> None:
    path = tmp_path / "etcd.json"
    path.write_text(json.dumps({"endpoints": "a:1,b:2", "command-timeout": "3s"}))
    config = load_config(path, environ=NO_ENV)
    assert config.kwargs() == {"endpoints": ["a:1", "b:2"], "timeout": 3.0}


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ({"endpoints": ["a:1"], "dial-timeot": "5s"}, "unknown key 'dial-timeot'"),
        ({"endpoints": ["a:1"], "secure": {"certfile": "x"}}, "certfile"),
        ({"endpoints": ["a:1"], "dial-timeout": 1.5}, "dial-timeout"),
        ({"endpoints": ["a:1"], "reject-old-cluster": "maybe"}, "reject-old-cluster"),
        ({}, "no endpoints"),
        ({"endpoints": ["a:1"], "username": "u"}, "both or neither"),
        ({"endpoints": ["a:1"], "cacert": "x", "trusted-ca-file": "y"}, "give only one"),
        ({"endpoints": ["a:1"], "keepalive-time": "1s", "dial-keep-alive-time": "1s"},
         "dial-keep-alive-time and keepalive-time"),
        ({"endpoints": ["a:1"], "max-call-send-msg-size": 10, "max-call-recv-msg-size": 5},
         "must be greater than send limit"),
        ({"endpoints": ["a:1"], "insecure-skip-tls-verify": True}, "insecure-skip-tls-verify"),
        ({"endpoints": ["a:1"], "permit-without-stream": True}, "permit-without-stream"),
        ({"endpoints": ["a:1"], "cacert": "/no/such/ca.pem"}, "/no/such/ca.pem"),
    ],
)
def test_errors_name_the_key(source: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigError, match=words.replace("(", r"\(")):
        load_config(source, environ=NO_ENV)


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(bad)
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(listed)


def test_insecure_transport_means_plaintext() -> None:
    config = load_config({"endpoints": ["a:1"], "insecure-transport": True}, environ=NO_ENV)
    assert config.tls is None


def test_environment_fills_in(pem_files: dict[str, str]) -> None:
    environ = {
        "ETCDMAP_ENDPOINTS": "x:1, y:2",
        "ETCDMAP_DIAL_TIMEOUT": "7",  # a bare number in the environment means seconds
        "ETCDMAP_REQUEST_TIMEOUT": "250ms",
        "ETCDMAP_USERNAME": "root",
        "ETCDMAP_PASSWORD": "pw",
        "ETCDMAP_CACERT": pem_files["ca"],
        "ETCDMAP_REJECT_OLD_CLUSTER": "true",
        "ETCDMAP_MAX_UNARY_RETRIES": "3",
        "ETCDMAP_TEST_ENDPOINTS": "ignored: not a config key",
    }
    config = load_config(None, environ=environ)
    assert config.endpoints == ("x:1", "y:2")
    assert (config.connect_timeout, config.timeout) == (7.0, 0.25)
    assert (config.username, config.password) == ("root", "pw")
    assert config.tls == TLSConfig(ca_file=pem_files["ca"])
    assert config.reject_old_cluster
    assert config.retry == RetryPolicy(max_attempts=3)
    # the source wins over the environment
    config = load_config({"endpoints": ["z:3"], "username": "app", "password": "x"},
                         environ=environ)
    assert config.endpoints == ("z:3",)
    assert config.username == "app"


@pytest.mark.parametrize(
    ("name", "value"),
    [("ETCDMAP_REJECT_OLD_CLUSTER", "perhaps"), ("ETCDMAP_MAX_UNARY_RETRIES", "many"),
     ("ETCDMAP_DIAL_TIMEOUT", "soon")],
)
def test_bad_environment_names_the_variable(name: str, value: str) -> None:
    key = name.removeprefix("ETCDMAP_").lower().replace("_", "-")
    with pytest.raises(ConfigError, match=f"{name}|{key}"):
        load_config({"endpoints": ["a:1"]}, environ={name: value})


def test_client_from_config_takes_kwargs_over_the_file() -> None:
    with etcdmap.Client.from_config(
        {"endpoints": ["127.0.0.1:1"], "request-timeout": "1s"}, timeout=2.0
    ) as client:
        assert client.endpoints == ["127.0.0.1:1"]
        assert client._timeout == 2.0
    assert isinstance(load_config({"endpoints": ["a:1"]}, environ=NO_ENV), ClientConfig)


async def test_async_client_from_config() -> None:
    async with etcdmap.AsyncClient.from_config(
        {"endpoints": ["127.0.0.1:1"], "dial-timeout": "2s"}
    ) as client:
        assert client._connect_timeout == 2.0
