"""RFB security types: a table from type number to the handler that runs it.

After the client picks a security type (RFC 6143 section 7.1.2), the server
protocol builds that type's handler from ``SECURITY_TYPES`` and feeds it the
bytes the client sends until it returns an ``AuthResult``. A new type is one
more handler class and one more table entry; a handler gets the transport in
``begin`` so it can also start TLS there, as VeNCrypt (19) does.

VeNCrypt is served the way QEMU serves it with x509 credentials: version 0.2,
then the x509 subtypes only -- X509None, or X509Vnc (TLS, then VNC
authentication inside it) when there is a password -- each a TLS upgrade of
the connection with the server certificate of ``SecurityConfig.tls``
(``vencrypt_server_tls`` builds it, optionally demanding client certificates
signed by a given authority and not revoked by its CRL; ``vnc_server_tls``
builds it from a directory laid out as QEMU's ``vnc_tls_x509_cert_dir``).
"""

from __future__ import annotations

import hmac
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any, Protocol

from OpenSSL.crypto import X509
from twisted.internet.interfaces import ITransport
from twisted.internet.ssl import CertificateOptions

from nova_ws.console.rfb_security import (
    VeNCryptSubtype,
    load_pem_certificates,
    load_pem_private_key,
)
from nova_ws.console.vnc_des import vnc_auth_response, vnc_des_key

__all__ = [
    "SECURITY_TYPES",
    "AuthResult",
    "NoneSecurity",
    "SecurityConfig",
    "SecurityType",
    "VeNCryptSecurity",
    "VeNCryptSubtype",
    "VncAuthSecurity",
    "vencrypt_server_tls",
    "vnc_auth_response",
    "vnc_server_tls",
    "vnc_des_key",
]

RandomBytes = Callable[[int], bytes]

#: The VeNCrypt subtypes this server can run (both need ``SecurityConfig.tls``).
X509_SUBTYPES = (VeNCryptSubtype.X509_VNC, VeNCryptSubtype.X509_NONE)


class SecurityType(IntEnum):
    """Security type numbers from the RFB registry."""

    INVALID = 0
    NONE = 1
    VNC_AUTH = 2
    VENCRYPT = 19


@dataclass(frozen=True)
class AuthResult:
    """How a security exchange ended; ``reason`` goes to 3.8 clients on failure.

    ``send_result`` False: the exchange failed at a point where RFB sends no
    SecurityResult (a refused VeNCrypt version or subtype); just close.
    """

    ok: bool
    reason: str = ""
    send_result: bool = True


@dataclass(frozen=True)
class SecurityConfig:
    """What a server's security handlers need: the password, TLS and a random source.

    ``types`` fixes the offered security types in order of preference; by
    default it is VeNCrypt when ``tls`` is set (as QEMU does with x509
    credentials), else VNC authentication when there is a password, else
    None. ``tls`` is the server side of VeNCrypt's TLS (an
    ``IOpenSSLServerConnectionCreator``, see ``vencrypt_server_tls``);
    VeNCrypt is never offered without it. ``vencrypt_subtypes`` fixes the
    VeNCrypt subtypes offered; by default X509Vnc when there is a password,
    else X509None.
    """

    password: str | None = None
    random_bytes: RandomBytes = os.urandom
    types: tuple[int, ...] | None = None
    tls: Any = None
    vencrypt_subtypes: tuple[int, ...] | None = None

    def offered(self) -> tuple[int, ...]:
        """The security types to offer, most preferred first."""
        if self.types is not None:
            return tuple(
                t for t in self.types
                if t in SECURITY_TYPES and (t != SecurityType.VENCRYPT or self.tls is not None)
            )
        if self.tls is not None:
            return (SecurityType.VENCRYPT,)
        if self.password is not None:
            return (SecurityType.VNC_AUTH,)
        return (SecurityType.NONE,)

    def vencrypt_offered(self) -> tuple[int, ...]:
        """The VeNCrypt subtypes to offer, best first: x509 ones (X509Vnc needs a password)."""
        if self.vencrypt_subtypes is not None:
            return tuple(
                s for s in self.vencrypt_subtypes
                if s in X509_SUBTYPES and (s != VeNCryptSubtype.X509_VNC or self.password)
            )
        if self.password is not None:
            return (VeNCryptSubtype.X509_VNC,)
        return (VeNCryptSubtype.X509_NONE,)


