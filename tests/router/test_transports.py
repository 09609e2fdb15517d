"""Frames the router writes itself, checked against Autobahn's own parser."""

from __future__ import annotations

import pytest
from autobahn.websocket.protocol import WebSocketProtocol

from nova_ws.router.transports import websocket_frame


def _parse(frame: bytes) -> tuple[int, bool, bytes]:
    """Decode one server frame by RFC 6455 5.2 (FIN, opcode, length, no mask)."""
    b0, b1 = frame[0], frame[1]
    assert b0 & 0x80 and not b1 & 0x80  # final, not masked
    n, offset = b1 & 0x7F, 2
    if n == 126:
        n, offset = int.from_bytes(frame[2:4], "big"), 4
    elif n == 127:
        n, offset = int.from_bytes(frame[2:10], "big"), 10
    payload = frame[offset:]
    assert len(payload) == n
    return b0 & 0x0F, True, payload


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 70000])
@pytest.mark.parametrize("binary", [False, True])
def test_websocket_frame_lengths(size: int, binary: bool) -> None:
    """When a payload crosses the 7-bit and 16-bit length limits, the header still fits it."""
    payload = bytes(i % 251 for i in range(size))
    opcode, _, got = _parse(websocket_frame(payload, binary))
    assert got == payload
    expected = (WebSocketProtocol.MESSAGE_TYPE_BINARY if binary
                else WebSocketProtocol.MESSAGE_TYPE_TEXT)
    assert opcode == expected
