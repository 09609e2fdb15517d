"""FramebufferUpdates over an in-memory transport: content, dirty rectangles, formats."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_ws.compute.drivers.fake.rfb import (
    SERVER_PIXEL_FORMAT,
    Framebuffer,
    PixelFormat,
    RFBServerFactory,
)
from nova_ws.compute.drivers.fake.rfb.region import Rect
from tests.compute.drivers.fake.rfb.rfbclient import (
    Mirror,
    Wire,
    decode_pixels,
    handshake,
    key_event,
    read_update,
    set_encodings,
    set_pixel_format,
    type_keys,
    update_request,
)

WIDTH, HEIGHT = 320, 96
FULL = Rect(0, 0, WIDTH, HEIGHT)
RGB565 = PixelFormat(16, 16, False, True, 31, 63, 31, 11, 5, 0)
RGBX_BIG = PixelFormat(32, 24, True, True, 255, 255, 255, 24, 16, 8)
BGR233 = PixelFormat(8, 8, False, True, 7, 7, 3, 0, 3, 6)
NOVNC = PixelFormat(32, 24, False, True, 255, 255, 255, 0, 8, 16)


@pytest.fixture
def framebuffer() -> Framebuffer:
    """A 40x6-cell console with two boot lines."""
    fb = Framebuffer("guest-1", WIDTH, HEIGHT)
    fb.log("Booting the kernel\nStarting services")
    return fb


@pytest.fixture
def wire(framebuffer: Framebuffer) -> Wire:
    """A client past the handshake."""
    wire, _ = handshake(RFBServerFactory(framebuffer))
    return wire


def screen_of(framebuffer: Framebuffer) -> list[tuple[int, int, int]]:
    """Every pixel of the framebuffer as (r, g, b), row-major."""
    return [framebuffer.pixel(x, y) for y in range(framebuffer.height) for x in range(WIDTH)]


def test_full_update_is_the_framebuffer(wire: Wire, framebuffer: Framebuffer) -> None:
    """When a client asks for the whole screen, the Raw pixels are the framebuffer's."""
    wire.send(update_request(False, FULL))
    update = read_update(wire, SERVER_PIXEL_FORMAT)
    assert [rect for rect, _ in update] == [FULL]
    assert decode_pixels(update[0][1], SERVER_PIXEL_FORMAT) == screen_of(framebuffer)
    assert wire.pending() == b""


def test_incremental_after_typing_sends_only_the_prompt(
    wire: Wire, framebuffer: Framebuffer
) -> None:
    """When keys are typed, an incremental update covers only the changed prompt cells."""
    wire.send(update_request(False, FULL))
    mirror = Mirror(WIDTH, HEIGHT)
    mirror.apply(read_update(wire, SERVER_PIXEL_FORMAT), SERVER_PIXEL_FORMAT)
    wire.send(update_request(True, FULL))
    assert wire.pending() == b""  # nothing changed yet: the request waits
    wire.send(type_keys("ls"))
    first = read_update(wire, SERVER_PIXEL_FORMAT)  # the waiting request, answered at once
    assert wire.pending() == b""  # and only once: later changes wait for a request
    wire.send(update_request(True, FULL))
    second = read_update(wire, SERVER_PIXEL_FORMAT)
    prompt_row = Rect(0, HEIGHT - 16, WIDTH, 16)
    for rect, _ in first + second:
        assert prompt_row.contains(rect)
        assert rect.w <= 3 * 8  # a character and the cursor, not the whole row
    mirror.apply(first, SERVER_PIXEL_FORMAT)
    mirror.apply(second, SERVER_PIXEL_FORMAT)
    assert mirror.pixels == screen_of(framebuffer)
    assert framebuffer.screen.input == "ls"