class SecurityHandler(Protocol):
    """One client's run of one security type."""

    def begin(self, transport: ITransport) -> None:
        """Start the exchange: send what the server sends first, if anything."""

    def receive(self, buffer: bytearray) -> AuthResult | None:
        """Consume client bytes from the front of ``buffer``.

        Returns None while more bytes are needed; an ``AuthResult`` once the
        exchange is over. Bytes after the exchange stay in ``buffer``.
        """


class NoneSecurity:
    """Security type 1: nothing to exchange, always succeeds."""

    def __init__(self, config: SecurityConfig) -> None:
        self._config = config

    def begin(self, transport: ITransport) -> None:
        """Nothing is sent."""

    def receive(self, buffer: bytearray) -> AuthResult | None:
        """Succeeds at once without consuming anything."""
        return AuthResult(True)


class VncAuthSecurity:
    """Security type 2: DES challenge and response with the configured password."""

    CHALLENGE_SIZE = 16

    def __init__(self, config: SecurityConfig) -> None:
        if config.password is None:
            raise ValueError("VNC authentication needs a password")
        self._password = config.password
        self._challenge = config.random_bytes(self.CHALLENGE_SIZE)
        if len(self._challenge) != self.CHALLENGE_SIZE:
            raise ValueError("the random source gave a short challenge")

    def begin(self, transport: ITransport) -> None:
        """Send the 16-byte challenge."""
        transport.write(self._challenge)

    def receive(self, buffer: bytearray) -> AuthResult | None:
        """Check the 16-byte response against the password."""
        if len(buffer) < self.CHALLENGE_SIZE:
            return None
        response = bytes(buffer[: self.CHALLENGE_SIZE])
        del buffer[: self.CHALLENGE_SIZE]
        expected = vnc_auth_response(self._password, self._challenge)
        if hmac.compare_digest(response, expected):
            return AuthResult(True)
        return AuthResult(False, "Authentication failed: wrong password")


class VeNCryptSecurity:
    """Security type 19, version 0.2, x509 subtypes: TLS upgrade, then None or VNC auth.

    The exchange: the server sends its version (0.2); the client answers with
    the version it wants; the server acks (0) and lists its subtypes (u8
    count, u32 each); the client picks one; the server accepts (1) and both
    sides start TLS. X509Vnc then runs VNC authentication over TLS. A client
    certificate, when ``SecurityConfig.tls`` asks for one, is checked in the
    TLS handshake; a client that fails it is cut there.
    """

    VERSION = b"\x00\x02"

    def __init__(self, config: SecurityConfig) -> None:
        if config.tls is None:
            raise ValueError("VeNCrypt needs the server's TLS options")
        self._config = config
        self._subtypes = config.vencrypt_offered()
        self._transport: Any = None
        self._inner: SecurityHandler | None = None
        self._step: Callable[[bytearray], AuthResult | bool] = self._version
        self.subtype: int | None = None

    def begin(self, transport: ITransport) -> None:
        """Send the VeNCrypt version the server speaks."""
        self._transport = transport
        transport.write(self.VERSION)

    def receive(self, buffer: bytearray) -> AuthResult | None:
        """Run the VeNCrypt steps, then the inner VNC authentication if any."""
        while self._inner is None:
            outcome = self._step(buffer)
            if isinstance(outcome, AuthResult):
                return outcome
            if not outcome:
                return None
        return self._inner.receive(buffer)

    def _version(self, buffer: bytearray) -> AuthResult | bool:
        if len(buffer) < 2:
            return False
        wanted = bytes(buffer[:2])
        del buffer[:2]
        if wanted != self.VERSION:
            self._transport.write(b"\xff")
            return AuthResult(False, f"VeNCrypt version {wanted[0]}.{wanted[1]}", False)
        subtypes = b"".join(struct.pack("!I", subtype) for subtype in self._subtypes)
        self._transport.write(b"\x00" + bytes([len(self._subtypes)]) + subtypes)
        self._step = self._subtype
        return True

    def _subtype(self, buffer: bytearray) -> AuthResult | bool:
        if len(buffer) < 4:
            return False
        (chosen,) = struct.unpack("!I", bytes(buffer[:4]))
        del buffer[:4]
        if chosen not in self._subtypes:
            self._transport.write(b"\x00")
            return AuthResult(False, f"VeNCrypt subtype {chosen} was not offered", False)
        if buffer:
            return AuthResult(False, "client data before the TLS handshake", False)
        self.subtype = chosen
        self._transport.write(b"\x01")
        self._transport.startTLS(self._config.tls)
        if chosen == VeNCryptSubtype.X509_NONE:
            return AuthResult(True)
        inner = VncAuthSecurity(self._config)
        inner.begin(self._transport)
        self._inner = inner
        return True


