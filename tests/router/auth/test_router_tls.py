"""Tests for the router's TLS options and transport info, over real TLS on 127.0.0.1."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from cryptography.hazmat.primitives import hashes
from OpenSSL import SSL
from twisted.internet import defer, protocol, ssl
from twisted.internet.address import UNIXAddress
from twisted.internet.endpoints import SSL4ServerEndpoint, TCP4ClientEndpoint, wrapClientTLS
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from nova_ws.router.auth.interfaces import Accept, HelloInfo, TransportInfo
from nova_ws.router.auth.tls import TlsAuthenticator
from nova_ws.router.tls import peer_cert_info, server_tls_options, transport_info
from nova_ws.testing.certs import CertAuthority, IssuedCert, issue_cert, make_ca

TIMEOUT = 30  # a guard against hanging, never reached when things work


@dataclass(frozen=True)
class Pki:
    ca: CertAuthority
    server: IssuedCert
    client: IssuedCert
    foreign_client: IssuedCert


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    ca = make_ca("Nova Test CA", tmp_path / "ca")
    foreign = make_ca("Foreign CA", tmp_path / "foreign")
    return Pki(
        ca=ca,
        server=issue_cert(ca, "localhost", server=True, san=["localhost", "127.0.0.1"]),
        client=issue_cert(ca, "compute-1", ou="compute"),
        foreign_client=issue_cert(foreign, "compute-1", ou="compute"),
    )


class ServerRecord:
    """What each server-side connection saw and why it ended."""

    def __init__(self) -> None:
        self.seen: list[TransportInfo] = []
        self.reasons: list[Failure] = []
        self.lost: defer.Deferred[None] = defer.Deferred()


class Reporter(protocol.Protocol):
    """On the first bytes, answers with the server's view of the connection as JSON."""

    def __init__(self, record: ServerRecord) -> None:
        self.record = record

    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        info = transport_info(self.transport)
        self.record.seen.append(info)
        self.transport.write(json.dumps(info.peer_cert).encode() + b"\n")

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self.record.reasons.append(reason)
        self.record.lost.callback(None)


class Asker(protocol.Protocol):
    """Says hello once connected, keeps the JSON line it gets back, fires ``lost`` at the end."""

    def __init__(self) -> None:
        self.buffer = b""
        self.answers: list[Any] = []
        self.lost: defer.Deferred[None] = defer.Deferred()
        self.reason: Failure | None = None

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(b"hello\n")

    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        if b"\n" in self.buffer and not self.answers:
            self.answers.append(json.loads(self.buffer.split(b"\n")[0]))
            self.transport.loseConnection()

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self.reason = reason
        self.lost.callback(None)


async def exchange(
    options: Any, ca: CertAuthority, client: IssuedCert | None
) -> tuple[Asker, ServerRecord]:
    """Serve *options* on 127.0.0.1:0, connect a TLS client, and run until both ends close."""
    from twisted.internet import reactor

    server = ServerRecord()
    port = await SSL4ServerEndpoint(reactor, 0, options, interface="127.0.0.1").listen(
        protocol.Factory.forProtocol(lambda: Reporter(server))
    )
    try:
        extra = {"privateKey": client.key, "certificate": client.cert} if client else {}
        client_options = ssl.optionsForClientTLS(
            "localhost",
            trustRoot=ssl.Certificate.loadPEM(ca.cert_pem),
            extraCertificateOptions=extra,
        )
        endpoint = wrapClientTLS(
            client_options, TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
        )
        asker = await endpoint.connect(protocol.Factory.forProtocol(Asker))
        assert isinstance(asker, Asker)
        await asker.lost.addTimeout(TIMEOUT, reactor)
        await server.lost.addTimeout(TIMEOUT, reactor)
    finally:
        await port.stopListening()
    return asker, server


