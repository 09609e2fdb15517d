"""The router's TLS listeners refuse revoked, expired and foreign certificates.

Real sockets, real TLS handshakes, certificates and CRLs signed by our own
certificate authority; revocation takes effect at the next connection, by
rewriting the CRL file only, with no restart.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from OpenSSL import SSL
from twisted.internet import ssl

from nova_ws.auth.ca import authority
from nova_ws.auth.ca.authority import CertificateAuthority, Issued
from nova_ws.router.service import RouterService
from nova_ws.router.tls import server_tls_options
from nova_ws.testing.wamp import join, start_router


@dataclass
class Pki:
    """Our CA with its files, the router's server certificate, and a foreign CA."""

    ca: CertificateAuthority
    paths: authority.CaPaths
    server: tuple[Path, Path]
    foreign: CertificateAuthority


def _authority(directory: Path, name: str) -> tuple[CertificateAuthority, authority.CaPaths]:
    paths = authority.CaPaths(directory / "ca.pem", directory / "ca.key", directory / "crl.pem",
                              directory / "keys")
    return authority.create(paths, name), paths


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    """Our CA with an empty CRL, the router's certificate, and a foreign CA."""
    ca, paths = _authority(tmp_path / "ours", "Our CA")
    foreign, _ = _authority(tmp_path / "theirs", "Foreign CA")
    server = authority.write_issued(tmp_path / "router", "server",
                                    ca.issue_server("localhost", ["127.0.0.1"]))
    authority.write_crl(paths.crl, ca.crl([]))
    return Pki(ca, paths, server, foreign)


def _conf(pki: Pki) -> str:
    cert, key = pki.server
    return f"""
[router]
auth_methods = tls
tls_cert_file = {cert}
tls_key_file = {key}
tls_ca_file = {pki.paths.cert}
tls_crl_file = {pki.paths.crl}
"""


def _client(pki: Pki, issued: Issued) -> Any:
    return ssl.optionsForClientTLS(
        "localhost", trustRoot=ssl.Certificate.loadPEM(pki.ca.cert_pem),
        clientCertificate=ssl.PrivateCertificate.loadPEM(issued.key_pem + issued.cert_pem))


async def _join(router: RouterService, pki: Pki, issued: Issued,
                transport: str = "websocket") -> Any:
    from twisted.internet import reactor

    session = await join(reactor, router, transport=transport, serializer="msgpack",
                         authmethods=["tls"], tls_options=_client(pki, issued))
    session.leave()
    await session.left
    return session


async def _refused(router: RouterService, pki: Pki, issued: Issued,
                   transport: str = "websocket") -> None:
    with pytest.raises((ConnectionError, SSL.Error)):
        await _join(router, pki, issued, transport)


@pytest_twisted.ensureDeferred
async def test_revoked_certificate_cannot_connect(pki: Pki) -> None:
    """When a certificate is revoked in the CRL file, its next connection fails the
    handshake on every listener; others still join, with authid and role from theirs."""
    from twisted.internet import reactor

    good = pki.ca.issue_service("compute-1", "compute")
    doomed = pki.ca.issue_service("compute-2", "compute")
    router = await start_router(reactor, _conf(pki))
    try:
        joined = await _join(router, pki, doomed)
        assert (joined._authid, joined._authrole) == ("compute-2", "compute")
        authority.write_crl(pki.paths.crl, pki.ca.crl([(doomed.serial, pki.ca.now())]))
        for transport in ("websocket", "rawsocket"):
            await _refused(router, pki, doomed, transport)
            assert (await _join(router, pki, good, transport))._authid == "compute-1"
        # a CRL file that turns unreadable keeps the last good list
        pki.paths.crl.write_text("not a CRL")
        await _refused(router, pki, doomed)
        assert (await _join(router, pki, good))._authid == "compute-1"
        # a CRL signed by somebody else is not believed either
        authority.write_crl(pki.paths.crl, pki.foreign.crl([]))
        await _refused(router, pki, doomed)
    finally:
        await router.stopService()


@pytest_twisted.ensureDeferred
async def test_expired_and_foreign_certificates_cannot_connect(pki: Pki) -> None:
    """When a certificate has expired or comes from another CA, the handshake fails."""
    from twisted.internet import reactor

    year_ago = pki.ca.with_clock(lambda: pki.ca.now() - datetime.timedelta(days=365))
    expired = year_ago.issue_service("compute-1", "compute", days=30)
    foreign = pki.foreign.issue_service("compute-1", "compute")
    router = await start_router(reactor, _conf(pki))
    try:
        await _refused(router, pki, expired)
        await _refused(router, pki, foreign)
        good = pki.ca.issue_service("compute-1", "compute")
        assert (await _join(router, pki, good))._authrole == "compute"
    finally:
        await router.stopService()


def test_crl_must_come_from_the_trusted_ca(pki: Pki, tmp_path: Path) -> None:
    """When the CRL is not signed by the CA, or there is no CA file, the listener won't start."""
    cert, key = pki.server
    bad = tmp_path / "foreign-crl.pem"
    authority.write_crl(bad, pki.foreign.crl([]))
    with pytest.raises(ValueError, match="not signed by a trusted authority"):
        server_tls_options(str(cert), str(key), str(pki.paths.cert), str(bad))
    with pytest.raises(ValueError, match="needs the CA file"):
        server_tls_options(str(cert), str(key), "", str(pki.paths.crl))
    with pytest.raises(OSError):
        server_tls_options(str(cert), str(key), str(pki.paths.cert), str(tmp_path / "none"))