def test_changes_without_request_are_coalesced(wire: Wire, framebuffer: Framebuffer) -> None:
    """When the screen changes many times with no request, nothing is sent; then one update."""
    wire.send(update_request(False, FULL))
    mirror = Mirror(WIDTH, HEIGHT)
    mirror.apply(read_update(wire, SERVER_PIXEL_FORMAT), SERVER_PIXEL_FORMAT)
    for number in range(20):
        framebuffer.log(f"line {number}")
    wire.send(type_keys("hello"))
    assert wire.pending() == b""
    assert len(wire.proto.updates.dirty) <= 16
    wire.send(update_request(True, FULL))
    update = read_update(wire, SERVER_PIXEL_FORMAT)
    assert wire.pending() == b""
    assert len(update) <= 16
    assert wire.proto.updates.dirty == []
    mirror.apply(update, SERVER_PIXEL_FORMAT)
    assert mirror.pixels == screen_of(framebuffer)


def test_return_logs_the_line_for_every_client(framebuffer: Framebuffer) -> None:
    """When one client types a command, another client's update shows it in the log."""
    factory = RFBServerFactory(framebuffer)
    typist, _ = handshake(factory)
    viewer, _ = handshake(factory)
    mirror = Mirror(WIDTH, HEIGHT)
    viewer.send(update_request(False, FULL))
    mirror.apply(read_update(viewer, SERVER_PIXEL_FORMAT), SERVER_PIXEL_FORMAT)
    typist.send(type_keys("uptime\n"))
    viewer.send(update_request(True, FULL))
    mirror.apply(read_update(viewer, SERVER_PIXEL_FORMAT), SERVER_PIXEL_FORMAT)
    assert "$ uptime" in framebuffer.text().splitlines()
    assert mirror.pixels == screen_of(framebuffer)


@pytest.mark.parametrize("fmt", [RGB565, RGBX_BIG, BGR233, NOVNC])
def test_set_pixel_format_changes_the_bytes(
    wire: Wire, framebuffer: Framebuffer, fmt: PixelFormat
) -> None:
    """When a client sets another true-colour format, updates come in it."""
    wire.send(set_pixel_format(fmt))
    wire.send(update_request(False, FULL))
    ((_, data),) = read_update(wire, fmt)
    assert len(data) == FULL.area * fmt.bytes_per_pixel
    expected = b"".join(fmt.pack(r << 16 | g << 8 | b) for r, g, b in screen_of(framebuffer))
    assert data == expected


def test_16bpp_differs_from_32bpp(wire: Wire, framebuffer: Framebuffer) -> None:
    """When a client switches to 16 bpp, the same pixel is sent as two other bytes."""
    wire.send(update_request(False, Rect(0, 0, 1, 1)))
    ((_, native),) = read_update(wire, SERVER_PIXEL_FORMAT)
    wire.send(set_pixel_format(RGB565))
    wire.send(update_request(False, Rect(0, 0, 1, 1)))
    ((_, packed),) = read_update(wire, RGB565)
    r, g, b = framebuffer.pixel(0, 0)
    assert native == bytes([b, g, r, 0])
    value = (r * 31 + 127) // 255 << 11 | (g * 63 + 127) // 255 << 5 | (b * 31 + 127) // 255
    assert packed == value.to_bytes(2, "little")
    assert packed != native[:2]


def test_request_is_clipped_to_the_screen(wire: Wire) -> None:
    """When a request reaches past the screen, the update covers only what exists."""
    wire.send(update_request(False, Rect(WIDTH - 10, HEIGHT - 5, 100, 100)))
    update = read_update(wire, SERVER_PIXEL_FORMAT)
    assert [rect for rect, _ in update] == [Rect(WIDTH - 10, HEIGHT - 5, 10, 5)]


def test_empty_full_request_is_answered_empty(wire: Wire) -> None:
    """When a non-incremental request covers nothing, an update with no rectangles answers."""
    wire.send(update_request(False, Rect(WIDTH + 1, 0, 5, 5)))
    assert read_update(wire, SERVER_PIXEL_FORMAT) == []


