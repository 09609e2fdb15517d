"""A minimal synchronous RFB client side for tests: builds messages, parses replies.

It talks to an ``RFBServerProtocol`` over a ``StringTransport``: ``Wire.read``
consumes what the server wrote, in order, and fails the test when the server
wrote less than asked.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport

from nova_ws.compute.drivers.fake.rfb import RFBServerFactory, RFBServerProtocol
from nova_ws.compute.drivers.fake.rfb.pixelformat import PixelFormat
from nova_ws.compute.drivers.fake.rfb.region import Rect
from nova_ws.compute.drivers.fake.rfb.security import vnc_auth_response

V38 = b"RFB 003.008\n"
V37 = b"RFB 003.007\n"
V33 = b"RFB 003.003\n"


class Wire:
    """One client connection: the server protocol, its transport, a read cursor."""

    def __init__(self, factory: RFBServerFactory, port: int = 40000) -> None:
        self.transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", port))
        proto = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", port))
        assert isinstance(proto, RFBServerProtocol)
        self.proto = proto
        self.proto.makeConnection(self.transport)
        self._offset = 0

    def send(self, data: bytes) -> None:
        """Bytes from the client to the server."""
        self.proto.dataReceived(data)

    def pending(self) -> bytes:
        """What the server wrote that has not been read yet (without consuming it)."""
        return self.transport.value()[self._offset :]

    def read(self, size: int) -> bytes:
        """Consume exactly ``size`` bytes the server wrote."""
        data = self.pending()[:size]
        assert len(data) == size, f"server wrote {len(data)} bytes, expected {size}"
        self._offset += size
        return data

    def read_u32(self) -> int:
        """Consume one big-endian u32."""
        return int(struct.unpack("!I", self.read(4))[0])

    def read_string(self) -> str:
        """Consume a u32-length-prefixed string (a reason or a name)."""
        return self.read(self.read_u32()).decode("utf-8")

    @property
    def closed(self) -> bool:
        """Whether the server closed (or aborted) the connection."""
        return bool(self.transport.disconnecting or getattr(self.transport, "disconnected", False))

    def close(self) -> None:
        """The client goes away."""
        self.proto.connectionLost()


@dataclass(frozen=True)
class ServerInit:
    """What ServerInit said."""

    width: int
    height: int
    pixel_format: PixelFormat
    name: str


def read_server_init(wire: Wire) -> ServerInit:
    """Consume ServerInit."""
    width, height = struct.unpack("!HH", wire.read(4))
    fmt = PixelFormat.from_bytes(wire.read(16))
    return ServerInit(width, height, fmt, wire.read_string())


def handshake(
    factory: RFBServerFactory,
    version: bytes = V38,
    password: str | None = None,
    shared: bool = True,
) -> tuple[Wire, ServerInit]:
    """Connect and run the whole handshake as a well-behaved client; fail if it fails."""
    wire = Wire(factory)
    assert wire.read(12) == V38
    wire.send(version)
    if version == V33:
        kind = wire.read_u32()
    else:
        count = wire.read(1)[0]
        types = list(wire.read(count))
        kind = 2 if password is not None else 1
        assert kind in types, f"server offered {types}"
        wire.send(bytes([kind]))
    if kind == 2:
        assert password is not None
        challenge = wire.read(16)
        wire.send(vnc_auth_response(password, challenge))
    if kind == 2 or version == V38:
        assert wire.read_u32() == 0, "SecurityResult says failed"
    wire.send(bytes([1 if shared else 0]))
    return wire, read_server_init(wire)


def update_request(incremental: bool, rect: Rect) -> bytes:
    """A FramebufferUpdateRequest."""
    return struct.pack("!BBHHHH", 3, incremental, *rect)


def key_event(keysym: int, down: bool) -> bytes:
    """A KeyEvent."""
    return struct.pack("!BBxxI", 4, down, keysym)


def type_keys(text: str) -> bytes:
    """Press and release each character (``\\n`` is Return)."""
    out = b""
    for char in text:
        keysym = 0xFF0D if char == "\n" else ord(char)
        out += key_event(keysym, True) + key_event(keysym, False)
    return out


def set_pixel_format(fmt: PixelFormat) -> bytes:
    """A SetPixelFormat."""
    return b"\0\0\0\0" + fmt.to_bytes()


def set_encodings(encodings: list[int]) -> bytes:
    """A SetEncodings."""
    return struct.pack(f"!BxH{len(encodings)}i", 2, len(encodings), *encodings)


def read_update(wire: Wire, fmt: PixelFormat) -> list[tuple[Rect, bytes]]:
    """Consume one FramebufferUpdate of Raw rectangles: each rectangle and its pixel bytes."""
    kind, count = struct.unpack("!BxH", wire.read(4))
    assert kind == 0, f"message type {kind}, not FramebufferUpdate"
    rects = []
    for _ in range(count):
        x, y, w, h, encoding = struct.unpack("!HHHHi", wire.read(12))
        assert encoding == 0, f"encoding {encoding}, not Raw"
        rects.append((Rect(x, y, w, h), wire.read(w * h * fmt.bytes_per_pixel)))
    return rects


def decode_pixels(data: bytes, fmt: PixelFormat) -> list[tuple[int, int, int]]:
    """Raw pixel bytes to 8-bit (red, green, blue) triples."""
    size = fmt.bytes_per_pixel
    return [fmt.unpack(data[i : i + size]) for i in range(0, len(data), size)]


class Mirror:
    """The screen as a client sees it: rebuilt only from the updates it got."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.pixels: list[tuple[int, int, int] | None] = [None] * (width * height)

    def apply(self, update: list[tuple[Rect, bytes]], fmt: PixelFormat) -> None:
        """Paint every rectangle of one update."""
        for rect, data in update:
            colours = decode_pixels(data, fmt)
            for row in range(rect.h):
                start = (rect.y + row) * self.width + rect.x
                self.pixels[start : start + rect.w] = colours[row * rect.w : (row + 1) * rect.w]
