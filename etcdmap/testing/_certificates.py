"""Throwaway certificates and the client-facing TLS of test etcd servers."""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._process import HOST, make_temp_dir

if TYPE_CHECKING:
    from .._core.tls import TLSConfig


@dataclass(frozen=True)
class ServerTLS:
    """Client-facing TLS of a test etcd server (peer traffic stays plaintext).

    Most tests get one from :meth:`Certificates.server_tls`.

    Parameters
    ----------
    cert_file, key_file : str
        The server's certificate and private key (``--cert-file``,
        ``--key-file``).
    ca_file : str
        The CA that signed the server's and the clients' certificates:
        ``--trusted-ca-file`` with ``client_cert_auth``, and what the harness
        (health checks, etcdctl) checks the server against.
    client_cert_auth : bool
        ``--client-cert-auth``: refuse clients without a certificate signed by
        ``ca_file``.
    client_cert_file, client_key_file : str, optional
        The certificate the harness itself presents to the server (required
        with ``client_cert_auth``).
    """

    cert_file: str
    key_file: str
    ca_file: str
    client_cert_auth: bool = False
    client_cert_file: str | None = None
    client_key_file: str | None = None

    def __post_init__(self) -> None:
        if self.client_cert_auth and not (self.client_cert_file and self.client_key_file):
            raise ValueError(
                "ServerTLS(client_cert_auth=True) needs client_cert_file and client_key_file: "
                "the harness's health checks and etcdctl must present a certificate too"
            )

    def etcd_args(self) -> list[str]:
        """The etcd flags serving clients with this TLS."""
        args = ["--cert-file", self.cert_file, "--key-file", self.key_file]
        if self.client_cert_auth:
            args += ["--trusted-ca-file", self.ca_file, "--client-cert-auth"]
        return args

    def etcdctl_args(self) -> list[str]:
        """The etcdctl flags for talking to a server with this TLS."""
        args = [f"--cacert={self.ca_file}"]
        if self.client_cert_file and self.client_key_file:
            args += [f"--cert={self.client_cert_file}", f"--key={self.client_key_file}"]
        return args


def health_opener(tls: ServerTLS | None) -> urllib.request.OpenerDirector:
    """An opener (no proxies) for a server's ``/health``; with `tls`, trusting its CA."""
    if tls is None:
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    context = ssl.create_default_context(cafile=tls.ca_file)
    if tls.client_cert_file and tls.client_key_file:
        context.load_cert_chain(tls.client_cert_file, tls.client_key_file)
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
    )


@dataclass(frozen=True)
class Certificates:
    """PEM files of a throwaway CA and of a server and a client certificate it signed.

    Made by :func:`generate_certificates`; the CA's own key is never written.

    Parameters
    ----------
    directory : str
        The directory holding the files.
    ca_file : str
        The CA's certificate.
    server_cert_file, server_key_file : str
        The server's certificate and private key.
    client_cert_file, client_key_file : str
        The client's certificate and private key.
    """

    directory: str
    ca_file: str
    server_cert_file: str
    server_key_file: str
    client_cert_file: str
    client_key_file: str

    def server_tls(self, *, client_cert_auth: bool = False) -> ServerTLS:
        """TLS for :class:`EtcdServer` / :class:`EtcdCluster` with these certificates."""
        return ServerTLS(
            cert_file=self.server_cert_file,
            key_file=self.server_key_file,
            ca_file=self.ca_file,
            client_cert_auth=client_cert_auth,
            client_cert_file=self.client_cert_file,
            client_key_file=self.client_key_file,
        )

    def client_tls(self, *, client_cert: bool = True, server_name: str | None = None) -> TLSConfig:
        """An ``etcdmap.TLSConfig`` trusting the CA, with the client certificate by default."""
        from .._core.tls import TLSConfig

        if not client_cert:
            return TLSConfig(ca_file=self.ca_file, server_name=server_name)
        return TLSConfig(
            ca_file=self.ca_file,
            cert_file=self.client_cert_file,
            key_file=self.client_key_file,
            server_name=server_name,
        )


def generate_certificates(
    directory: str | os.PathLike[str] | None = None,
    *,
    hosts: Sequence[str] = (HOST, "localhost"),
    valid_for: float = 86400.0,
) -> Certificates:
    """Create a throwaway CA, a server certificate and a client certificate (ECDSA P-256).

    Parameters
    ----------
    directory : str or os.PathLike, optional
        Where to write the PEM files (created if missing).  By default a new
        temporary directory, removed when the interpreter exits.
    hosts : sequence of str
        Names and IP addresses the server certificate is valid for.
    valid_for : float
        Lifetime of the certificates in seconds (they start a few minutes in
        the past, against clock skew).

    Returns
    -------
    Certificates
        The file paths; private keys are written with mode ``0600``.

    Raises
    ------
    ImportError
        If the ``cryptography`` package (in ``etcdmap[test]``) is missing.

    Examples
    --------
    >>> certs = generate_certificates()                              # doctest: +SKIP
    >>> with EtcdServer(tls=certs.server_tls(client_cert_auth=True)) as srv:
    ...     client = etcdmap.Client(srv.endpoints, tls=certs.client_tls())
    """
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError as error:
        raise ImportError(
            "generate_certificates needs the 'cryptography' package: pip install cryptography "
            '(or pip install "etcdmap[test]")'
        ) from error
    target = make_temp_dir("etcdmap-tls-") if directory is None else os.fspath(directory)
    os.makedirs(target, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(seconds=valid_for)
    tag = uuid.uuid4().hex[:8]

    def name(common_name: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    def usage(*, cert_sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(
            digital_signature=not cert_sign, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign,
            crl_sign=cert_sign, encipher_only=False, decipher_only=False,
        )  # fmt: skip

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(name(f"etcdmap test CA {tag}"))
        .issuer_name(name(f"etcdmap test CA {tag}"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )

    def issue(
        common_name: str, purposes: list[x509.ObjectIdentifier], sans: list[x509.GeneralName]
    ) -> tuple[bytes, bytes]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(common_name))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage(cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage(purposes), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        pem_key = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return cert.public_bytes(serialization.Encoding.PEM), pem_key

    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    # etcd's gRPC gateway dials the server with the server's own certificate: clientAuth too.
    server = issue(
        "etcdmap test server",
        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
        sans,
    )
    client = issue("etcdmap-test-client", [ExtendedKeyUsageOID.CLIENT_AUTH], [])
    paths = {
        "ca.pem": (ca_cert.public_bytes(serialization.Encoding.PEM), False),
        "server.pem": (server[0], False),
        "server-key.pem": (server[1], True),
        "client.pem": (client[0], False),
        "client-key.pem": (client[1], True),
    }
    for file_name, (data, private) in paths.items():
        path = os.path.join(target, file_name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
    return Certificates(
        directory=target,
        ca_file=os.path.join(target, "ca.pem"),
        server_cert_file=os.path.join(target, "server.pem"),
        server_key_file=os.path.join(target, "server-key.pem"),
        client_cert_file=os.path.join(target, "client.pem"),
        client_key_file=os.path.join(target, "client-key.pem"),
    )
