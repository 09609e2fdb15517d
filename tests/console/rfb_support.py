"""Helpers for the RFB security proxy's tests: a proxy rig, an RFB browser, certificates, QEMU.

``SecureRig`` is a console proxy on 127.0.0.1:0 with a ``MemoryTokenValidator``
and a chosen shim factory; ``connect`` opens a browser session to it for a
target. ``RFBBrowser`` is a WebSocket client that keeps everything it was
sent (``transcript``), so a test can show what the browser never saw.
``Pki`` is a throwaway authority with the certificates the tests need.
``Qemu`` runs ``qemu-system-x86_64`` with no machine, only a VNC server.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.logger import ILogObserver, LogEvent, formatEvent, globalLogPublisher
from zope.interface import implementer

from nova_ws.console.interfaces import ConsoleTarget
from nova_ws.console.memory import MemoryTokenValidator
from nova_ws.console.proxy import ConsoleProxyFactory, ProxyConfig
from nova_ws.console.rfb_security import RFBSecurityConfig, RFBSecurityShims
from nova_ws.console.shims import ShimFactory, StreamShim, Write, shim_for
from nova_ws.testing.certs import CertAuthority, IssuedCert, issue_cert, make_ca
from tests.console.support import until

V38 = b"RFB 003.008\n"
BROWSER_REASON = b"console authentication to the guest failed"


class RFBBrowser(WebSocketClientProtocol):
    """A noVNC stand-in: reads what the proxy sends and keeps a transcript of all of it."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: Deferred[None] = Deferred()
        self.closed: Deferred[tuple[int | None, str | None]] = Deferred()
        self.received = bytearray()
        self.transcript = bytearray()

    def onOpen(self) -> None:
        self.opened.callback(None)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        assert isBinary
        self.received += payload
        self.transcript += payload

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        if not self.opened.called:
            self.opened.errback(ConnectionError(reason))
        self.closed.callback((code, reason))

    def send(self, data: bytes) -> None:
        """Bytes to the guest, as one binary message."""
        self.sendMessage(data, isBinary=True)

    async def read(self, count: int) -> bytes:
        """The next ``count`` bytes; fails the test if the session closes first."""
        from twisted.internet import reactor

        await until(reactor, lambda: len(self.received) >= count or self.closed.called)
        data = bytes(self.received[:count])
        del self.received[:count]
        assert len(data) == count, "the session closed early"
        return data

    async def read_u32(self) -> int:
        """The next big-endian u32."""
        return int(struct.unpack("!I", await self.read(4))[0])

    async def rest(self) -> bytes:
        """Everything until the session closes."""
        await self.closed
        data = bytes(self.received)
        self.received.clear()
        return data


@dataclass(frozen=True)
class ServerInit:
    """The ServerInit message: framebuffer size, pixel format bytes, desktop name."""

    width: int
    height: int
    pixel_format: bytes
    name: str


async def handshake(browser: RFBBrowser, shared: bool = True) -> ServerInit:
    """RFB 3.8 through the proxy, as noVNC does it: the only type offered must be None."""
    assert await browser.read(12) == V38
    browser.send(V38)
    count = (await browser.read(1))[0]
    assert list(await browser.read(count)) == [1], "the browser must be offered None only"
    browser.send(b"\x01")
    assert await browser.read_u32() == 0
    browser.send(b"\x01" if shared else b"\x00")
    return await read_server_init(browser)


async def read_server_init(browser: RFBBrowser) -> ServerInit:
    """Parse a ServerInit from the browser's stream."""
    width, height = struct.unpack("!HH", await browser.read(4))
    pixel_format = await browser.read(16)
    name = (await browser.read(await browser.read_u32())).decode("utf-8")
    return ServerInit(width, height, pixel_format, name)


async def refused_after_offer(browser: RFBBrowser) -> bytes:
    """Drive a browser whose guest fails authentication; return what it got after its choice.

    The browser is offered None (or told at once that there is no security
    type) and the session closes; the proxy's own bytes are checked here.
    """
    assert await browser.read(12) == V38
    browser.send(V38)
    await until_received(browser, 1)
    count = browser.received[0]
    if count == 0:  # refused before the offer: zero types and the reason
        return await browser.rest()
    assert list(await browser.read(1 + count))[1:] == [1]
    browser.send(b"\x01")
    return await browser.rest()


