"""TLS configuration, the endpoint-scheme decision and TLS failure messages, without a server."""

from __future__ import annotations

import os
from pathlib import Path

import grpc
import pytest

from etcdmap import AsyncClient, Client, ConnectionFailedError, TLSConfig
from etcdmap._core.endpoints import resolve_endpoints
from etcdmap._core.errors import error_from_status
from etcdmap._core.retry import should_retry
from etcdmap._core.tls import TLSMaterial, certificate_rejected, client_tls, tls_failure_hint
from etcdmap.errors import TLSHandshakeError

CERT = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
KEY = b"-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n"

# What gRPC reports for the usual handshake failures (etcd 3.5, grpcio 1.6x-1.8x).
NO_CLIENT_CERT = (
    "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:2379: Tls handshake "
    "failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:10000412:SSL routines:"
    "OPENSSL_internal:SSLV3_ALERT_BAD_CERTIFICATE: OK"
)
UNTRUSTED = (
    "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:2379: Tls handshake "
    "failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:"
    "OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: unable to get local issuer certificate: OK"
)
WRONG_NAME = (
    "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:2379: Custom "
    "verification check failed with error: UNAUTHENTICATED: Hostname Verification Check failed."
)
# grpcio 1.63 (our floor) checks the name itself and words it so.
WRONG_NAME_GRPCIO_163 = (
    "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:51543: Peer name "
    "etcd.invalid is not in peer certificate"
)
# etcd 3.4.23 (Go 1.19, TLS 1.3): the refusal of a missing client certificate comes after the
# client's side of the handshake, as an alert where the first record is read.
NO_CLIENT_CERT_TLS13 = (
    "failed to connect to all addresses; last error: UNAVAILABLE: ipv4:127.0.0.1:54029: "
    "Unwrap failed (TSI_DATA_CORRUPTED)"
)
NOT_TLS = (
    "failed to connect to all addresses; last error: UNAVAILABLE: ipv4:127.0.0.1:2379: "
    "Handshake read failed (Socket closed)"
)
REFUSED = (
    "failed to connect to all addresses; last error: UNAVAILABLE: ipv4:127.0.0.1:2379: "
    "Connection refused"
)


@pytest.fixture
def pem(tmp_path: Path) -> dict[str, str]:
    files = {"ca": CERT, "cert": CERT, "key": KEY}
    for name, data in files.items():
        (tmp_path / f"{name}.pem").write_bytes(data)
    return {name: str(tmp_path / f"{name}.pem") for name in files}


def test_tls_config_reads_the_files(pem: dict[str, str]) -> None:
    tls = TLSConfig(ca_file=pem["ca"], cert_file=Path(pem["cert"]), key_file=pem["key"])
    material = tls.load()
    assert material == TLSMaterial(root_certificates=CERT, private_key=KEY, certificate_chain=CERT)
    assert material.channel_options() == []
    assert "PRIVATE" not in repr(material)
    assert TLSConfig().load() == TLSMaterial()  # gRPC's roots, no client certificate
    named = TLSConfig(ca_file=pem["ca"], server_name="etcd.example").load()
    assert named.channel_options() == [("grpc.ssl_target_name_override", "etcd.example")]
    assert TLSConfig(ca_file=pem["ca"]) == TLSConfig(pem["ca"])  # frozen, comparable
    with pytest.raises(AttributeError):
        tls.ca_file = None  # type: ignore[misc]


def test_tls_config_needs_cert_and_key_together(pem: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="cert_file is set but key_file is not"):
        TLSConfig(cert_file=pem["cert"])
    with pytest.raises(ValueError, match="key_file is set but cert_file is not"):
        TLSConfig(key_file=pem["key"])
    with pytest.raises(ValueError, match="server_name is empty"):
        TLSConfig(server_name="")