def test_full_write_buffer_holds_updates(wire: Wire, framebuffer: Framebuffer) -> None:
    """When the transport pauses its producer, no update goes out until it resumes."""
    wire.send(update_request(False, FULL))
    read_update(wire, SERVER_PIXEL_FORMAT)
    wire.send(update_request(True, FULL))
    wire.proto.pauseProducing()
    framebuffer.log("more")
    assert wire.pending() == b""
    wire.proto.resumeProducing()
    assert read_update(wire, SERVER_PIXEL_FORMAT)


def test_other_messages_are_accepted(wire: Wire) -> None:
    """When a client sends encodings, pointer moves and clipboard text, nothing breaks."""
    wire.send(set_encodings([0, 1, 5, 16, -223, -224, -239, -258, -308, -312, -313]))
    wire.send(b"\x05\x00\x00\x10\x00\x20")  # PointerEvent
    wire.send(b"\x06\x00\x00\x00\x00\x00\x00\x05hello")  # ClientCutText
    wire.send(b"\x06\x00\x00\x00\xff\xff\xff\xfc\x00\x00\x00\x01")  # extended clipboard form
    assert not wire.closed
    assert wire.proto.encodings[:2] == (0, 1)
    wire.send(update_request(False, Rect(0, 0, 2, 2)))
    assert [rect for rect, _ in read_update(wire, SERVER_PIXEL_FORMAT)] == [Rect(0, 0, 2, 2)]


def test_closed_client_gets_no_more_updates(wire: Wire, framebuffer: Framebuffer) -> None:
    """When a client has gone, later changes do not touch its transport."""
    wire.send(update_request(True, FULL))
    wire.close()
    framebuffer.log("after")
    assert wire.pending() == b""


def test_keys_during_pause_change_nothing(wire: Wire, framebuffer: Framebuffer) -> None:
    """When the guest is paused, typed keys are ignored."""
    framebuffer.set_power_state("paused")
    wire.send(type_keys("x\n"))
    assert framebuffer.screen.input == ""
    assert "$ x" not in framebuffer.text()


def test_server_speaks_first() -> None:
    """When the helper builds a connection, the server speaks first."""
    wire = Wire(RFBServerFactory(Framebuffer("g", 160, 48)))
    assert wire.pending() == b"RFB 003.008\n"


edits = st.lists(
    st.one_of(
        st.tuples(st.just("log"), st.text(max_size=60)),
        st.tuples(st.just("key"), st.sampled_from([0x61, 0x5A, 0x20, 0xFF08, 0xFF0D, 0xFFE1])),
        st.tuples(st.just("power"), st.sampled_from(["running", "paused", "shutdown"])),
        st.tuples(st.just("request"), st.booleans()),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(edits)
def test_client_view_always_converges(ops: list[tuple[str, object]]) -> None:
    """When any edits and requests interleave, the client's picture ends equal to the screen."""
    framebuffer = Framebuffer("guest-1", 160, 48)
    wire, _ = handshake(RFBServerFactory(framebuffer))
    mirror = Mirror(160, 48)
    wire.send(update_request(False, framebuffer.bounds))

    def drain() -> None:
        while wire.pending():
            mirror.apply(read_update(wire, SERVER_PIXEL_FORMAT), SERVER_PIXEL_FORMAT)

    drain()
    for op, arg in ops:
        if op == "log":
            framebuffer.log(str(arg))
        elif op == "key":
            wire.send(key_event(int(arg), True))  # type: ignore[call-overload]
        elif op == "power":
            framebuffer.set_power_state(arg)  # type: ignore[arg-type]
        else:
            wire.send(update_request(bool(arg), framebuffer.bounds))
        drain()
    wire.send(update_request(True, framebuffer.bounds))
    drain()
    expected = [framebuffer.pixel(x, y) for y in range(48) for x in range(160)]
    assert mirror.pixels == expected