def refusals(after_choice: bytes) -> tuple[bytes, ...]:
    """The two whole transcripts a browser may see when the guest refuses the proxy.

    The proxy authenticates to the guest while the browser is still choosing:
    a guest that refuses first gets the browser zero security types and the
    generic reason; one that refuses after gets it [None], then a failed
    SecurityResult with the reason. Either way: no challenge, no password.
    """
    reason = struct.pack("!I", len(BROWSER_REASON)) + BROWSER_REASON
    assert after_choice in (struct.pack("!I", 1) + reason, b"\x00" + reason)
    return (V38 + b"\x01\x01" + struct.pack("!I", 1) + reason, V38 + b"\x00" + reason)


async def until_received(browser: RFBBrowser, count: int) -> None:
    """Wait until ``count`` unread bytes are there or the session closed."""
    from twisted.internet import reactor

    await until(reactor, lambda: len(browser.received) >= count or browser.closed.called)


@dataclass
class SecureRig:
    """A console proxy on 127.0.0.1 that records the shims it makes."""

    reactor: Any
    validator: MemoryTokenValidator
    factory: ConsoleProxyFactory
    port: int
    listening: Any
    shims: list[StreamShim | None] = field(default_factory=list)

    async def connect(self, **target: Any) -> RFBBrowser:
        """Issue a token for a novnc target with ``target``'s fields and open a browser."""
        token, _ = self.validator.issue_for(**target)
        factory = WebSocketClientFactory(
            url=f"ws://127.0.0.1:{self.port}/websockify?token={token}",
            origin=f"http://127.0.0.1:{self.port}",
            protocols=["binary"],
        )
        factory.protocol = RFBBrowser
        browser: Any = await TCP4ClientEndpoint(self.reactor, "127.0.0.1", self.port).connect(
            factory)
        await browser.opened
        assert isinstance(browser, RFBBrowser)
        return browser

    async def stop(self) -> None:
        """Stop listening and wait for every session to be gone."""
        await self.listening.stopListening()
        await until(self.reactor, lambda: not self.factory.sessions)


def make_rig(reactor: Any, security: RFBSecurityConfig | None = None,
             default_shims: bool = False) -> SecureRig:
    """A proxy with ``RFBSecurityShims(security)`` (or, ``default_shims``, ``shim_for``)."""
    chosen: ShimFactory = shim_for if default_shims else RFBSecurityShims(security)
    made: list[StreamShim | None] = []

    def recording(target: ConsoleTarget, to_guest: Write, to_browser: Write) -> StreamShim | None:
        shim = chosen(target, to_guest, to_browser)
        made.append(shim)
        return shim

    validator = MemoryTokenValidator(reactor)
    factory = ConsoleProxyFactory(validator, ProxyConfig("novnc"), reactor, shims=recording)
    listening = reactor.listenTCP(0, factory, interface="127.0.0.1")
    return SecureRig(reactor, validator, factory, listening.getHost().port, listening, made)


