"""The view-only RFB filter: what passes, what is dropped, in any chunking."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nova_ws.console.rfb_filter import RFBFilterError, ViewOnlyFilter

HANDSHAKE = b"RFB 003.008\n" + b"\x01" + b"\x01"

#: (message, passes) for each client message kind the filter knows.
MESSAGES = [
    (struct.pack("!Bxxx", 0) + bytes(16), True),  # SetPixelFormat
    (struct.pack("!BxH", 2, 3) + struct.pack("!iii", 0, -223, 7), True),  # SetEncodings
    (struct.pack("!BBHHHH", 3, 1, 0, 0, 800, 600), True),  # FramebufferUpdateRequest
    (struct.pack("!BBxxI", 4, 1, 0x61), False),  # KeyEvent
    (struct.pack("!BBHH", 5, 1, 10, 20), False),  # PointerEvent
    (struct.pack("!BxxxI", 6, 5) + b"hello", False),  # ClientCutText
    (struct.pack("!Bxxxi", 6, -8) + bytes(8), False),  # extended ClientCutText
    (struct.pack("!BBHHHH", 150, 1, 0, 0, 800, 600), True),  # EnableContinuousUpdates
    (struct.pack("!BxxxIB", 248, 0, 3) + b"abc", True),  # ClientFence
    (struct.pack("!BxBB", 250, 1, 2), False),  # xvp reboot
    (struct.pack("!BxHHBx", 251, 800, 600, 1) + bytes(16), False),  # SetDesktopSize
    (struct.pack("!BBHII", 255, 0, 1, 0x61, 30), False),  # QEMU extended key
    (struct.pack("!BBH", 255, 1, 0), True),  # QEMU audio enable
]


def test_handshake_and_messages() -> None:
    """When a whole stream arrives at once, input is dropped and the rest passes in order."""
    stream = HANDSHAKE + b"".join(message for message, _ in MESSAGES)
    expected = HANDSHAKE + b"".join(message for message, passes in MESSAGES if passes)
    view = ViewOnlyFilter()
    assert view.feed(stream) == expected
    assert view.dropped == sum(1 for _, passes in MESSAGES if not passes)


def test_vnc_auth_response_passes() -> None:
    """When the browser chose VNC auth, its 16-byte response passes untouched."""
    stream = b"RFB 003.008\n\x02" + bytes(range(16)) + b"\x01"
    assert ViewOnlyFilter().feed(stream) == stream


@pytest.mark.parametrize(
    "stream",
    [b"RFB 003.003\n", b"HTTP/1.1 200\n", b"RFB 003.008\n\x13", HANDSHAKE + b"\x07"],
)
def test_fails_closed(stream: bytes) -> None:
    """When the stream is RFB 3.3, another security type or unknown, the filter refuses."""
    with pytest.raises(RFBFilterError):
        ViewOnlyFilter().feed(stream)


@given(
    picks=st.lists(st.integers(min_value=0, max_value=len(MESSAGES) - 1), max_size=40),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=60),
)
def test_random_chunking(picks: list[int], cuts: list[int]) -> None:
    """When the stream is cut into arbitrary pieces, the output is the same as whole."""
    chosen = [MESSAGES[i] for i in picks]
    stream = HANDSHAKE + b"".join(message for message, _ in chosen)
    expected = HANDSHAKE + b"".join(message for message, passes in chosen if passes)
    bounds = sorted({min(cut, len(stream)) for cut in cuts} | {0, len(stream)})
    view = ViewOnlyFilter()
    out = b"".join(view.feed(stream[a:b]) for a, b in zip(bounds, bounds[1:], strict=False))
    assert out == expected
    assert view.dropped == sum(1 for _, passes in chosen if not passes)
