"""TLS for the router's listeners, and what a session learns from its transport.

:func:`server_tls_options` builds the server side: the router's certificate
(its file may carry the chain after it) and key, and, when a CA file is
given, an *optional* client certificate that must chain to that CA. A
client without a certificate still connects (it authenticates by ticket or
WAMP-CRA); a client whose certificate does not verify (another CA, expired,
or revoked by the CRL file, when one is given) fails the handshake. It
reads files, so call it while the service is being built, not from the
reactor.

:func:`peer_cert_info` and :func:`transport_info` turn a connected Twisted
transport into the :class:`~nova_ws.router.auth.interfaces.TransportInfo`
that authenticators see.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from autobahn.twisted.util import peer2str
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from OpenSSL import SSL, crypto
from twisted.internet import ssl
from twisted.internet.address import UNIXAddress
from twisted.internet.interfaces import IProcessTransport, ISSLTransport, ITransport

from nova_ws.router.auth.interfaces import TransportInfo


def server_tls_options(cert_file: str, key_file: str, ca_file: str = "",
                       crl_file: str = "") -> ssl.CertificateOptions:
    """Options for a TLS listener serving *cert_file* and *key_file* (PEM).

    The first certificate in *cert_file* is the router's; any others are
    sent as its chain. With *ca_file* (PEM, one or more authorities), the
    server asks for a client certificate, verifies it against those
    authorities and fails the handshake when it does not verify; a client
    that sends none is let through. With *crl_file* (PEM CRLs signed by
    those authorities; see :class:`nova_ws.crl.RevocationList`) a revoked
    client certificate fails the handshake too, the file being re-read
    whenever it changes. TLS 1.2 is the minimum.

    Raises ValueError when a file holds no certificate, no (unencrypted)
    key, or a key that does not match the certificate, when *crl_file* is
    given without *ca_file* or holds no CRL of those authorities; OSError
    when a file cannot be read.
    """
    if crl_file and not ca_file:
        raise ValueError("a CRL file needs the CA file its CRLs are checked against")
    certs = _load_certs(cert_file)
    try:
        key = serialization.load_pem_private_key(Path(key_file).read_bytes(), password=None)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{key_file} holds no unencrypted PEM private key: {e}") from e
    authorities = _load_certs(ca_file) if ca_file else []
    # pyOpenSSL takes cryptography objects for the certificate, key and chain (its
    # own are deprecated there); the trust store still wants its X509.
    options = ssl.CertificateOptions(
        privateKey=key,  # type: ignore[arg-type]
        certificate=certs[0],  # type: ignore[arg-type]
        extraCertChain=certs[1:],  # type: ignore[arg-type]
        # trustRoot= would force a client certificate; verify + caCerts keep it optional.
        verify=bool(authorities),
        caCerts=[crypto.X509.from_cryptography(c) for c in authorities] or None,
        requireCertificate=False,
        raiseMinimumTo=ssl.TLSVersion.TLSv1_2,
    )
    try:
        context = options.getContext()
    except SSL.Error as e:
        raise ValueError(f"{key_file} does not hold the key of {cert_file}: {e}") from e
    for authority in authorities:
        # Tell clients which authorities we accept, so they pick the right certificate.
        context.add_client_ca(authority)
    if crl_file:
        from nova_ws.crl import RevocationList, refuse_revoked

        refuse_revoked(context, RevocationList(crl_file, authorities))
    return options


def peer_cert_info(transport: object) -> Mapping[str, Any] | None:
    """The client certificate of a TLS *transport*, as ``TransportInfo.peer_cert``.

    None when *transport* is not TLS or the client sent no certificate.
    With :func:`server_tls_options` and a CA file, a certificate seen here
    has verified: one that does not fails the handshake first.
    """
    if not ISSLTransport.providedBy(transport):
        return None
    cert = transport.getPeerCertificate()
    if isinstance(cert, crypto.X509):
        cert = cert.to_cryptography()
    if not isinstance(cert, x509.Certificate):
        return None
    return {
        "subject": name_fields(cert.subject),
        "issuer": name_fields(cert.issuer),
        "serial": cert.serial_number,
        "sha256": cert.fingerprint(hashes.SHA256()).hex(),
    }


def transport_info(transport: object) -> TransportInfo:
    """What authenticators may know about *transport*: peer, TLS, client certificate.

    The peer is written the way Autobahn writes it: ``tcp4:127.0.0.1:5555``,
    ``tcp6:::1:5555``, ``unix:/path`` (or ``unix``), ``process:<pid>``,
    ``unknown``.
    """
    return TransportInfo(
        peer=_peer(transport),
        is_secure=ISSLTransport.providedBy(transport),
        peer_cert=peer_cert_info(transport),
    )


def name_fields(name: x509.Name) -> dict[str, str]:
    """A distinguished name as ``{"CN": ..., "OU": ..., "O": ...}``.

    Keys are the RFC 4514 short names (dotted OIDs for attributes that have
    none); when an attribute repeats, the first value wins.
    """
    fields: dict[str, str] = {}
    for attribute in name:
        value = attribute.value
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        fields.setdefault(attribute.rfc4514_attribute_name, value)
    return fields


def _peer(transport: object) -> str:
    """Autobahn's peer string, with Unix socket paths given as text, not bytes."""
    if ITransport.providedBy(transport) and not IProcessTransport.providedBy(transport):
        address = transport.getPeer()
        if isinstance(address, UNIXAddress):
            name = os.fsdecode(address.name) if address.name else ""
            return f"unix:{name}" if name else "unix"
    return peer2str(transport)  # type: ignore[arg-type]


def _load_certs(path: str) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(Path(path).read_bytes())
    except ValueError as e:
        raise ValueError(f"{path} holds no PEM certificate: {e}") from e
    return certs
