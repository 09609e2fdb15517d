"""A real VNC client, vncdotool's ``vncdo``, capturing a fake guest's screen through the proxy.

``vncdo`` speaks RFB over plain TCP, so the test puts a small bridge in front
of the proxy: each TCP connection to the bridge becomes a WebSocket session to
the proxy (Autobahn's client, with a fresh console token), bytes piped both
ways. The path is ``vncdo`` -> bridge -> WebSocket -> console proxy (RFB
security proxy) -> the guest's VNC server, which asks for a VNC password or
VeNCrypt x509 that ``vncdo`` never gets: it is offered security None.
``vncdo`` runs as a subprocess, so the test reactor keeps serving all of it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from PIL import Image
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.protocol import Protocol, ServerFactory, connectionDone
from twisted.internet.utils import getProcessOutputAndValue
from twisted.python.failure import Failure

from nova_ws.compute.drivers.fake.rfb import GuestConsole, vencrypt_server_tls
from nova_ws.console.rfb_security import RFBSecurityProxy, SecurityType, VeNCryptSubtype
from tests.console.rfb_support import Pki, SecureRig, make_rig
from tests.console.support import until

pytestmark = pytest.mark.integration

VNCDO = str(Path(sys.executable).with_name("vncdo"))
PASSWORD = "hunter2"


class _ToProxy(WebSocketClientProtocol):
    """The bridge's WebSocket to the proxy, paired with one TCP client."""

    tcp: _FromClient

    def onOpen(self) -> None:
        self.tcp.ws_opened(self)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        assert self.tcp.transport is not None
        self.tcp.transport.write(payload)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        self.tcp.ws_closed(code, reason)


class _FromClient(Protocol):
    """One TCP client of the bridge: its bytes go to the proxy as binary messages."""

    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge
        self.ws: _ToProxy | None = None
        self.pending: list[bytes] = []

    def connectionMade(self) -> None:
        from twisted.internet import reactor

        port = self.bridge.rig.port
        factory = WebSocketClientFactory(
            url=f"ws://127.0.0.1:{port}/websockify?token={self.bridge.token()}",
            origin=f"http://127.0.0.1:{port}", protocols=["binary"])
        factory.protocol = _ToProxy
        self.transport.pauseProducing()  # type: ignore[union-attr]  # until the WebSocket opens
        connecting = TCP4ClientEndpoint(reactor, "127.0.0.1", port).connect(factory)
        connecting.addCallbacks(self._paired, self._unreachable)

    def _unreachable(self, failure: Failure) -> None:
        if self.transport is not None:
            self.transport.loseConnection()

    def _paired(self, ws: _ToProxy) -> None:
        ws.tcp = self

    def ws_opened(self, ws: _ToProxy) -> None:
        self.ws = ws
        for data in self.pending:
            ws.sendMessage(data, isBinary=True)
        self.pending.clear()
        self.transport.resumeProducing()  # type: ignore[union-attr]

    def ws_closed(self, code: int | None, reason: str | None) -> None:
        self.bridge.closes.append((code, reason))
        if self.transport is not None:
            self.transport.loseConnection()

    def dataReceived(self, data: bytes) -> None:
        if self.ws is None:
            self.pending.append(data)
        else:
            self.ws.sendMessage(data, isBinary=True)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self.ws is not None and self.ws.state == self.ws.STATE_OPEN:
            self.ws.sendClose()


class Bridge(ServerFactory):
    """Listens on 127.0.0.1; every connection is a new console session through the proxy."""

    def __init__(self, rig: SecureRig, token: Callable[[], str]) -> None:
        self.rig = rig
        self.token = token
        self.closes: list[tuple[int | None, str | None]] = []

    def buildProtocol(self, addr: Any) -> _FromClient:
        return _FromClient(self)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """The guest's CA and certificates, and the proxy's client certificate."""
    return Pki.create(tmp_path_factory.mktemp("pki"))


