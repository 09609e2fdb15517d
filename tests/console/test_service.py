"""A console proxy service as nova.conf builds it: pages and WebSocket over TLS only.

With ``[console] ssl_only`` and a certificate, the proxy's port speaks only
https and wss; the Origin must then be https; a browser's wss handshake gets
as far as the token check (no consoleauth here: 503, never a crash).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
import treq
from autobahn.twisted.websocket import WebSocketClientFactory
from twisted.internet.endpoints import SSL4ClientEndpoint
from twisted.internet.ssl import Certificate, optionsForClientTLS
from twisted.web._newclient import ResponseNeverReceived
from twisted.web.client import Agent, BrowserLikePolicyForHTTPS, ResponseFailed

from nova_ws.config import parse_config
from nova_ws.console.service import ConsoleProxyService
from nova_ws.testing.certs import issue_cert, make_ca
from nova_ws.testing.ports import free_port
from tests.console.support import Browser


class _Trust(BrowserLikePolicyForHTTPS):
    def __init__(self, ca: Any) -> None:
        super().__init__(trustRoot=ca)


@pytest_twisted.ensureDeferred
async def test_ssl_only_proxy(tmp_path: Path) -> None:
    """When ssl_only is set, pages and WebSocket are served over TLS and plain HTTP is not."""
    from twisted.internet import reactor

    ca = make_ca("test-ca", tmp_path)
    cert = issue_cert(ca, "localhost", server=True, san=["localhost", "127.0.0.1"])
    port = free_port()
    config = parse_config(f"""
[wamp]
url = ws://127.0.0.1:{free_port()}/ws
[vnc]
novncproxy_port = {port}
[console]
ssl_only = true
cert = {cert.cert_file}
key = {cert.key_file}
""", "<test>")
    service = ConsoleProxyService(config, reactor, "novnc")
    service.startService()
    trust = Certificate.loadPEM(ca.cert_pem)
    try:
        agent = Agent(reactor, contextFactory=_Trust(trust))
        response = await treq.get(f"https://127.0.0.1:{port}/vnc_lite.html", agent=agent)
        assert response.code == 200
        assert b'id="screen"' in await response.content()

        with pytest.raises((ResponseNeverReceived, ResponseFailed)):
            await treq.get(f"http://127.0.0.1:{port}/vnc_lite.html", timeout=5)

        factory = WebSocketClientFactory(url=f"wss://127.0.0.1:{port}/websockify?token=" + "t" * 43,
                                         origin=f"https://127.0.0.1:{port}",
                                         protocols=["binary"])
        factory.protocol = Browser
        endpoint = SSL4ClientEndpoint(reactor, "127.0.0.1", port,
                                      optionsForClientTLS("127.0.0.1", trust))
        browser: Any = await endpoint.connect(factory)
        with pytest.raises(ConnectionError, match="503|console authentication unavailable"):
            await browser.opened

        factory = WebSocketClientFactory(url=f"wss://127.0.0.1:{port}/websockify?token=x",
                                         origin=f"http://127.0.0.1:{port}",
                                         protocols=["binary"])
        factory.protocol = Browser
        browser = await SSL4ClientEndpoint(reactor, "127.0.0.1", port, optionsForClientTLS(
            "127.0.0.1", trust)).connect(factory)
        with pytest.raises(ConnectionError, match="403"):
            await browser.opened  # an http page may not open a wss console
    finally:
        await service.stopService()
