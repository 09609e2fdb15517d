"""The all-in-one with ``[ca] secure_bus = true``: TLS everywhere, certificates as identities.

Every service joins the router over TLS with its client certificate from
the all-in-one's CA (authid and role from the certificate); a user logs in
over https, boots a server and opens its console through the proxy over wss,
the proxy reaching the fake guest's VNC with VeNCrypt x509; os-certificates
answers from nova-cert; and once the admin revokes a service's certificate,
its live session ends and it cannot connect again.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import pytest_twisted
from autobahn.twisted.websocket import WebSocketClientFactory
from cryptography import x509
from OpenSSL import SSL
from treq.client import HTTPClient
from twisted.internet import ssl
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, wrapClientTLS
from twisted.web.client import Agent, BrowserLikePolicyForHTTPS

from nova_ws.allinone.secure import Layout
from nova_ws.auth.ca import rpcapi
from nova_ws.compute.drivers.fake.rfb.security import SecurityType
from nova_ws.db.queries import certificates
from nova_ws.testing.allinone import AllInOne, start_allinone
from nova_ws.testing.wamp import join
from tests.console.support import Browser, until

pytestmark = pytest.mark.integration

SERVICES = {"nova-api": ("nova-api", "api"), "nova-conductor": ("nova-conductor", "conductor"),
            "nova-scheduler": ("nova-scheduler", "scheduler"), "nova-compute": ("aio", "compute"),
            "nova-consoleauth": ("nova-consoleauth", "consoleauth"),
            "nova-novncproxy": ("nova-novncproxy", "console"), "nova-cert": ("nova-cert", "cert")}


class Https:
    """The APIs over https, trusting only the all-in-one's CA."""

    def __init__(self, reactor: Any, aio: AllInOne, ca: ssl.Certificate) -> None:
        self.http = HTTPClient(Agent(reactor, BrowserLikePolicyForHTTPS(trustRoot=ca)))
        self.api = aio.api
        self.token = ""

    async def login(self, user: str, password: str, project: str) -> str:
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": "Default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}
        response = await self.http.post(f"{self.api}/identity/v3/auth/tokens",
                                        json.dumps(body).encode(),
                                        headers={"Content-Type": ["application/json"]})
        assert response.code == 201, await response.text()
        await response.content()
        self.token = str(response.headers.getRawHeaders("X-Subject-Token")[0])
        return self.token

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"X-Auth-Token": [self.token], "Content-Type": ["application/json"],
                   "OpenStack-API-Version": ["compute 2.37"]}
        data = json.dumps(body).encode() if body is not None else None
        response = await self.http.request(method, f"{self.api}{path}", data=data,
                                           headers=headers)
        text = await response.text()
        return response.code, (json.loads(text) if text else None)


async def _active_server(reactor: Any, api: Https) -> str:
    code, body = await api.request("GET", "/image/v2/images")
    image = body["images"][0]["id"]
    code, body = await api.request("POST", "/compute/v2.1/servers", {"server": {
        "name": "tls-vm", "flavorRef": "1", "imageRef": image, "networks": "none"}})
    assert code == 202, body
    uuid = str(body["server"]["id"])
    for _ in range(400):
        code, body = await api.request("GET", f"/compute/v2.1/servers/{uuid}")
        if body["server"]["status"] == "ACTIVE":
            return uuid
        assert body["server"]["status"] == "BUILD", body
        d: Deferred[None] = Deferred()
        reactor.callLater(0.05, d.callback, None)
        await d
    raise AssertionError("the server never became ACTIVE")


async def _open_wss(reactor: Any, url: str, ca: ssl.Certificate) -> Browser:
    """The console page's WebSocket, as the browser opens it from the console URL."""
    parts = urlsplit(url)
    assert parts.scheme == "https"
    token = parse_qs(parse_qs(parts.query)["path"][0].lstrip("?"))["token"][0]
    factory = WebSocketClientFactory(
        url=f"wss://127.0.0.1:{parts.port}/websockify?token={token}",
        origin=f"https://127.0.0.1:{parts.port}", protocols=["binary"])
    factory.protocol = Browser
    endpoint = wrapClientTLS(ssl.optionsForClientTLS("127.0.0.1", trustRoot=ca),
                             TCP4ClientEndpoint(reactor, "127.0.0.1", parts.port))
    browser: Any = await endpoint.connect(factory)
    await browser.opened
    return browser


def _client_tls(ca: ssl.Certificate, cert_file: str, key_file: str) -> Any:
    pem = Path(key_file).read_bytes() + Path(cert_file).read_bytes()
    return ssl.optionsForClientTLS("127.0.0.1", trustRoot=ca,
                                   clientCertificate=ssl.PrivateCertificate.loadPEM(pem))