def vencrypt_server_tls(
    cert_file: str | Path, key_file: str | Path, client_ca_file: str | Path | None = None,
    crl_file: str | Path | None = None,
) -> CertificateOptions:
    """The server side of VeNCrypt's TLS from PEM files.

    ``cert_file`` may hold the server certificate's chain after it; with
    ``client_ca_file`` every client must present a certificate that authority
    signed (QEMU's ``verify-peer=yes``), and with ``crl_file`` one that its
    CRL does not revoke (the file is re-read when it changes).
    """
    if crl_file is not None and client_ca_file is None:
        raise ValueError("a CRL needs the client CA it is checked against")
    certs = load_pem_certificates(cert_file)
    options: dict[str, Any] = {
        "privateKey": load_pem_private_key(key_file),
        "certificate": certs[0],
        "extraCertChain": certs[1:],
    }
    if client_ca_file is not None:
        authorities = [X509.from_cryptography(cert)
                       for cert in load_pem_certificates(client_ca_file)]
        options.update(verify=True, requireCertificate=True, caCerts=authorities)
    tls = CertificateOptions(**options)
    if crl_file is not None:
        from nova_ws.crl import RevocationList, refuse_revoked

        authorities_pem = load_pem_certificates(client_ca_file)  # type: ignore[arg-type]
        refuse_revoked(tls.getContext(), RevocationList(crl_file, authorities_pem))
    return tls


def vnc_server_tls(cert_dir: str | Path, verify: bool = False) -> CertificateOptions:
    """VeNCrypt's server TLS from a QEMU-style directory.

    ``server-cert.pem`` and ``server-key.pem`` are served; with ``verify``
    clients need a certificate from ``ca-cert.pem``, not revoked by
    ``ca-crl.pem`` when that file exists (QEMU's ``vnc_tls_x509_verify``).
    Raises ValueError or OSError when a file is missing or does not fit.
    """
    directory = Path(cert_dir)
    ca, crl = directory / "ca-cert.pem", directory / "ca-crl.pem"
    return vencrypt_server_tls(directory / "server-cert.pem", directory / "server-key.pem",
                               ca if verify else None,
                               crl if verify and crl.exists() else None)


HandlerFactory = Callable[[SecurityConfig], SecurityHandler]

#: Security type -> handler class.
SECURITY_TYPES: dict[int, HandlerFactory] = {
    SecurityType.NONE: NoneSecurity,
    SecurityType.VNC_AUTH: VncAuthSecurity,
    SecurityType.VENCRYPT: VeNCryptSecurity,
}

#: The types a 3.3 client can be told to use (the server picks for it).
RFB33_TYPES = frozenset({SecurityType.NONE, SecurityType.VNC_AUTH})
