"""GuestConsole on a real socket: listening, serving, stopping."""

from __future__ import annotations

import struct

import pytest
import pytest_twisted
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol

from nova_ws.compute.drivers.fake.rfb import GuestConsole

pytestmark = pytest.mark.integration


class _Collect(Protocol):
    """A raw TCP client that records bytes until a count is reached."""

    def __init__(self, want: int, done: Deferred[bytes]) -> None:
        self.want = want
        self.done = done
        self.data = b""

    def dataReceived(self, data: bytes) -> None:
        self.data += data
        if len(self.data) >= self.want and not self.done.called:
            self.done.callback(self.data)

    def connectionLost(self, reason: object = None) -> None:
        if not self.done.called:
            self.done.callback(self.data)


async def raw_exchange(port: int, send: bytes, want: int) -> bytes:
    """Connect, send ``send``, return the first ``want`` bytes the server wrote."""
    from twisted.internet import reactor

    done: Deferred[bytes] = Deferred()
    proto = _Collect(want, done)
    await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), proto)
    proto.transport.write(send)  # type: ignore[union-attr]
    return await done


@pytest_twisted.ensureDeferred
async def test_listen_serve_and_stop() -> None:
    """When a console listens on port 0, a client handshakes with it, and stop cuts it off."""
    from twisted.internet import reactor

    console = GuestConsole("instance-0001", width=320, height=96)
    port = console.listen(reactor)
    assert port > 0 and console.port == port and console.host == "127.0.0.1"
    name = b"instance-0001"
    want = 12 + 2 + 4 + 24 + len(name)
    data = await raw_exchange(port, b"RFB 003.008\n\x01\x01", want)
    assert data[:12] == b"RFB 003.008\n"
    assert data[12:14] == b"\x01\x01"
    assert struct.unpack("!I", data[14:18]) == (0,)
    assert struct.unpack("!HH", data[18:22]) == (320, 96)
    assert data[-len(name) :] == name
    assert len(console.factory.clients) == 1
    await console.stop()
    assert console.factory.clients == set()
    assert console.port is None


@pytest_twisted.ensureDeferred
async def test_stop_with_no_clients() -> None:
    """When a console with no viewers stops, it just stops listening."""
    from twisted.internet import reactor

    console = GuestConsole("idle")
    console.listen(reactor)
    await console.stop()
    assert console.port is None
    await console.factory.when_idle()


def test_console_output_and_power_state() -> None:
    """When lines are logged and the power state set, the console reports both."""
    console = GuestConsole("vm", width=160, height=48)
    console.log("one\ntwo")
    assert console.console_output() == "one\ntwo\n"
    console.set_power_state("paused")
    assert console.power_state == "paused"
    assert "-- paused --" in console.text()
    assert console.screenshot().size == (160, 48)


@pytest_twisted.ensureDeferred
async def test_client_that_stops_reading_does_not_pile_up_updates() -> None:
    """When a client asks for 40 full updates but stops reading, the server queues about one."""
    from twisted.internet import reactor

    console = GuestConsole("slow", width=800, height=600)
    port = console.listen(reactor)
    full_request = struct.pack("!BBHHHH", 3, 0, 0, 0, 800, 600)
    done: Deferred[bytes] = Deferred()
    client = _Collect(1 << 40, done)
    await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), client)
    assert client.transport is not None
    client.transport.pauseProducing()  # type: ignore[attr-defined]  # the client stops reading
    processed: Deferred[None] = Deferred()
    console.framebuffer.add_damage_listener(
        lambda rect: None if processed.called else processed.callback(None)
    )
    key_z = struct.pack("!BBxxI", 4, 1, ord("z"))
    client.transport.write(b"RFB 003.008\n\x01\x01" + full_request * 40 + key_z)
    await processed  # the server has handled every request before the key
    (server,) = console.factory.clients
    queued = len(server.transport.dataBuffer) + server.transport._tempDataLen  # type: ignore[union-attr]
    one_update = 4 + 12 + 800 * 600 * 4
    assert queued <= 64 * 1024 + one_update
    client.transport.loseConnection()
    await console.stop()