def test_tls_config_names_an_unreadable_file(pem: dict[str, str], tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.pem")
    with pytest.raises(ValueError, match=rf"ca_file '{missing}'.*No such file"):
        TLSConfig(ca_file=missing)
    with pytest.raises(ValueError, match=r"cert_file '.*key\.pem' is not a certificate"):
        TLSConfig(cert_file=pem["key"], key_file=pem["key"])
    with pytest.raises(ValueError, match=r"key_file '.*cert\.pem' is not a private key"):
        TLSConfig(cert_file=pem["cert"], key_file=pem["cert"])
    encrypted = tmp_path / "enc.pem"
    encrypted.write_bytes(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nx\n")
    with pytest.raises(ValueError, match="is encrypted"):
        TLSConfig(cert_file=pem["cert"], key_file=str(encrypted))
    if os.geteuid() != 0:  # root reads anything
        locked = tmp_path / "locked.pem"
        locked.write_bytes(CERT)
        locked.chmod(0)
        with pytest.raises(ValueError, match="cannot read ca_file .*locked.pem"):
            TLSConfig(ca_file=str(locked))


def test_endpoint_schemes_decide_tls(pem: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    tls = TLSConfig(ca_file=pem["ca"])
    assert client_tls(["127.0.0.1:2379"], None) is None
    assert client_tls(["http://127.0.0.1:2379"], None) is None
    assert client_tls(["https://127.0.0.1:2379"], None) == TLSMaterial()  # default TLS
    assert client_tls(["127.0.0.1:2379", "https://b:2379"], None) == TLSMaterial()
    assert client_tls("127.0.0.1:2379,a:2379", tls) == tls.load()  # bare endpoints follow tls=
    assert client_tls(["https://127.0.0.1:2379"], tls) == tls.load()
    with pytest.raises(ValueError, match="endpoint 'http://a:2379' is http://"):
        client_tls(["https://b:2379", "http://a:2379"], tls)
    with pytest.raises(ValueError, match=r"mix http:// \('http://a:2379'\) and https://"):
        client_tls(["https://b:2379", " http://a:2379"], None)
    monkeypatch.setenv("ETCDMAP_ENDPOINTS", "https://10.0.0.1:2379,https://10.0.0.2:2379")
    assert client_tls(None, None) == TLSMaterial()
    assert resolve_endpoints(None) == ["10.0.0.1:2379", "10.0.0.2:2379"]
    assert resolve_endpoints(["https://a:2379/", "http://b:2379", "c:2379"]) == [
        "a:2379", "b:2379", "c:2379"
    ]


def test_clients_check_tls_when_built(pem: dict[str, str]) -> None:
    tls = TLSConfig(ca_file=pem["ca"])
    for client_class in (Client, AsyncClient):
        with pytest.raises(ValueError, match="'http://127.0.0.1:2379'"):
            client_class("http://127.0.0.1:2379", tls=tls)
        # the files are read here, once; channels open on first use
        assert client_class("https://127.0.0.1:2379", tls=tls).endpoints == ["127.0.0.1:2379"]


@pytest.mark.parametrize(
    ("details", "hint", "permanent"),
    [
        (NO_CLIENT_CERT, "refused the client certificate", True),
        (NO_CLIENT_CERT_TLS13, "client certificate", True),
        (UNTRUSTED, "not signed by a trusted CA", True),
        (WRONG_NAME, "server_name", True),
        (WRONG_NAME_GRPCIO_163, "server_name", True),
        (NOT_TLS, "does the server serve TLS", False),
    ],
)
def test_tls_failures_are_named(details: str, hint: str, permanent: bool) -> None:
    assert hint in (tls_failure_hint(details) or "")
    assert certificate_rejected(details) is permanent
    error = error_from_status(
        grpc.StatusCode.UNAVAILABLE, details, endpoint="127.0.0.1:2379", action="range b'k'"
    )
    assert type(error) is TLSHandshakeError and isinstance(error, ConnectionFailedError)
    assert str(error).startswith("TLS handshake with etcd at 127.0.0.1:2379 failed: ")
    assert hint in str(error) and "range b'k'" in str(error)
    # a refused certificate stays refused: neither reads nor writes retry it
    for rpc in ("KV/Range", "KV/Put"):
        assert should_retry(rpc, grpc.StatusCode.UNAVAILABLE, details) is not permanent


def test_other_connection_failures_are_not_tls() -> None:
    assert tls_failure_hint(REFUSED) is None and not certificate_rejected(REFUSED)
    error = error_from_status(
        grpc.StatusCode.UNAVAILABLE, REFUSED, endpoint="127.0.0.1:2379", action="range b'k'"
    )
    assert type(error) is ConnectionFailedError
    assert should_retry("KV/Range", grpc.StatusCode.UNAVAILABLE, REFUSED)
