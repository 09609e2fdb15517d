"""Pixel formats: the wire structure, validation and encoding."""

from __future__ import annotations

from array import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nova_ws.compute.drivers.fake.rfb.pixelformat import (
    SERVER_PIXEL_FORMAT,
    PixelEncoder,
    PixelFormat,
    UnsupportedPixelFormat,
)


def test_server_format_wire_bytes() -> None:
    """When the server format is packed, it is 32 bpp, depth 24, LE, true colour, RGB 16/8/0."""
    assert SERVER_PIXEL_FORMAT.to_bytes() == bytes(
        [32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]
    )
    assert PixelFormat.from_bytes(SERVER_PIXEL_FORMAT.to_bytes()) == SERVER_PIXEL_FORMAT


@pytest.mark.parametrize(
    "fmt",
    [
        PixelFormat(24, 24, False, True, 255, 255, 255, 16, 8, 0),
        PixelFormat(8, 8, False, False, 0, 0, 0, 0, 0, 0),
        PixelFormat(16, 16, False, True, 31, 63, 31, 12, 5, 0),
        PixelFormat(16, 16, False, True, 0, 63, 31, 11, 5, 0),
    ],
)
def test_unsupported_formats(fmt: PixelFormat) -> None:
    """When a format is 24 bpp, colour-mapped or has channels that do not fit, it is refused."""
    with pytest.raises(UnsupportedPixelFormat):
        PixelFormat.from_bytes(fmt.to_bytes())


def test_short_structure() -> None:
    """When the structure is not 16 bytes, it is refused."""
    with pytest.raises(UnsupportedPixelFormat):
        PixelFormat.from_bytes(b"\x20" * 15)


def test_known_encodings() -> None:
    """When pure colours are encoded, the bytes are the textbook ones."""
    rgb565 = PixelFormat(16, 16, False, True, 31, 63, 31, 11, 5, 0)
    assert rgb565.pack(0xFF0000) == b"\x00\xf8"
    assert rgb565.pack(0x00FF00) == b"\xe0\x07"
    assert PixelEncoder(SERVER_PIXEL_FORMAT).encode([0x123456]) == b"\x56\x34\x12\x00"
    big = PixelFormat(32, 24, True, True, 255, 255, 255, 16, 8, 0)
    assert PixelEncoder(big).encode([0x123456]) == b"\x00\x12\x34\x56"
    novnc = PixelFormat(32, 24, False, True, 255, 255, 255, 0, 8, 16)
    assert PixelEncoder(novnc).encode(array("I", [0x123456])) == b"\x12\x34\x56\x00"


formats = st.one_of(
    st.builds(
        lambda shifts, big: PixelFormat(32, 24, big, True, 255, 255, 255, *shifts),
        st.permutations([0, 8, 16]).map(tuple),
        st.booleans(),
    ),
    st.builds(
        lambda shifts, big: PixelFormat(32, 24, big, True, 255, 255, 255, *shifts),
        st.permutations([8, 16, 24]).map(tuple),
        st.booleans(),
    ),
    st.just(PixelFormat(16, 16, True, True, 31, 63, 31, 11, 5, 0)),
    st.just(PixelFormat(16, 15, False, True, 31, 31, 31, 10, 5, 0)),
    st.just(PixelFormat(8, 8, False, True, 7, 7, 3, 0, 3, 6)),
)


@given(formats, st.lists(st.integers(0, 0xFFFFFF), max_size=50))
def test_encoder_agrees_with_pack(fmt: PixelFormat, pixels: list[int]) -> None:
    """When pixels are encoded in any format, each is its own pack() in order."""
    encoded = PixelEncoder(fmt).encode(array("I", pixels))
    assert encoded == b"".join(fmt.pack(p) for p in pixels)


@given(formats, st.integers(0, 0xFFFFFF))
def test_unpack_is_close(fmt: PixelFormat, rgb: int) -> None:
    """When a pixel is packed and unpacked, each channel is within its quantisation step."""
    red, green, blue = fmt.unpack(fmt.pack(rgb))
    for got, want, maximum in (
        (red, rgb >> 16, fmt.red_max),
        (green, rgb >> 8 & 0xFF, fmt.green_max),
        (blue, rgb & 0xFF, fmt.blue_max),
    ):
        assert abs(got - want) <= 255 // maximum + 1
