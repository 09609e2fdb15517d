"""Throwaway x509 authorities and certificates for tests, written as PEM files.

``make_ca("Test CA", tmp_path)`` makes a self-signed authority (or one signed
by ``parent``, for an intermediate); ``issue_cert(ca, "compute-1",
ou="compute")`` issues a client certificate (``server=True`` for a server
one, with ``san=["localhost", "127.0.0.1"]``). Keys are EC P-256, which is
quick to generate. Every result carries the cryptography objects and the
paths of its ``.crt`` and ``.key`` files. Not for production: the keys are
written unencrypted and the certificates live one day.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class IssuedCert:
    """A certificate, its private key and the PEM files holding them.

    ``cert_file`` holds the certificate, followed by its issuers' when it was
    issued with ``chain=True``; ``key_file`` holds the key (PKCS#8).
    """

    cn: str
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    cert_file: Path
    key_file: Path

    @property
    def cert_pem(self) -> bytes:
        """The certificate alone, PEM."""
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        """The private key, unencrypted PKCS#8 PEM."""
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


@dataclass(frozen=True)
class CertAuthority(IssuedCert):
    """A certificate authority whose issued files go to ``directory``.

    ``chain`` is this authority's certificate followed by its parents', up to
    the root.
    """

    directory: Path
    chain: tuple[x509.Certificate, ...]


def make_ca(cn: str, directory: str | Path, parent: CertAuthority | None = None) -> CertAuthority:
    """Make an authority named *cn*, self-signed or (with *parent*) an intermediate."""
    directory = Path(directory)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (
        _base(name, key, parent)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    cert = _sign(builder, key, parent)
    chain = (cert, *(parent.chain if parent else ()))
    cert_file, key_file = _write(directory, cn, chain, key)
    return CertAuthority(cn, cert, key, cert_file, key_file, directory, chain)


def issue_cert(
    ca: CertAuthority,
    cn: str,
    ou: str | None = None,
    server: bool = False,
    san: Sequence[str] = (),
    chain: bool = False,
) -> IssuedCert:
    """Issue a leaf certificate for *cn* (and *ou*) signed by *ca*.

    *server* chooses the extended key usage (serverAuth or clientAuth);
    *san* entries that parse as IP addresses become IP SANs, the others DNS
    names. With *chain*, the certificate file also holds *ca*'s chain.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if ou is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        _base(x509.Name(attributes), key, ca)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if san:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_general_name(entry) for entry in san]), critical=False
        )
    cert = _sign(builder, key, ca)
    certs = (cert, *(ca.chain if chain else ()))
    cert_file, key_file = _write(ca.directory, cn, certs, key)
    return IssuedCert(cn, cert, key, cert_file, key_file)


def _base(
    subject: x509.Name, key: ec.EllipticCurvePrivateKey, issuer: CertAuthority | None
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    return builder


def _sign(
    builder: x509.CertificateBuilder,
    key: ec.EllipticCurvePrivateKey,
    issuer: CertAuthority | None,
) -> x509.Certificate:
    return builder.sign(issuer.key if issuer else key, hashes.SHA256())


def _general_name(entry: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(entry))
    except ValueError:
        return x509.DNSName(entry)


def _write(
    directory: Path,
    cn: str,
    certs: Sequence[x509.Certificate],
    key: ec.EllipticCurvePrivateKey,
) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", cn) or "cert"
    candidate, counter = stem, 1
    while (directory / f"{candidate}.crt").exists():
        counter += 1
        candidate = f"{stem}-{counter}"
    cert_file, key_file = directory / f"{candidate}.crt", directory / f"{candidate}.key"
    cert_file.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file