@pytest_twisted.async_yield_fixture
async def through_proxy(pki: Pki) -> AsyncIterator[Any]:
    """``setup(console, vencrypt)``: a proxy to ``console`` and a bridge; returns (bridge, port)."""
    from twisted.internet import reactor

    cleanup: list[Any] = []

    def setup(console: GuestConsole, vencrypt: bool) -> tuple[Bridge, int, SecureRig]:
        rig = make_rig(reactor, pki.proxy_config("vencrypt", "vnc") if vencrypt else None)

        def token() -> str:
            issued, _ = rig.validator.issue_for(port=console.port, password=PASSWORD)
            return issued

        bridge = Bridge(rig, token)
        listening: Any = reactor.listenTCP(0, bridge, interface="127.0.0.1")
        cleanup.append((rig, listening, console))
        return bridge, listening.getHost().port, rig

    yield setup
    for rig, listening, console in cleanup:
        await listening.stopListening()
        await rig.stop()
        await console.stop()


async def vncdo(port: int, *args: str) -> tuple[str, int]:
    """Run ``vncdo`` (no password: the proxy offers None) against the bridge on ``port``."""
    from twisted.internet import reactor

    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    _, err, code = await getProcessOutputAndValue(
        VNCDO, ["-t", "60", "-s", f"127.0.0.1::{port}", *args], env=env, reactor=reactor)
    return err.decode(errors="replace"), code


@pytest.mark.parametrize("vencrypt", [False, True], ids=["vnc-password", "vencrypt-x509vnc"])
@pytest_twisted.ensureDeferred
async def test_vncdo_captures_the_guest_through_the_proxy(
        through_proxy: Any, pki: Pki, tmp_path: Path, vencrypt: bool) -> None:
    """When vncdo captures through the proxy, the PNG is the guest's framebuffer exactly."""
    from twisted.internet import reactor

    tls = vencrypt_server_tls(pki.server.cert_file, pki.server.key_file, pki.ca.cert_file) \
        if vencrypt else None
    console = GuestConsole("vncdo-guest", password=PASSWORD, width=320, height=128, tls=tls)
    console.log("Linux version 6.1.0 (fake)\nlogin: ")
    console.listen(reactor)
    bridge, port, rig = through_proxy(console, vencrypt)

    shot = tmp_path / "screen.png"
    err, code = await vncdo(port, "capture", str(shot))
    assert code == 0, err

    image = Image.open(shot).convert("RGB")
    assert image.size == (320, 128)
    assert image.tobytes() == console.framebuffer.rgb_bytes()
    assert len(image.getcolors(maxcolors=1 << 16) or ()) > 2  # a title bar and text
    # the proxy was in the path and did the guest's security for vncdo
    metrics = rig.factory.metrics
    await until(reactor, lambda: metrics.total_sessions == 1 and not rig.factory.sessions)
    assert metrics.bytes_to_browser >= 320 * 128 * 4
    (shim,) = rig.shims
    assert isinstance(shim, RFBSecurityProxy) and shim.piping
    if vencrypt:
        assert (shim.security_type, shim.vencrypt_subtype) == (
            SecurityType.VENCRYPT, VeNCryptSubtype.X509_VNC)
    else:
        assert shim.security_type == SecurityType.VNC_AUTH


@pytest_twisted.ensureDeferred
async def test_vncdo_typing_reaches_the_guest(through_proxy: Any, tmp_path: Path) -> None:
    """When vncdo types through the proxy, the keys reach the password-protected guest."""
    from twisted.internet import reactor

    console = GuestConsole("vncdo-typist", password=PASSWORD, width=320, height=128)
    console.listen(reactor)
    _, port, _ = through_proxy(console, False)
    shot = tmp_path / "typed.png"
    err, code = await vncdo(port, "type", "uptime", "key", "enter", "type", "w", "capture",
                            str(shot))
    assert code == 0, err  # the capture came after the keys, so they have all arrived
    assert "$ uptime" in console.text().splitlines()
    assert console.framebuffer.screen.input == "w"
    assert Image.open(shot).convert("RGB").tobytes() == console.framebuffer.rgb_bytes()
