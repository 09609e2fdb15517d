"""RFB pixel formats (RFC 6143 section 7.4) and turning framebuffer pixels into them.

The framebuffer keeps one ``int`` per pixel, ``0xRRGGBB``. A ``PixelEncoder``
turns a run of those into the bytes a client asked for with SetPixelFormat:
true colour at 8, 16 or 32 bits per pixel, any channel maximum and shift,
either byte order. Colour-map (palette) formats are refused.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar


class UnsupportedPixelFormat(ValueError):
    """A client asked for a pixel format this server cannot produce."""


@dataclass(frozen=True)
class PixelFormat:
    """The 16-byte PIXEL_FORMAT structure."""

    bits_per_pixel: int
    depth: int
    big_endian: bool
    true_colour: bool
    red_max: int
    green_max: int
    blue_max: int
    red_shift: int
    green_shift: int
    blue_shift: int

    STRUCT: ClassVar[struct.Struct] = struct.Struct("!BB??HHHBBB3x")

    @classmethod
    def from_bytes(cls, data: bytes) -> PixelFormat:
        """Parse and check a wire pixel format; UnsupportedPixelFormat when unusable."""
        if len(data) != cls.STRUCT.size:
            raise UnsupportedPixelFormat(f"pixel format is {len(data)} bytes, not 16")
        bpp, depth, big, true, rmax, gmax, bmax, rsh, gsh, bsh = cls.STRUCT.unpack(data)
        fmt = cls(bpp, depth, bool(big), bool(true), rmax, gmax, bmax, rsh, gsh, bsh)
        fmt.check()
        return fmt

    def to_bytes(self) -> bytes:
        """The wire form, as sent in ServerInit."""
        return self.STRUCT.pack(
            self.bits_per_pixel,
            self.depth,
            self.big_endian,
            self.true_colour,
            self.red_max,
            self.green_max,
            self.blue_max,
            self.red_shift,
            self.green_shift,
            self.blue_shift,
        )

    @property
    def bytes_per_pixel(self) -> int:
        """1, 2 or 4."""
        return self.bits_per_pixel // 8

    def check(self) -> None:
        """Raise UnsupportedPixelFormat unless this server can encode the format."""
        if self.bits_per_pixel not in (8, 16, 32):
            raise UnsupportedPixelFormat(f"{self.bits_per_pixel} bits per pixel")
        if not self.true_colour:
            raise UnsupportedPixelFormat("colour-map pixel formats are not supported")
        channels = (
            (self.red_max, self.red_shift),
            (self.green_max, self.green_shift),
            (self.blue_max, self.blue_shift),
        )
        for maximum, shift in channels:
            if maximum == 0 or maximum.bit_length() + shift > self.bits_per_pixel:
                raise UnsupportedPixelFormat(
                    f"channel max {maximum} shift {shift} does not fit {self.bits_per_pixel} bits"
                )

    def pack(self, rgb: int) -> bytes:
        """One ``0xRRGGBB`` pixel in this format."""
        red, green, blue = (rgb >> 16) & 0xFF, (rgb >> 8) & 0xFF, rgb & 0xFF
        value = (
            ((red * self.red_max + 127) // 255) << self.red_shift
            | ((green * self.green_max + 127) // 255) << self.green_shift
            | ((blue * self.blue_max + 127) // 255) << self.blue_shift
        )
        return value.to_bytes(self.bytes_per_pixel, "big" if self.big_endian else "little")

    def unpack(self, data: bytes) -> tuple[int, int, int]:
        """One pixel's bytes back to 8-bit (red, green, blue), for tests and clients."""
        value = int.from_bytes(data, "big" if self.big_endian else "little")

        def channel(maximum: int, shift: int) -> int:
            return ((value >> shift) & maximum) * 255 // maximum

        return (
            channel(self.red_max, self.red_shift),
            channel(self.green_max, self.green_shift),
            channel(self.blue_max, self.blue_shift),
        )


#: The server's own format, sent in ServerInit: 32 bpp, depth 24, little
#: endian, 8 bits a channel, red at bit 16, green at 8, blue at 0 (bytes on
#: the wire: blue, green, red, padding). QEMU's VNC server uses the same.
SERVER_PIXEL_FORMAT = PixelFormat(32, 24, False, True, 255, 255, 255, 16, 8, 0)


def little_endian_bytes(pixels: array[int]) -> bytes:
    """The pixels as 32-bit little-endian words: the server format's wire bytes."""
    if sys.byteorder == "little":
        return pixels.tobytes()
    swapped = array("I", pixels)
    swapped.byteswap()
    return swapped.tobytes()


class _PackCache(dict[int, bytes]):
    def __init__(self, fmt: PixelFormat) -> None:
        super().__init__()
        self._fmt = fmt

    def __missing__(self, rgb: int) -> bytes:
        packed = self[rgb] = self._fmt.pack(rgb)
        return packed


class PixelEncoder:
    """Encodes runs of ``0xRRGGBB`` pixels into one client pixel format."""

    def __init__(self, fmt: PixelFormat) -> None:
        fmt.check()
        self.format = fmt
        self._byte_lanes = self._lanes(fmt)
        self._cache = _PackCache(fmt)

    @staticmethod
    def _lanes(fmt: PixelFormat) -> tuple[int, int, int] | None:
        """Byte positions of red, green, blue when the format is a byte shuffle."""
        maxima = (fmt.red_max, fmt.green_max, fmt.blue_max)
        if fmt.bits_per_pixel != 32 or maxima != (255, 255, 255):
            return None
        shifts = (fmt.red_shift, fmt.green_shift, fmt.blue_shift)
        if any(shift % 8 for shift in shifts):
            return None
        lanes = tuple(shift // 8 for shift in shifts)
        if fmt.big_endian:
            lanes = tuple(3 - lane for lane in lanes)
        return lanes[0], lanes[1], lanes[2]

    def encode(self, pixels: array[int] | Sequence[int]) -> bytes:
        """The pixels in the client's format, in order."""
        if self._byte_lanes is None:
            return b"".join(map(self._cache.__getitem__, pixels))
        source = little_endian_bytes(pixels if isinstance(pixels, array) else array("I", pixels))
        if self._byte_lanes == (2, 1, 0):
            return source
        out = bytearray(len(source))
        red, green, blue = self._byte_lanes
        out[red::4] = source[2::4]
        out[green::4] = source[1::4]
        out[blue::4] = source[0::4]
        return bytes(out)