@pytest_twisted.ensureDeferred
async def test_secure_bus_end_to_end(tmp_path: Path) -> None:
    """When the one switch is on, services join by certificate over TLS, a console works
    over https/wss and VeNCrypt, and a revoked service certificate is shut out."""
    from twisted.internet import reactor

    aio = start_allinone(tmp_path, secure=True)
    service = aio.service
    try:
        for name, (authid, role) in SERVICES.items():
            client = service.getServiceNamed(name).client
            await client.when_joined()
            session = client.session
            assert (session._authid, session._authrole, session._authmethod) == (
                authid, role, "tls"), name
        layout = Layout.of(aio.config)
        ca = ssl.Certificate.loadPEM(layout.ca.cert.read_bytes())
        router = service.getServiceNamed("nova-router")
        assert router.config.router.tls_crl_file == str(layout.ca.crl)

        api = Https(reactor, aio, ca)
        await api.login("demo", aio.credentials.demo_password, "demo")
        uuid = await _active_server(reactor, api)
        code, body = await api.request("POST", f"/compute/v2.1/servers/{uuid}/remote-consoles",
                                       {"remote_console": {"protocol": "vnc",
                                                           "type": "novnc"}})
        assert code == 200, body
        browser = await _open_wss(reactor, body["remote_console"]["url"], ca)
        assert await browser.read(reactor, 12) == b"RFB 003.008\n"
        browser.sendMessage(b"RFB 003.008\n", isBinary=True)
        assert await browser.read(reactor, 2) == b"\x01\x01"  # None, for the browser
        browser.sendMessage(b"\x01", isBinary=True)
        assert await browser.read(reactor, 4) == b"\0\0\0\0"
        browser.sendMessage(b"\x01", isBinary=True)
        width, height = struct.unpack("!HH", await browser.read(reactor, 4))
        console = service.getServiceNamed("nova-compute").driver.guests[uuid].console
        assert (width, height) == (console.framebuffer.width, console.framebuffer.height)
        (guest_side,) = console.factory.clients
        assert guest_side.security_type == SecurityType.VENCRYPT
        peer = guest_side.transport.getPeerCertificate().to_cryptography()
        assert peer.subject.rfc4514_string() == "OU=console,CN=nova-novncproxy"
        browser.sendClose()
        await browser.closed

        code, body = await api.request("GET", "/compute/v2.1/os-certificates/root")
        assert code == 200
        assert body["certificate"]["data"].encode() == layout.ca.cert.read_bytes()
        code, body = await api.request("POST", "/compute/v2.1/os-certificates")
        assert code == 200 and "PRIVATE KEY" in body["certificate"]["private_key"]
        user_cert = x509.load_pem_x509_certificate(body["certificate"]["data"].encode())
        assert user_cert.issuer.rfc4514_string() == "CN=nova_ws CA"

        # the admin revokes the compute host's certificate: it cannot connect again
        admin_token = await api.login("admin", aio.credentials.admin_password, "admin")
        admin = await join(reactor, router, authmethods=["ticket"], authid="admin",
                           ticket=admin_token, tls_options=ssl.optionsForClientTLS(
                               "127.0.0.1", trustRoot=ca))
        cert_file, key_file = layout.client("aio")
        compute_cert = x509.load_pem_x509_certificates(Path(cert_file).read_bytes())[0]
        again = await join(reactor, router, serializer="msgpack", authmethods=["tls"],
                           tls_options=_client_tls(ca, cert_file, key_file))
        assert again._authrole == "compute"
        again.leave()
        compute = service.getServiceNamed("nova-compute").client
        live = compute.session
        assert live is not None and live.is_attached()
        assert await admin.call(rpcapi.REVOKE, format(compute_cert.serial_number, "x"))
        await until(reactor, lambda: not live.is_attached())  # its live session ends too
        with pytest.raises((ConnectionError, SSL.Error)):
            await join(reactor, router, serializer="msgpack", authmethods=["tls"],
                       tls_options=_client_tls(ca, cert_file, key_file))
        # revoked behind nova-cert's back (as `nova-ws ca revoke` does): its sweep ends it
        scheduler = service.getServiceNamed("nova-scheduler").client.session
        cert = service.getServiceNamed("nova-cert")
        serial = format(x509.load_pem_x509_certificates(Path(layout.client(
            "nova-scheduler")[0]).read_bytes())[0].serial_number, "x")
        await cert.db.run(certificates.revoke_certificate, serial)
        assert await cert.manager.end_revoked_sessions() == 1
        await until(reactor, lambda: not scheduler.is_attached())
        admin.leave()
    finally:
        await service.stopService()
