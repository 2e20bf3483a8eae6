"""Client TLS: the configuration object, which endpoints mean TLS, and the channel settings.

The decision follows clientv3's endpoint rules (made once for the whole client, as Go makes
it once per balanced connection): ``https://`` endpoints require TLS, with the given
``TLSConfig`` or else a default one that trusts gRPC's root certificates; bare ``host:port``
endpoints use TLS only when a ``TLSConfig`` is given; ``http://`` endpoints are plaintext, so
combining one with ``tls=`` is refused rather than silently dropping the certificates.
The certificate files are read once, when the client is built; every channel reuses the bytes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, TypeAlias

import msgspec

from .endpoints import given_endpoints

__all__ = [
    "TLSConfig",
    "TLSMaterial",
    "certificate_rejected",
    "client_tls",
    "tls_failure_hint",
]

#: A file name as ``TLSConfig`` accepts it.
StrPath: TypeAlias = str | os.PathLike[str]

_CERT_MARKER = b"-----BEGIN CERTIFICATE-----"
_KEY_MARKER = b"PRIVATE KEY-----"


class TLSMaterial(msgspec.Struct, frozen=True):
    """The PEM bytes a TLS channel is built from (None: gRPC's roots / no client cert)."""

    root_certificates: bytes | None = None
    private_key: bytes | None = None
    certificate_chain: bytes | None = None
    server_name: str | None = None

    def channel_options(self) -> list[tuple[str, Any]]:
        """The gRPC channel arguments TLS adds: the name checked in the server's certificate."""
        if self.server_name is None:
            return []
        return [("grpc.ssl_target_name_override", self.server_name)]

    def __repr__(self) -> str:
        # Never show key bytes in a traceback or log.
        return f"TLSMaterial(server_name={self.server_name!r}, ...)"


class TLSConfig(msgspec.Struct, frozen=True):
    """TLS settings of a client: ``Client(endpoints, tls=TLSConfig(...))``.

    Attributes
    ----------
    ca_file : str or os.PathLike, optional
        PEM file of the certificate authorities that signed the server's certificate
        (etcd's ``--trusted-ca-file`` side). Without it gRPC's bundled root certificates are
        trusted (or those named by ``GRPC_DEFAULT_SSL_ROOTS_FILE_PATH``).
    cert_file, key_file : str or os.PathLike, optional
        The client certificate (PEM, may include the chain) and its unencrypted private key,
        for servers started with ``--client-cert-auth``. Both or neither.
    server_name : str, optional
        The name the server's certificate must carry, when it differs from the endpoint's host
        (gRPC's ``ssl_target_name_override``).

    Raises
    ------
    ValueError
        When only one of ``cert_file`` and ``key_file`` is given, or a file cannot be read or
        is not PEM of the expected kind; the message names the argument and the path.

    Examples
    --------
    >>> tls = TLSConfig(ca_file="ca.pem", cert_file="client.pem", key_file="client-key.pem")
    ... # doctest: +SKIP
    >>> client = Client("https://10.0.0.1:2379", tls=tls)  # doctest: +SKIP
    """

    ca_file: StrPath | None = None
    cert_file: StrPath | None = None
    key_file: StrPath | None = None
    server_name: str | None = None

    def __post_init__(self) -> None:
        if (self.cert_file is None) != (self.key_file is None):
            given, missing = (
                ("cert_file", "key_file") if self.key_file is None else ("key_file", "cert_file")
            )
            raise ValueError(
                f"TLSConfig: {given} is set but {missing} is not; a client certificate needs "
                "both cert_file and key_file"
            )
        if self.server_name is not None and not self.server_name:
            raise ValueError("TLSConfig: server_name is empty; pass a host name or None")
        self.load()

    def load(self) -> TLSMaterial:
        """Read the files (once per client) and return the bytes the channels are built from."""
        return TLSMaterial(
            root_certificates=_read_pem("ca_file", self.ca_file, _CERT_MARKER),
            private_key=_read_pem("key_file", self.key_file, _KEY_MARKER),
            certificate_chain=_read_pem("cert_file", self.cert_file, _CERT_MARKER),
            server_name=self.server_name,
        )


def _read_pem(argument: str, path: StrPath | None, marker: bytes) -> bytes | None:
    if path is None:
        return None
    name = os.fspath(path)
    try:
        with open(name, "rb") as file:
            data = file.read()
    except OSError as error:
        raise ValueError(
            f"TLSConfig: cannot read {argument} {name!r}: {error.strerror or error}"
        ) from error
    kind = "a certificate" if marker == _CERT_MARKER else "a private key"
    if marker not in data:
        raise ValueError(f"TLSConfig: {argument} {name!r} is not {kind} in PEM format")
    if marker == _KEY_MARKER and b"ENCRYPTED" in data:
        raise ValueError(
            f"TLSConfig: {argument} {name!r} is encrypted; gRPC needs an unencrypted key"
        )
    return data


def client_tls(
    endpoints: str | Sequence[str] | None, tls: TLSConfig | None
) -> TLSMaterial | None:
    """The TLS every channel of a client uses, or None for plaintext.

    ``endpoints`` is what the client was given (None: ``ETCDMAP_ENDPOINTS``). ``https://``
    endpoints require TLS (``tls``, else a default ``TLSConfig()``); ``http://`` ones are
    plaintext; bare ``host:port`` ones follow ``tls``.

    Raises
    ------
    ValueError
        For an ``http://`` endpoint together with ``tls``, or ``http://`` mixed with
        ``https://``; the message names the endpoint.
    """
    given = given_endpoints(endpoints)
    plain = [e for e in given if e.startswith("http://")]
    secure = [e for e in given if e.startswith("https://")]
    if plain and tls is not None:
        raise ValueError(
            f"endpoint {plain[0]!r} is http:// (plaintext) but tls= is given; "
            "use https:// or host:port for TLS endpoints"
        )
    if plain and secure:
        raise ValueError(
            f"endpoints mix http:// ({plain[0]!r}) and https:// "
            f"({secure[0]!r}); one client uses TLS for all its endpoints or for none"
        )
    if tls is None:
        return TLSMaterial() if secure else None
    return tls.load()


_WRONG_NAME = (
    "the server's certificate does not name this host; set TLSConfig(server_name=...) to a "
    "name it carries"
)
#: gRPC's words for a failed TLS handshake -> (what to check, whether retrying is futile).
#: A refused or unverifiable certificate stays refused; a handshake cut short may be a server
#: shutting down, so that one is left to the retry policy.
_TLS_FAILURES = [
    ("Hostname Verification", _WRONG_NAME, True),
    ("is not in peer certificate", _WRONG_NAME, True),  # grpcio 1.63's words for it
    ("CERTIFICATE_VERIFY_FAILED", "the server's certificate is not signed by a trusted CA; "
     "check TLSConfig(ca_file=...)", True),
    ("BAD_CERTIFICATE", "the server refused the client certificate; with --client-cert-auth "
     "it needs TLSConfig(cert_file=..., key_file=...) signed by its --trusted-ca-file", True),
    ("CERTIFICATE_REQUIRED", "the server requires a client certificate; set "
     "TLSConfig(cert_file=..., key_file=...)", True),
    ("UNKNOWN_CA", "the server does not trust the CA of the client certificate", True),
    # TLS 1.3 (etcd 3.4.23's Go): the server's refusal comes after the client's handshake,
    # as an alert where the first record is read.
    ("Unwrap failed", "the server ended TLS after the handshake, which is how TLS 1.3 refuses "
     "a missing or untrusted client certificate; with --client-cert-auth it needs "
     "TLSConfig(cert_file=..., key_file=...) signed by its --trusted-ca-file", True),
    ("Handshake read failed", "no TLS answer; does the server serve TLS on this port?", False),
    ("andshake failed", "check the certificates and that the server serves TLS", False),
]


def tls_failure_hint(details: str) -> str | None:
    """What a failed connection's gRPC ``details`` say about TLS, or None if not a TLS failure."""
    for marker, hint, _ in _TLS_FAILURES:
        if marker in details:
            return hint
    return None


def certificate_rejected(details: str) -> bool:
    """Whether ``details`` report a certificate one side refused (retrying cannot help)."""
    return any(permanent and marker in details for marker, _, permanent in _TLS_FAILURES)
