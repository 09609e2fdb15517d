"""The guest's pixels: a ``Screen`` drawn with the bitmap font, with damage tracking.

``Framebuffer`` holds one ``0xRRGGBB`` int per pixel (row-major) and redraws
only the character cells whose content changed after each edit. Each change
is reported to every damage listener as a ``Rect``; an RFB connection keeps its
own dirty ``Region`` from those, so each client gets only what changed since
its last update.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import TYPE_CHECKING

from twisted.logger import Logger

from nova_ws.compute.drivers.fake.rfb.font import Font, default_font
from nova_ws.compute.drivers.fake.rfb.pixelformat import little_endian_bytes
from nova_ws.compute.drivers.fake.rfb.region import Rect
from nova_ws.compute.drivers.fake.rfb.screen import Attr, PowerState, Row, Screen

if TYPE_CHECKING:
    from PIL.Image import Image

log = Logger()

DamageListener = Callable[[Rect], None]

BACKGROUND = 0x101418
#: Foreground and background of each cell attribute.
PALETTE: dict[Attr, tuple[int, int]] = {
    Attr.TEXT: (0xC8C8C8, BACKGROUND),
    Attr.TITLE: (0xFFFFFF, 0x1F4E8C),
    Attr.PROMPT: (0x7CD67C, BACKGROUND),
    Attr.CURSOR: (BACKGROUND, 0x7CD67C),
    Attr.BANNER: (0x101010, 0xE0B000),
    Attr.OFF: (0x808080, 0x000000),
}


class Framebuffer:
    """A ``width`` x ``height`` true-colour screen showing one guest's console."""

    def __init__(
        self,
        name: str,
        width: int = 800,
        height: int = 600,
        font: Font | None = None,
        max_log_lines: int = 1000,
    ) -> None:
        if not (0 < width <= 0xFFFF and 0 < height <= 0xFFFF):
            raise ValueError(f"framebuffer size {width}x{height} out of range")
        self.font = font or default_font()
        self.width = width
        self.height = height
        self.screen = Screen(
            name, width // self.font.width, height // self.font.height, max_log_lines
        )
        self.pixels: array[int] = array("I", [BACKGROUND]) * (width * height)
        self._rows: list[Row] = []
        self._listeners: list[DamageListener] = []
        self._scanlines: dict[tuple[int, int, int], array[int]] = {}
        self._stale = True  # drawn when first looked at (see _changed)

    @property
    def name(self) -> str:
        """The guest's name, as shown in the title and sent in ServerInit."""
        return self.screen.name

    @property
    def power_state(self) -> PowerState:
        """The power state the screen shows."""
        return self.screen.power_state

    @property
    def bounds(self) -> Rect:
        """The whole framebuffer."""
        return Rect(0, 0, self.width, self.height)

    # listeners

    def add_damage_listener(self, listener: DamageListener) -> None:
        """Call ``listener(rect)`` for every rectangle that changes from now on."""
        self._catch_up()
        self._listeners.append(listener)

    def remove_damage_listener(self, listener: DamageListener) -> None:
        """Stop calling ``listener``; no error when it was not added."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    # edits

    def log(self, text: str) -> None:
        """Append lines to the boot log and redraw what changed."""
        self.screen.log(text)
        self._changed()

    def clear_log(self) -> None:
        """Empty the log and redraw."""
        self.screen.clear_log()
        self._changed()

    def set_power_state(self, state: PowerState) -> None:
        """Show ``running``, ``paused`` or ``shutdown``; ValueError for anything else."""
        self.screen.set_power_state(state)
        self._changed()

    def key_event(self, keysym: int, down: bool = True) -> None:
        """Feed one RFB key event to the prompt and redraw what changed."""
        if self.screen.key(keysym, down):
            self._changed()

    def type_text(self, text: str) -> None:
        """Press each character of ``text`` at the prompt (``\\n`` presses Return)."""
        for char in text:
            keysym = 0xFF0D if char == "\n" else ord(char)
            self.key_event(keysym, True)
            self.key_event(keysym, False)

    # introspection

    def text(self) -> str:
        """The screen as text: one line per row, trailing blanks removed."""
        return "\n".join(self.screen.text_lines()).rstrip("\n")

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        """The (red, green, blue) of one pixel."""
        self._catch_up()
        if not (0 <= x < self.width and 0 <= y < self.height):
            raise IndexError(f"pixel ({x}, {y}) outside {self.width}x{self.height}")
        value = self.pixels[y * self.width + x]
        return (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF

    def region_pixels(self, rect: Rect) -> array[int]:
        """The ``0xRRGGBB`` pixels of ``rect``, row by row."""
        self._catch_up()
        out: array[int] = array("I")
        for y in range(rect.y, rect.bottom):
            start = y * self.width + rect.x
            out.extend(self.pixels[start : start + rect.w])
        return out

    def rgb_bytes(self) -> bytes:
        """The whole screen as packed 8-bit RGB, row-major (Pillow's ``RGB`` mode)."""
        self._catch_up()
        out = bytearray(len(self.pixels) * 3)
        source = little_endian_bytes(self.pixels)
        out[0::3] = source[2::4]
        out[1::3] = source[1::4]
        out[2::3] = source[0::4]
        return bytes(out)

    def screenshot(self) -> Image:
        """The screen as a Pillow ``RGB`` image."""
        self._catch_up()
        from PIL import Image as PILImage

        return PILImage.frombytes("RGB", (self.width, self.height), self.rgb_bytes())

    # drawing

    def _changed(self) -> None:
        """Redraw now if someone is watching; otherwise when the pixels are next read.

        Drawing the screen in Python costs milliseconds, and most guests of a
        busy fake host are never looked at.
        """
        if self._listeners:
            self._catch_up()
            self._refresh()
        else:
            self._stale = True

    def _catch_up(self) -> None:
        if self._stale:
            self._stale = False
            self._refresh()

    def _refresh(self) -> None:
        rows = self.screen.layout()
        damaged: list[Rect] = []
        for index, row in enumerate(rows):
            old = self._rows[index] if index < len(self._rows) else None
            if old == row:
                continue
            first, last = 0, len(row) - 1
            if old is not None:
                while row[first] == old[first]:
                    first += 1
                while row[last] == old[last]:
                    last -= 1
            damaged.append(self._draw_span(index, first, row[first : last + 1]))
        self._rows = rows
        for rect in damaged:
            self._notify(rect)

    def _draw_span(self, row: int, first: int, cells: Row) -> Rect:
        cw, ch = self.font.width, self.font.height
        x0, y0 = first * cw, row * ch
        glyphs = [(self.font.glyph(char), PALETTE[attr]) for char, attr in cells]
        for dy in range(ch):
            line: array[int] = array("I")
            for glyph, (fg, bg) in glyphs:
                line.extend(self._scanline(glyph[dy], fg, bg))
            start = (y0 + dy) * self.width + x0
            self.pixels[start : start + len(line)] = line
        return Rect(x0, y0, len(cells) * cw, ch)

    def _scanline(self, mask: int, fg: int, bg: int) -> array[int]:
        key = (mask, fg, bg)
        found = self._scanlines.get(key)
        if found is None:
            bits = range(self.font.width)
            found = self._scanlines[key] = array("I", [fg if mask >> x & 1 else bg for x in bits])
        return found

    def _notify(self, rect: Rect) -> None:
        for listener in list(self._listeners):
            try:
                listener(rect)
            except Exception:
                log.failure("damage listener {listener!r} failed", listener=listener)
