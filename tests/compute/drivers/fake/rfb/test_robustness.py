"""Hostile or broken clients: each drops its own connection, and nothing escapes."""

from __future__ import annotations

import struct
from collections.abc import Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.logger import LogEvent, capturedLogs

from nova_ws.compute.drivers.fake.rfb import (
    Framebuffer,
    PixelFormat,
    RFBServerFactory,
    SecurityConfig,
)
from nova_ws.compute.drivers.fake.rfb.messages import MAX_CUT_TEXT
from nova_ws.compute.drivers.fake.rfb.region import Rect
from tests.compute.drivers.fake.rfb.rfbclient import (
    V38,
    Wire,
    handshake,
    key_event,
    set_encodings,
    set_pixel_format,
    update_request,
)


def connected() -> Wire:
    """A small console and a client past the handshake."""
    wire, _ = handshake(RFBServerFactory(Framebuffer("fuzz", 160, 48)))
    wire.read(len(wire.pending()))
    return wire


def failures(events: Sequence[LogEvent]) -> list[LogEvent]:
    """The logged tracebacks among captured log events."""
    return [event for event in events if "log_failure" in event]


def dropped(events: Sequence[LogEvent]) -> list[str]:
    """The reasons of the "dropped" log lines among captured events."""
    return [event["reason"] for event in events if "dropped" in event.get("log_format", "")]


def test_unknown_message_type_closes() -> None:
    """When a client sends an unknown message type, it is dropped with a log line."""
    wire = connected()
    with capturedLogs() as events:
        wire.send(b"\x07\x00\x00\x00")
    assert wire.closed
    assert dropped(events) == ["unknown message type 7"]
    assert not failures(events)


def test_truncated_message_waits_then_completes() -> None:
    """When a message arrives cut short, the server waits and acts once it is whole."""
    wire = connected()
    request = update_request(False, Rect(0, 0, 4, 4))
    wire.send(request[:5])
    assert wire.pending() == b"" and not wire.closed
    wire.send(request[5:])
    assert wire.pending()[:4] == b"\x00\x00\x00\x01"


def test_truncated_handshake_garbage_closes() -> None:
    """When the version string is cut and followed by junk, the connection closes."""
    wire = Wire(RFBServerFactory(Framebuffer("fuzz", 160, 48)))
    wire.send(V38[:6] + b"\x00\xff\xfe\xfd\xfc\xfb")
    assert wire.closed


def test_colour_map_pixel_format_closes() -> None:
    """When a client asks for a colour-map pixel format, it is dropped."""
    wire = connected()
    with capturedLogs() as events:
        wire.send(set_pixel_format(PixelFormat(8, 8, False, False, 0, 0, 0, 0, 0, 0)))
    assert wire.closed
    assert "colour-map" in dropped(events)[0]


def test_huge_clipboard_closes() -> None:
    """When a client announces clipboard text over the limit, it is dropped at once."""
    wire = connected()
    wire.send(struct.pack("!B3xi", 6, MAX_CUT_TEXT + 1))
    assert wire.closed


def test_input_after_close_is_ignored() -> None:
    """When a dropped client keeps sending, nothing more happens."""
    wire = connected()
    wire.send(b"\xff")
    assert wire.closed
    wire.send(update_request(False, Rect(0, 0, 4, 4)))
    assert wire.pending() == b""


messages = st.one_of(
    st.binary(max_size=40),
    st.builds(update_request, st.booleans(), st.builds(Rect, *[st.integers(0, 0xFFFF)] * 4)),
    st.builds(key_event, st.integers(0, 0xFFFFFFFF), st.booleans()),
    st.builds(set_encodings, st.lists(st.integers(-(2**31), 2**31 - 1), max_size=8)),
    st.builds(lambda raw: b"\x00\x00\x00\x00" + raw, st.binary(min_size=16, max_size=16)),
    st.builds(
        lambda n, body: struct.pack("!B3xi", 6, n) + body,
        st.integers(-50, 50),
        st.binary(max_size=50),
    ),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(messages, max_size=20), st.integers(1, 7))
def test_random_input_after_handshake_never_raises(chunks: list[bytes], split: int) -> None:
    """When any bytes arrive after the handshake, in any pieces, nothing raises or logs a bug."""
    wire = connected()
    data = b"".join(chunks)
    with capturedLogs() as events:
        for start in range(0, len(data), split):
            wire.send(data[start : start + split])
    assert not failures(events)
    if not wire.closed:
        assert len(wire.proto._buffer) < 2**20


@settings(max_examples=200)
@given(st.binary(max_size=80), st.sampled_from([None, "pw"]))
def test_random_handshake_never_raises(data: bytes, password: str | None) -> None:
    """When any bytes arrive instead of a handshake, nothing raises or logs a bug."""
    factory = RFBServerFactory(Framebuffer("fuzz", 160, 48), SecurityConfig(password=password))
    wire = Wire(factory)
    with capturedLogs() as events:
        wire.send(V38 + data)
    assert not failures(events)
