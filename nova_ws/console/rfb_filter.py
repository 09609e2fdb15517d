"""A view-only filter for the browser -> guest half of an RFB (VNC) stream.

``ViewOnlyFilter.feed`` takes the browser's bytes in whatever pieces the
WebSocket frames cut them into and returns what may go on to the guest: the
handshake (ProtocolVersion, the security-type choice, a VNC-auth response,
ClientInit) and the client messages that only ask to see (SetPixelFormat,
SetEncodings, FramebufferUpdateRequest, EnableContinuousUpdates, ClientFence,
QEMU audio). Input is dropped: KeyEvent (4), PointerEvent (5), ClientCutText
(6), xvp power requests (250), SetDesktopSize (251) and QEMU extended key
events (255/0).

Only message headers are buffered: a message's body streams through (or is
skipped) as it arrives, so a huge ClientCutText costs no memory. Whatever the
filter cannot parse -- an RFB 3.3 client (whose handshake depends on the
server's choice), a security type other than None or VNC auth, an unknown
message type -- raises ``RFBFilterError``: a view-only session fails closed.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable

_VERSION_RE = re.compile(rb"RFB 003\.(\d{3})\n")

#: Client message types dropped in view-only sessions.
INPUT_TYPES = frozenset({4, 5, 6, 250, 251})
QEMU_MESSAGE = 255
QEMU_EXTENDED_KEY = 0

SECURITY_NONE = 1
SECURITY_VNC_AUTH = 2


class RFBFilterError(Exception):
    """The browser sent RFB the view-only filter cannot (or must not) pass on."""


#: Given the buffered bytes from a message's start: its total length, or None for "need more".
Sizer = Callable[[bytes], "int | None"]


def _fixed(length: int) -> Sizer:
    return lambda head: length


def _counted(header: int, offset: int, fmt: str, unit: int) -> Sizer:
    """Length = ``header`` + ``unit`` * (the count at ``offset`` in ``fmt``)."""
    size = struct.calcsize(fmt)

    def sizer(head: bytes) -> int | None:
        if len(head) < max(header, offset + size):
            return None
        (count,) = struct.unpack_from(fmt, head, offset)
        return header + unit * abs(count)

    return sizer


def _qemu(head: bytes) -> int | None:
    if len(head) < 2:
        return None
    if head[1] == QEMU_EXTENDED_KEY:
        return 12
    if head[1] == 1:  # audio: u16 operation; "set format" carries 6 more bytes
        if len(head) < 4:
            return None
        return 10 if struct.unpack_from("!H", head, 2)[0] == 2 else 4
    raise RFBFilterError(f"unknown QEMU client message subtype {head[1]}")


_SIZERS: dict[int, Sizer] = {
    0: _fixed(20),  # SetPixelFormat
    2: _counted(4, 2, "!H", 4),  # SetEncodings
    3: _fixed(10),  # FramebufferUpdateRequest
    4: _fixed(8),  # KeyEvent
    5: _fixed(6),  # PointerEvent
    6: _counted(8, 4, "!i", 1),  # ClientCutText (negative length: extended clipboard)
    150: _fixed(10),  # EnableContinuousUpdates
    248: _counted(9, 8, "!B", 1),  # ClientFence
    250: _fixed(4),  # xvp
    251: _counted(8, 6, "!B", 16),  # SetDesktopSize
    QEMU_MESSAGE: _qemu,
}

#: Longest header any sizer needs before it knows a message's length.
_MAX_HEADER = 16


class ViewOnlyFilter:
    """Passes an RFB client stream on with every input message removed."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._remaining = 0  # bytes of the current item still to pass or skip
        self._forward = True
        self._step: Callable[[bytes], int | None] = self._version
        self.dropped = 0  # messages dropped so far

    def feed(self, data: bytes) -> bytes:
        """Take the next browser bytes; return those that may reach the guest."""
        out = bytearray()
        pos = 0
        while pos < len(data):
            if self._remaining:
                take = min(self._remaining, len(data) - pos)
                if self._forward:
                    out += data[pos : pos + take]
                pos += take
                self._remaining -= take
                continue
            # at the start of an item: gather just enough of its header to size it
            added = data[pos : pos + _MAX_HEADER - len(self._buffer)]
            self._buffer += added
            length = self._step(bytes(self._buffer))
            if length is None:
                pos += len(added)
                continue
            # the buffered head is the item's start; bytes past its end go back to ``data``
            held = len(self._buffer)
            used = min(length, held)
            if self._forward:
                out += self._buffer[:used]
            pos += len(added) - (held - used)
            self._remaining = length - used
            self._buffer.clear()
        return bytes(out)

    # handshake steps: each sizes the next item, sets _forward, and moves on

    def _version(self, head: bytes) -> int | None:
        if len(head) < 12:
            return None
        found = _VERSION_RE.fullmatch(head[:12])
        if found is None:
            raise RFBFilterError(f"bad ProtocolVersion {head[:12]!r}")
        if int(found[1]) < 7:
            raise RFBFilterError("RFB 3.3 clients cannot have view-only sessions")
        self._forward = True
        self._step = self._security_type
        return 12

    def _security_type(self, head: bytes) -> int | None:
        if head[0] == SECURITY_NONE:
            self._step = self._client_init
        elif head[0] == SECURITY_VNC_AUTH:
            self._step = self._vnc_auth_response
        else:
            raise RFBFilterError(f"security type {head[0]} is not supported in view-only")
        self._forward = True
        return 1

    def _vnc_auth_response(self, head: bytes) -> int | None:
        self._step = self._client_init
        self._forward = True
        return 16

    def _client_init(self, head: bytes) -> int | None:
        self._step = self._message
        self._forward = True
        return 1

    def _message(self, head: bytes) -> int | None:
        sizer = _SIZERS.get(head[0])
        if sizer is None:
            raise RFBFilterError(f"unknown RFB client message type {head[0]}")
        length = sizer(head)
        if length is None:
            return None
        drop = head[0] in INPUT_TYPES or (head[0] == QEMU_MESSAGE and head[1] == QEMU_EXTENDED_KEY)
        self._forward = not drop
        self.dropped += drop
        return length
