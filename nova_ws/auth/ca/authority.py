"""The certificate authority: its files, and the certificates and CRLs it signs.

:class:`CertificateAuthority` holds the CA certificate and key in memory and
signs three kinds of leaf certificate, each with a fresh EC P-256 key:

- server certificates (``serverAuth``; subjectAltName for host names and IP
  addresses), for the router, the API, the proxies and guests' VNC;
- service certificates (``clientAuth``; ``CN=<authid>, OU=<role>``): the
  router's TLS authenticator takes the authid from the CN and the role from
  the OU;
- user certificates (``clientAuth``; ``CN=<user_id>, O=<project_id>``, no
  OU), as Nova's os-certificates API issued them. With no OU they name no
  role, so the router never lets one join as a service.

It also signs CRLs. :func:`load_or_create` reads an operator's CA or makes a
new self-signed one the first time (the key file mode 0600). This module
reads and writes files: call it while a service is being built, from the
command line, or for small files only.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from nova_ws.config import CaSection

Clock = Callable[[], datetime.datetime]
SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
#: Leaf certificates start this much before "now", for hosts whose clocks lag.
BACKDATE = datetime.timedelta(minutes=5)
_COMPONENT = re.compile(r"[^\s.#]{1,64}")


def utcnow() -> datetime.datetime:
    """The current time, timezone-aware UTC."""
    return datetime.datetime.now(datetime.UTC)


class CaError(ValueError):
    """The CA's files are missing, unreadable or do not belong together."""


@dataclass(frozen=True)
class CaPaths:
    """Where the CA keeps its certificate, key, CRL and the keys it writes out."""

    cert: Path
    key: Path
    crl: Path
    keys: Path

    @classmethod
    def from_config(cls, ca: CaSection, state_path: str = ".") -> CaPaths:
        """The paths ``[ca]`` names, relative ones resolved as the section says."""
        base = Path(state_path) / ca.ca_path
        return cls(base / ca.ca_file, base / ca.key_file, base / ca.crl_file,
                   base / ca.keys_path)


@dataclass(frozen=True)
class Issued:
    """A certificate just signed and its private key (PEM, to hand out once).

    ``chain`` is the CA's certificate chain, for files that carry it.
    """

    cert: x509.Certificate
    key_pem: bytes
    chain: tuple[x509.Certificate, ...] = ()

    def __repr__(self) -> str:  # never print a key
        return f"Issued({self.subject!r}, serial={self.serial})"

    @property
    def serial(self) -> str:
        """The serial number in lower-case hex, as the database keeps it."""
        return format(self.cert.serial_number, "x")

    @property
    def subject(self) -> str:
        """The subject, RFC 4514."""
        return self.cert.subject.rfc4514_string()

    @property
    def not_after(self) -> datetime.datetime:
        """When it expires (UTC)."""
        return self.cert.not_valid_after_utc

    @property
    def cert_pem(self) -> bytes:
        """The certificate alone, PEM."""
        return self.cert.public_bytes(serialization.Encoding.PEM)


class CertificateAuthority:
    """Signs certificates and CRLs with one CA key; ``now`` is its clock."""

    def __init__(self, cert: x509.Certificate, key: SigningKey,
                 chain: Sequence[x509.Certificate] = (), now: Clock = utcnow) -> None:
        if not _is_ca(cert):
            raise CaError(f"{cert.subject.rfc4514_string()} is not a CA certificate")
        if _spki(cert.public_key()) != _spki(key.public_key()):
            raise CaError("the CA key does not belong to the CA certificate")
        self.cert = cert
        self._key = key
        self.chain = (cert, *chain)
        self.now = now

    @property
    def cert_pem(self) -> bytes:
        """The CA certificate (and its issuers', for an intermediate), PEM."""
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.chain)

    def with_clock(self, now: Clock) -> CertificateAuthority:
        """The same authority with another clock (for certificates dated elsewhere)."""
        return CertificateAuthority(self.cert, self._key, self.chain[1:], now)

    def issue_server(self, name: str, sans: Iterable[str] = (), days: int = 365) -> Issued:
        """A server certificate for *name*; *name* and every SAN entry go in its SAN.

        Entries that parse as IP addresses become IP SANs, the others DNS names.
        """
        names = list(dict.fromkeys([name, *sans]))
        return self._issue(_name(CN=name), ExtendedKeyUsageOID.SERVER_AUTH, days, names)

    def issue_service(self, authid: str, role: str, days: int = 365) -> Issued:
        """A client certificate a service or host joins the router with."""
        _check_component("authid", authid)
        _check_component("role", role)
        return self._issue(_name(CN=authid, OU=role), ExtendedKeyUsageOID.CLIENT_AUTH, days)

    def issue_user(self, user_id: str, project_id: str, days: int = 365) -> Issued:
        """A user's certificate (os-certificates): no OU, so no router role."""
        return self._issue(_name(CN=user_id, O=project_id), ExtendedKeyUsageOID.CLIENT_AUTH,
                           days)

    def crl(self, revoked: Iterable[tuple[str, datetime.datetime]],
            days: int = 7) -> x509.CertificateRevocationList:
        """A CRL naming *revoked* ``(serial hex, revoked at)``, valid *days*."""
        now = self.now()
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.cert.subject)
            .last_update(now)
            .next_update(now + datetime.timedelta(days=days))
            .add_extension(x509.CRLNumber(int(now.timestamp() * 1000)), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self._key.public_key()), critical=False)
        )
        for serial, when in revoked:
            entry = (x509.RevokedCertificateBuilder().serial_number(int(serial, 16))
                     .revocation_date(_aware(when)).build())
            builder = builder.add_revoked_certificate(entry)
        return builder.sign(self._key, hashes.SHA256())

    def _issue(self, subject: x509.Name, usage: x509.ObjectIdentifier, days: int,
               sans: Sequence[str] = ()) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        now = self.now()
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=True, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self._key.public_key()), critical=False)
        )
        if sans:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([_general_name(s) for s in sans]), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        key_pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        return Issued(cert, key_pem, self.chain)


