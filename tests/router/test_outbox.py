"""Writing straight to the socket, and frames held until received data is handled.

These run on real TCP connections through the reactor: whatever the kernel
takes at once, every byte must arrive once and in order.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest_twisted
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import deferLater

from nova_ws.router.transports import OUTBOX, write_now

SAFETY_TURNS = 20000  # reactor turns before a test gives up, never a measured delay


class Accepted(Protocol):
    """The server side of one test connection."""

    def __init__(self, ready: Deferred[Accepted]) -> None:
        self.ready = ready

    def connectionMade(self) -> None:
        self.ready.callback(self)


async def _connection(reactor: Any, rcvbuf: int | None = None) -> tuple[Any, socket.socket, Any]:
    """A listening port, a non-blocking client socket, and the accepted server protocol."""
    connected: Deferred[Accepted] = Deferred()
    port = reactor.listenTCP(0, Factory.forProtocol(lambda: Accepted(connected)),
                             interface="127.0.0.1")
    client = socket.socket()
    if rcvbuf:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    client.connect(("127.0.0.1", port.getHost().port))
    client.setblocking(False)
    server = await connected
    return port, client, server


async def _receive(reactor: Any, client: socket.socket, size: int) -> bytes:
    """Read *size* bytes from the client, letting the reactor write meanwhile."""
    received = bytearray()
    for _ in range(SAFETY_TURNS):
        if len(received) >= size:
            break
        try:
            chunk = client.recv(1 << 20)
        except BlockingIOError:
            await deferLater(reactor, 0.001, lambda: None)
            continue
        if not chunk:
            break
        received += chunk
    return bytes(received)


@pytest_twisted.ensureDeferred
async def test_direct_write_leaves_nothing_buffered() -> None:
    """When nothing is buffered, a small write goes straight to the socket and arrives."""
    from twisted.internet import reactor

    port, client, server = await _connection(reactor)
    try:
        write_now(server.transport, b"hello")
        assert not server.transport.dataBuffer and not server.transport._tempDataBuffer
        assert await _receive(reactor, client, 5) == b"hello"
    finally:
        client.close()
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_what_the_kernel_does_not_take_follows_in_order() -> None:
    """When the kernel takes only part, the rest is buffered and every byte arrives in order."""
    from twisted.internet import reactor

    port, client, server = await _connection(reactor, rcvbuf=4096)
    try:
        server.transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        chunks = [bytes([i]) * 150_000 for i in range(1, 6)]
        for chunk in chunks:
            write_now(server.transport, chunk)
        # the kernel could not take 750 kB at once: Twisted holds the rest
        assert server.transport.dataBuffer or server.transport._tempDataBuffer
        expected = b"".join(chunks)
        assert await _receive(reactor, client, len(expected)) == expected
    finally:
        client.close()
        await port.stopListening()


class Queueing(Protocol):
    """Stands for a router protocol: holds frames in the outbox, then flushes them."""

    def __init__(self) -> None:
        self._out: list[bytes] | None = None
        self._dropped = False

    def queue(self, data: bytes) -> None:
        if self._out is None:
            self._out = [data]
            OUTBOX.waiting.append(self)  # type: ignore[arg-type]
        else:
            self._out.append(data)

    def _flush(self) -> None:
        out, self._out = self._out, None
        if out:
            write_now(self.transport, b"".join(out))


@pytest_twisted.ensureDeferred
async def test_outbox_holds_frames_until_the_read_is_handled() -> None:
    """While received data is handled, frames wait; when it is, each connection gets its own."""
    from twisted.internet import reactor

    connections = [await _connection(reactor) for _ in range(2)]
    try:
        protos = []
        for _, _, server in connections:
            proto = Queueing()
            proto.makeConnection(server.transport)
            protos.append(proto)
        seen_inside: list[bool] = []

        def handle(data: bytes) -> None:
            for i, proto in enumerate(protos):
                proto.queue(data + b"-%d-a " % i)
                proto.queue(data + b"-%d-b" % i)
            transports: list[Any] = [p.transport for p in protos]
            seen_inside.append(not any(t.dataBuffer or t._tempDataBuffer for t in transports))

        OUTBOX.reading(handle, b"x")
        assert seen_inside == [True]
        assert OUTBOX.waiting == [] and OUTBOX.depth == 0
        for i, (_, client, _) in enumerate(connections):
            want = b"x-%d-a x-%d-b" % (i, i)
            assert await _receive(reactor, client, len(want)) == want
    finally:
        for port, client, _ in connections:
            client.close()
            await port.stopListening()