@pytest_twisted.ensureDeferred
async def test_good_client_certificate_is_reported(pki: Pki) -> None:
    """When the client presents a certificate from the CA, the server sees its CN and OU."""
    options = server_tls_options(
        str(pki.server.cert_file), str(pki.server.key_file), str(pki.ca.cert_file)
    )
    asker, server = await exchange(options, pki.ca, pki.client)
    assert len(asker.answers) == 1, asker.reason
    reported = asker.answers[0]
    assert reported == {
        "subject": {"CN": "compute-1", "OU": "compute"},
        "issuer": {"CN": "Nova Test CA"},
        "serial": pki.client.cert.serial_number,
        "sha256": pki.client.cert.fingerprint(hashes.SHA256()).hex(),
    }
    (info,) = server.seen
    assert info.is_secure and info.peer.startswith("tcp4:127.0.0.1:")
    result = TlsAuthenticator().hello(HelloInfo("nova", None, None, {}, 1, info))
    assert isinstance(result, Accept)
    assert (result.authid, result.authrole) == ("compute-1", "compute")


@pytest_twisted.ensureDeferred
async def test_no_client_certificate_still_connects(pki: Pki) -> None:
    """When the client presents no certificate, it connects and peer_cert is None."""
    options = server_tls_options(
        str(pki.server.cert_file), str(pki.server.key_file), str(pki.ca.cert_file)
    )
    asker, server = await exchange(options, pki.ca, None)
    assert asker.answers == [None], asker.reason
    (info,) = server.seen
    assert info.is_secure and info.peer_cert is None


@pytest_twisted.ensureDeferred
async def test_foreign_client_certificate_fails_the_handshake(pki: Pki) -> None:
    """When the client's certificate is from another CA, the handshake fails on both ends."""
    options = server_tls_options(
        str(pki.server.cert_file), str(pki.server.key_file), str(pki.ca.cert_file)
    )
    asker, server = await exchange(options, pki.ca, pki.foreign_client)
    assert asker.answers == []
    assert server.seen == []
    (server_reason,) = server.reasons
    assert server_reason.check(SSL.Error), server_reason
    assert "certificate verify failed" in str(server_reason.value)
    assert asker.reason is not None and asker.reason.check(SSL.Error), asker.reason


@pytest_twisted.ensureDeferred
async def test_without_ca_file_no_certificate_is_asked(pki: Pki) -> None:
    """When no CA file is given, a client certificate is not asked for and peer_cert is None."""
    options = server_tls_options(str(pki.server.cert_file), str(pki.server.key_file))
    asker, _ = await exchange(options, pki.ca, pki.foreign_client)
    assert asker.answers == [None], asker.reason


@pytest_twisted.ensureDeferred
async def test_certificate_file_with_chain(pki: Pki, tmp_path: Path) -> None:
    """When the server's file holds its certificate and an intermediate, root-only clients pass."""
    intermediate = make_ca("Nova Intermediate", tmp_path / "intermediate", parent=pki.ca)
    server = issue_cert(intermediate, "localhost", server=True, san=["localhost"], chain=True)
    options = server_tls_options(str(server.cert_file), str(server.key_file), str(pki.ca.cert_file))
    asker, _ = await exchange(options, pki.ca, pki.client)
    assert len(asker.answers) == 1, asker.reason
    assert asker.answers[0]["subject"] == {"CN": "compute-1", "OU": "compute"}


def test_plain_transport_has_no_certificate() -> None:
    """When the transport is not TLS, it is not secure and has no peer certificate."""
    transport = StringTransport()
    assert peer_cert_info(transport) is None
    assert transport_info(transport) == TransportInfo("tcp4:192.168.1.1:54321", False, None)


def test_unix_transport_peer() -> None:
    """When the transport is a Unix socket, the peer is written unix:<path>."""
    transport = StringTransport(peerAddress=UNIXAddress("/run/nova/router.sock"))
    assert transport_info(transport).peer == "unix:/run/nova/router.sock"


def test_key_not_matching_certificate_refused(pki: Pki) -> None:
    """When the key file holds another certificate's key, building the options fails clearly."""
    with pytest.raises(ValueError, match="does not hold the key"):
        server_tls_options(str(pki.server.cert_file), str(pki.client.key_file))


def test_file_without_certificate_refused(pki: Pki) -> None:
    """When the certificate file holds no PEM certificate, building the options fails clearly."""
    with pytest.raises(ValueError, match="no PEM certificate"):
        server_tls_options(str(pki.server.key_file), str(pki.server.key_file))


def test_file_without_key_refused(pki: Pki) -> None:
    """When the key file holds no private key, building the options fails clearly."""
    with pytest.raises(ValueError, match="no unencrypted PEM private key"):
        server_tls_options(str(pki.server.cert_file), str(pki.server.cert_file))