def create(paths: CaPaths, common_name: str, days: int = 3650,
           now: Clock = utcnow) -> CertificateAuthority:
    """Make a self-signed CA and write its certificate and key (mode 0600).

    Raises CaError when either file already exists.
    """
    for path in (paths.cert, paths.key):
        if path.exists():
            raise CaError(f"{path} exists: not overwriting a CA")
    key = ec.generate_private_key(ec.SECP384R1())
    name = _name(CN=common_name)
    start = now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - BACKDATE)
        .not_valid_after(start + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(paths.key, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    write_public(paths.cert, cert.public_bytes(serialization.Encoding.PEM))
    return CertificateAuthority(cert, key, now=now)


def load(paths: CaPaths, now: Clock = utcnow) -> CertificateAuthority:
    """Read a CA: its certificate file (its issuers' may follow) and unencrypted key.

    Raises CaError when a file is missing or unreadable, the key is not the
    certificate's, or the certificate is not a CA's.
    """
    try:
        certs = x509.load_pem_x509_certificates(paths.cert.read_bytes())
        key = serialization.load_pem_private_key(paths.key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as e:
        raise CaError(f"cannot read the CA ({paths.cert}, {paths.key}): {e}") from e
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise CaError(f"{paths.key}: only RSA and EC CA keys are supported")
    return CertificateAuthority(certs[0], key, certs[1:], now)


def load_or_create(paths: CaPaths, common_name: str, days: int = 3650,
                   now: Clock = utcnow) -> tuple[CertificateAuthority, bool]:
    """The CA at *paths*, made first if neither file exists; True when it was made."""
    if not paths.cert.exists() and not paths.key.exists():
        return create(paths, common_name, days, now), True
    return load(paths, now), False


def write_private(path: Path, data: bytes) -> None:
    """Write *data* to *path* atomically with mode 0600 (its directory 0700 if new)."""
    _write(path, data, 0o600, 0o700)


def write_public(path: Path, data: bytes) -> None:
    """Write *data* to *path* atomically with mode 0644."""
    _write(path, data, 0o644, 0o755)


def write_issued(directory: Path, stem: str, issued: Issued) -> tuple[Path, Path]:
    """Write ``<stem>-cert.pem`` (certificate, then the CA chain) and ``<stem>-key.pem``.

    The key file has mode 0600. Returns the two paths.
    """
    cert_file, key_file = directory / f"{stem}-cert.pem", directory / f"{stem}-key.pem"
    write_private(key_file, issued.key_pem)
    write_public(cert_file, issued.cert_pem + b"".join(
        c.public_bytes(serialization.Encoding.PEM) for c in issued.chain))
    return cert_file, key_file


def write_crl(path: Path, crl: x509.CertificateRevocationList) -> None:
    """Replace the CRL file atomically, so a reader never sees half of one."""
    write_public(path, crl.public_bytes(serialization.Encoding.PEM))


def _write(path: Path, data: bytes, mode: int, dir_mode: int) -> None:
    path.parent.mkdir(mode=dir_mode, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, path)


def _name(**attributes: str) -> x509.Name:
    oids = {"CN": NameOID.COMMON_NAME, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
            "O": NameOID.ORGANIZATION_NAME}
    return x509.Name([x509.NameAttribute(oids[k], v) for k, v in attributes.items()])


def _check_component(what: str, value: str) -> None:
    """The router fills ``{authid}`` only with one URI component (no dot, space or #)."""
    if not _COMPONENT.fullmatch(value):
        raise ValueError(f"{what} {value!r} must be one URI component of 1-64 characters "
                         "(no dot, space or '#')")


def _general_name(entry: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(entry))
    except ValueError:
        return x509.DNSName(entry)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _spki(public_key: object) -> bytes:
    return public_key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _aware(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)
