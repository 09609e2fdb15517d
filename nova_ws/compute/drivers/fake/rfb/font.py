"""A monospaced bitmap font for the guest console: printable ASCII in 8x16 cells.

The glyphs come from Pillow's built-in bitmap font (a 6x11 monospaced face
that ships inside Pillow itself), rendered once into 8x16 cells the first time
a font is asked for. Nothing is read from disk or fetched at run time.

A glyph is a tuple of ``height`` row masks; bit ``x`` of a row mask is set when
the pixel in column ``x`` (0 = leftmost) is ink.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

CELL_WIDTH = 8
CELL_HEIGHT = 16
#: Where the 6x11 face sits inside its 8x16 cell (left, top).
_GLYPH_OFFSET = (1, 3)
#: The glyph drawn for characters the font does not have.
REPLACEMENT = "?"


@dataclass(frozen=True)
class Font:
    """A fixed-cell bitmap font: row masks per character."""

    width: int
    height: int
    glyphs: Mapping[str, tuple[int, ...]]

    def glyph(self, char: str) -> tuple[int, ...]:
        """The row masks of ``char``, or of ``REPLACEMENT`` when the font lacks it."""
        found = self.glyphs.get(char)
        return found if found is not None else self.glyphs[REPLACEMENT]

    def has(self, char: str) -> bool:
        """Whether ``char`` has a glyph of its own."""
        return char in self.glyphs


@functools.cache
def default_font() -> Font:
    """The 8x16 console font, rendered from Pillow's bitmap face on first use."""
    from PIL import Image, ImageDraw, ImageFont

    face = ImageFont.load_default_imagefont()
    glyphs: dict[str, tuple[int, ...]] = {}
    for code in range(0x20, 0x7F):
        char = chr(code)
        cell = Image.new("L", (CELL_WIDTH, CELL_HEIGHT), 0)
        ImageDraw.Draw(cell).text(_GLYPH_OFFSET, char, font=face, fill=255)
        data = cell.tobytes()
        rows = []
        for y in range(CELL_HEIGHT):
            line = data[y * CELL_WIDTH : (y + 1) * CELL_WIDTH]
            rows.append(sum(1 << x for x, value in enumerate(line) if value >= 128))
        glyphs[char] = tuple(rows)
    return Font(CELL_WIDTH, CELL_HEIGHT, glyphs)
