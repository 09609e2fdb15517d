"""Test helpers for the console proxy: a WebSocket client, an echo guest, raw handshakes."""

from __future__ import annotations

import socket
from typing import Any

from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import deferLater

#: Small socket buffers on the test's own sockets, so backpressure shows up early.
SMALL_BUFFER = 64 * 1024


async def until(reactor: Any, condition: Any, turns: int = 200_000) -> None:
    """Let the reactor run (no timers, just turns) until ``condition()`` holds."""
    for _ in range(turns):
        if condition():
            return
        await deferLater(reactor, 0, lambda: None)
    raise AssertionError("condition never held")


class Echo(Protocol):
    """A guest that echoes every byte, reading no faster than it can write back."""

    def connectionMade(self) -> None:
        transport: Any = self.transport
        sock = transport.getHandle()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_BUFFER)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_BUFFER)
        transport.registerProducer(transport, True)

    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


def listen_echo(reactor: Any) -> Any:
    """An echo guest on 127.0.0.1, any free port."""
    return reactor.listenTCP(0, Factory.forProtocol(Echo), interface="127.0.0.1")


class Browser(WebSocketClientProtocol):
    """A WebSocket client standing in for noVNC: collects binary messages."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: Deferred[None] = Deferred()
        self.closed: Deferred[tuple[int | None, str | None]] = Deferred()
        self.received = bytearray()

    def onOpen(self) -> None:
        self.opened.callback(None)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        assert isBinary
        self.received += payload

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        if not self.opened.called:
            self.opened.errback(ConnectionError(reason))
        self.closed.callback((code, reason))

    async def read(self, reactor: Any, count: int) -> bytes:
        """The next ``count`` bytes from the guest."""
        await until(reactor, lambda: len(self.received) >= count or self.closed.called)
        data = bytes(self.received[:count])
        del self.received[:count]
        assert len(data) == count, "closed early"
        return data


async def open_browser(
    reactor: Any, port: int, token: str, origin: str | None = None, path: str = "/websockify",
    small_buffers: bool = False,
) -> Browser:
    """Open a console WebSocket to the proxy on ``port`` and wait for it to open."""
    factory = WebSocketClientFactory(
        url=f"ws://127.0.0.1:{port}{path}?token={token}",
        origin=origin if origin is not None else f"http://127.0.0.1:{port}",
        protocols=["binary"],
    )
    factory.protocol = Browser
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    browser: Any = await endpoint.connect(factory)
    if small_buffers:
        sock = browser.transport.getHandle()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_BUFFER)
    await browser.opened
    return browser


class _Raw(Protocol):
    def __init__(self) -> None:
        self.data = b""
        self.done: Deferred[bytes] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.data += data
        if self.data.startswith(b"HTTP/1.1 101 ") and b"\r\n\r\n" in self.data:
            self.transport.loseConnection()  # type: ignore[union-attr]  # accepted: done

    def connectionLost(self, reason: object = None) -> None:
        self.done.callback(self.data)


async def raw_handshake(reactor: Any, port: int, target: str, headers: dict[str, str]) -> str:
    """Send a WebSocket opening handshake by hand; return the response's status line.

    An accepted handshake is cut right after the response.
    """
    lines = [
        f"GET {target} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    raw = _Raw()
    await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), raw)
    raw.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())  # type: ignore[union-attr]
    response = await raw.done
    return response.split(b"\r\n", 1)[0].decode()
