"""RFB client messages (RFC 6143 section 7.5), and the FramebufferUpdate the server sends.

``dispatch`` looks the message type up in ``HANDLERS``. Each handler takes the
connection and its input buffer; it returns False, consuming nothing, while
the message is incomplete, and True after consuming exactly one message.
Input that breaks the protocol raises ``ProtocolError``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from twisted.internet.interfaces import IAddress
from twisted.logger import Logger

from nova_ws.compute.drivers.fake.rfb.framebuffer import Framebuffer
from nova_ws.compute.drivers.fake.rfb.pixelformat import (
    PixelEncoder,
    PixelFormat,
    UnsupportedPixelFormat,
)
from nova_ws.compute.drivers.fake.rfb.region import Rect

log = Logger()

SET_PIXEL_FORMAT = 0
SET_ENCODINGS = 2
FRAMEBUFFER_UPDATE_REQUEST = 3
KEY_EVENT = 4
POINTER_EVENT = 5
CLIENT_CUT_TEXT = 6

FRAMEBUFFER_UPDATE = 0
ENCODING_RAW = 0
#: Clipboard text longer than this drops the connection.
MAX_CUT_TEXT = 1024 * 1024


class ProtocolError(Exception):
    """The client broke the protocol; its connection is dropped."""


class Wire(Protocol):
    """What the server uses of its transport (a TCP or TLS connection)."""

    def write(self, data: bytes) -> None: ...
    def loseConnection(self) -> None: ...
    def abortConnection(self) -> None: ...
    def registerProducer(self, producer: Any, streaming: bool) -> None: ...
    def unregisterProducer(self) -> None: ...
    def getPeer(self) -> IAddress: ...


def reason_string(text: str) -> bytes:
    """A failure reason as RFB sends it: u32 length, then UTF-8 text."""
    data = text.encode("utf-8")
    return struct.pack("!I", len(data)) + data


class Connection(Protocol):
    """What message handlers use of a server connection."""

    framebuffer: Framebuffer
    encoder: PixelEncoder
    encodings: tuple[int, ...]

    def request_update(self, incremental: bool, area: Rect) -> None:
        """Note a FramebufferUpdateRequest."""


Handler = Callable[[Connection, bytearray], bool]


def _take(buffer: bytearray, size: int) -> bytes | None:
    if len(buffer) < size:
        return None
    data = bytes(buffer[:size])
    del buffer[:size]
    return data


def set_pixel_format(conn: Connection, buffer: bytearray) -> bool:
    """SetPixelFormat: later updates use the client's format."""
    data = _take(buffer, 20)
    if data is None:
        return False
    try:
        conn.encoder = PixelEncoder(PixelFormat.from_bytes(data[4:]))
    except UnsupportedPixelFormat as error:
        raise ProtocolError(f"SetPixelFormat: {error}") from None
    return True


def set_encodings(conn: Connection, buffer: bytearray) -> bool:
    """SetEncodings: remembered; Raw is always used and needs no asking."""
    if len(buffer) < 4:
        return False
    (count,) = struct.unpack_from("!H", buffer, 2)
    data = _take(buffer, 4 + 4 * count)
    if data is None:
        return False
    conn.encodings = struct.unpack_from(f"!{count}i", data, 4)
    return True


def framebuffer_update_request(conn: Connection, buffer: bytearray) -> bool:
    """FramebufferUpdateRequest: incremental or not, for an area."""
    data = _take(buffer, 10)
    if data is None:
        return False
    _, incremental, x, y, w, h = struct.unpack("!BBHHHH", data)
    conn.request_update(bool(incremental), Rect(x, y, w, h))
    return True


def key_event(conn: Connection, buffer: bytearray) -> bool:
    """KeyEvent: goes to the console's prompt."""
    data = _take(buffer, 8)
    if data is None:
        return False
    _, down, keysym = struct.unpack("!BB2xI", data)
    conn.framebuffer.key_event(keysym, bool(down))
    return True


def pointer_event(conn: Connection, buffer: bytearray) -> bool:
    """PointerEvent: accepted; the console has no pointer."""
    return _take(buffer, 6) is not None


def client_cut_text(conn: Connection, buffer: bytearray) -> bool:
    """ClientCutText: read and ignored (a negative length is the extended form)."""
    if len(buffer) < 8:
        return False
    (length,) = struct.unpack_from("!i", buffer, 4)
    if abs(length) > MAX_CUT_TEXT:
        raise ProtocolError(f"ClientCutText of {abs(length)} bytes")
    data = _take(buffer, 8 + abs(length))
    if data is None:
        return False
    log.debug("clipboard text of {size} bytes ignored", size=abs(length))
    return True


HANDLERS: dict[int, Handler] = {
    SET_PIXEL_FORMAT: set_pixel_format,
    SET_ENCODINGS: set_encodings,
    FRAMEBUFFER_UPDATE_REQUEST: framebuffer_update_request,
    KEY_EVENT: key_event,
    POINTER_EVENT: pointer_event,
    CLIENT_CUT_TEXT: client_cut_text,
}


def dispatch(conn: Connection, buffer: bytearray) -> bool:
    """Handle the message at the front of ``buffer``; see the module docstring."""
    handler = HANDLERS.get(buffer[0])
    if handler is None:
        raise ProtocolError(f"unknown message type {buffer[0]}")
    return handler(conn, buffer)


def framebuffer_update(
    framebuffer: Framebuffer, encoder: PixelEncoder, rects: Sequence[Rect]
) -> bytes:
    """A FramebufferUpdate with each rectangle in Raw encoding."""
    parts = [struct.pack("!BxH", FRAMEBUFFER_UPDATE, len(rects))]
    for rect in rects:
        parts.append(struct.pack("!HHHHi", rect.x, rect.y, rect.w, rect.h, ENCODING_RAW))
        parts.append(encoder.encode(framebuffer.region_pixels(rect)))
    return b"".join(parts)