@implementer(ILogObserver)
class LogCapture:
    """Collects the text of every log event while active (``with LogCapture() as logs``)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, event: LogEvent) -> None:
        self.lines.append(formatEvent(event) or "")

    def __enter__(self) -> LogCapture:
        globalLogPublisher.addObserver(self)
        return self

    def __exit__(self, *exc: object) -> None:
        globalLogPublisher.removeObserver(self)

    def text(self) -> str:
        """Everything logged, one event per line."""
        return "\n".join(self.lines)


@dataclass(frozen=True)
class Pki:
    """A guest CA with server certificates, the proxy's client certificate, and an outsider CA.

    ``server`` names 127.0.0.1 (the targets' host); ``misnamed`` is signed by
    the same CA for another host only; ``stranger`` is a 127.0.0.1 server
    certificate from ``outsider``, a CA the proxy does not trust.
    """

    ca: CertAuthority
    outsider: CertAuthority
    server: IssuedCert
    misnamed: IssuedCert
    client: IssuedCert
    stranger: IssuedCert

    @classmethod
    def create(cls, directory: Path) -> Pki:
        """Make the whole set under ``directory``."""
        ca = make_ca("Guest VNC CA", directory / "ca")
        outsider = make_ca("Outsider CA", directory / "outsider")
        return cls(
            ca=ca,
            outsider=outsider,
            server=issue_cert(ca, "127.0.0.1", server=True, san=["127.0.0.1"]),
            misnamed=issue_cert(ca, "vnc.elsewhere.example", server=True,
                                san=["vnc.elsewhere.example"]),
            client=issue_cert(ca, "nova-novncproxy"),
            stranger=issue_cert(outsider, "127.0.0.1", server=True, san=["127.0.0.1"]),
        )

    def proxy_config(self, *schemes: str, client_cert: bool = True) -> RFBSecurityConfig:
        """The proxy's ``[vnc]`` settings trusting ``ca`` (with its client certificate)."""
        return RFBSecurityConfig(
            auth_schemes=schemes or ("vencrypt",),
            vencrypt_ca_certs=str(self.ca.cert_file),
            vencrypt_client_cert=str(self.client.cert_file) if client_cert else None,
            vencrypt_client_key=str(self.client.key_file) if client_cert else None,
        )


QEMU = shutil.which("qemu-system-x86_64") or "/usr/bin/qemu-system-x86_64"


class Qemu:
    """``qemu-system-x86_64`` with no machine and no disk: just its VNC server on 127.0.0.1.

    ``password`` becomes ``password-secret``; ``tls_dir`` (holding
    ``ca-cert.pem``, ``server-cert.pem``, ``server-key.pem``) becomes
    ``tls-creds-x509`` with ``verify-peer`` as given, which makes QEMU offer
    only VeNCrypt.
    """

    def __init__(self, workdir: Path, password: str | None = None,
                 tls_dir: Path | None = None, verify_peer: bool = False) -> None:
        if not os.access(QEMU, os.X_OK):
            raise AssertionError(
                f"{QEMU} is missing: install the Debian package qemu-system-x86 (make deps-debian)")
        self.workdir = workdir
        self.password = password
        self.tls_dir = tls_dir
        self.verify_peer = verify_peer
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def _command(self, display: int) -> list[str]:
        vnc = f"127.0.0.1:{display}"
        command = [QEMU, "-machine", "none", "-nodefaults", "-display", "none",
                   "-name", "guest-under-test", "-monitor", "none", "-serial", "none"]
        if self.password is not None:
            secret = self.workdir / "vnc-secret"
            secret.write_text(self.password)
            command += ["-object", f"secret,id=vncsec0,file={secret}"]
            vnc += ",password-secret=vncsec0"
        if self.tls_dir is not None:
            verify = "yes" if self.verify_peer else "no"
            command += ["-object", f"tls-creds-x509,id=tls0,dir={self.tls_dir},"
                                   f"endpoint=server,verify-peer={verify}"]
            vnc += ",tls-creds=tls0"
        return [*command, "-vnc", vnc]

    def start(self) -> int:
        """Start QEMU on a free VNC port and wait until it accepts; return the port."""
        for _ in range(5):
            port = _free_port()
            process = subprocess.Popen(
                self._command(port - 5900), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if _wait_listening(process, port):
                self.process, self.port = process, port
                return port
            _, err = process.communicate(timeout=10)
            if b"Address already in use" not in err:
                raise AssertionError(f"QEMU did not start: {err.decode(errors='replace')}")
        raise AssertionError("no free VNC port for QEMU")

    def stop(self) -> None:
        """Terminate QEMU and reap it."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            if self.process.stderr is not None:
                self.process.stderr.close()
            self.process = None


def qemu_tls_dir(pki: Pki, server: IssuedCert, directory: Path) -> Path:
    """A QEMU ``tls-creds-x509`` directory with ``server`` and its issuer in it.

    QEMU checks its own certificate against that CA, and clients' ones too
    with ``verify-peer``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    issuer = pki.outsider if server is pki.stranger else pki.ca
    (directory / "ca-cert.pem").write_bytes(issuer.cert_pem)
    (directory / "server-cert.pem").write_bytes(server.cert_pem)
    (directory / "server-key.pem").write_bytes(server.key_pem)
    return directory


def _free_port() -> int:
    """A TCP port above 5900 that is free right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_listening(process: subprocess.Popen[bytes], port: int) -> bool:
    """Poll until ``port`` accepts (True) or the process exits (False)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.02)
    process.kill()
    raise AssertionError("QEMU never listened")
