"""The framebuffer: text drawn as pixels, damage rectangles, screenshots."""

from __future__ import annotations

import pytest

from nova_ws.compute.drivers.fake.rfb import Framebuffer
from nova_ws.compute.drivers.fake.rfb.font import default_font
from nova_ws.compute.drivers.fake.rfb.framebuffer import BACKGROUND, PALETTE
from nova_ws.compute.drivers.fake.rfb.region import Rect
from nova_ws.compute.drivers.fake.rfb.screen import Attr

BG = ((BACKGROUND >> 16) & 0xFF, (BACKGROUND >> 8) & 0xFF, BACKGROUND & 0xFF)


def cell_pixels(fb: Framebuffer, column: int, row: int) -> set[tuple[int, int, int]]:
    """The distinct colours in one 8x16 character cell."""
    return {fb.pixel(column * 8 + dx, row * 16 + dy) for dx in range(8) for dy in range(16)}


def ink(fb: Framebuffer, column: int, row: int) -> int:
    """How many pixels of a text cell are not background."""
    return sum(
        fb.pixel(column * 8 + dx, row * 16 + dy) != BG for dx in range(8) for dy in range(16)
    )


def test_default_size_and_grid() -> None:
    """When built with defaults, the screen is 800x600: 100 columns of 37 rows."""
    fb = Framebuffer("guest")
    assert (fb.width, fb.height) == (800, 600)
    assert (fb.screen.columns, fb.screen.rows) == (100, 37)


def test_font_has_printable_ascii() -> None:
    """When the font is built, every printable ASCII character has ink (but space)."""
    font = default_font()
    for code in range(0x21, 0x7F):
        assert any(font.glyph(chr(code))), chr(code)
    assert not any(font.glyph(" "))
    assert font.glyph("\u263a") == font.glyph("?")


def test_text_puts_ink_where_the_characters_are() -> None:
    """When a line is logged, its character cells have ink and blank cells have none."""
    fb = Framebuffer("guest", 320, 96)
    fb.log("Hi  there")
    assert ink(fb, 0, 1) > 5  # H
    assert ink(fb, 1, 1) > 5  # i
    assert ink(fb, 2, 1) == 0  # space
    assert ink(fb, 4, 1) > 5  # t
    assert ink(fb, 20, 1) == 0


def test_same_character_same_pixels() -> None:
    """When a character appears twice, both cells hold the same pixels."""
    fb = Framebuffer("guest", 320, 96)
    fb.log("AxA")
    first = [fb.pixel(dx, 16 + dy) for dy in range(16) for dx in range(8)]
    third = [fb.pixel(16 + dx, 16 + dy) for dy in range(16) for dx in range(8)]
    assert first == third


def test_title_bar_colours() -> None:
    """When drawn, the title row uses the title colours."""
    fb = Framebuffer("guest", 320, 96)
    fg, bg = PALETTE[Attr.TITLE]
    colours = {(c >> 16 & 0xFF, c >> 8 & 0xFF, c & 0xFF) for c in (fg, bg)}
    assert cell_pixels(fb, 1, 0) <= colours
    assert len(cell_pixels(fb, 1, 0)) == 2  # the "g" of guest: ink on the bar


def test_typing_ls_and_return_logs_it() -> None:
    """When "ls" and Return are typed, the log gets "$ ls" and the prompt is empty."""
    fb = Framebuffer("guest", 320, 96)
    fb.log("Welcome")
    fb.type_text("ls\n")
    lines = fb.text().splitlines()
    assert lines[1:3] == ["Welcome", "$ ls"]
    assert lines[-1] == "$"
    assert ink(fb, 2, 2) > 5  # the l of "$ ls" on row 2


def test_typing_damages_only_the_prompt_cells() -> None:
    """When one key is typed, the damage is that cell and the cursor, on the prompt row."""
    fb = Framebuffer("guest", 320, 96)
    damage: list[Rect] = []
    fb.add_damage_listener(damage.append)
    fb.key_event(ord("a"))
    assert damage == [Rect(16, 80, 16, 16)]  # "a" at column 2 and the cursor at column 3
    fb.key_event(ord("a"), down=False)
    assert len(damage) == 1


def test_unchanged_screen_sends_no_damage() -> None:
    """When an edit changes nothing visible, no listener is called."""
    fb = Framebuffer("guest", 320, 96)
    damage: list[Rect] = []
    fb.add_damage_listener(damage.append)
    fb.set_power_state("running")
    fb.key_event(0xFF08)  # BackSpace on an empty prompt
    assert damage == []
    fb.remove_damage_listener(damage.append)
    fb.log("x")
    assert damage == []


def test_broken_listener_does_not_stop_others() -> None:
    """When one damage listener raises, the others still hear of the change."""
    fb = Framebuffer("guest", 320, 96)

    def broken(rect: Rect) -> None:
        raise RuntimeError("boom")

    heard: list[Rect] = []
    fb.add_damage_listener(broken)
    fb.add_damage_listener(heard.append)
    fb.log("x")
    assert heard


def test_power_states_on_screen() -> None:
    """When paused or shut down, the screen says so; running brings the console back."""
    fb = Framebuffer("guest", 320, 96)
    fb.log("boot ok")
    fb.set_power_state("paused")
    assert "-- paused --" in fb.text()
    fb.set_power_state("shutdown")
    assert "-- powered off --" in fb.text() and "boot ok" not in fb.text()
    assert fb.pixel(0, 40) == (0, 0, 0)  # dark body
    fb.set_power_state("running")
    assert "boot ok" in fb.text()
    with pytest.raises(ValueError):
        fb.set_power_state("gone")  # type: ignore[arg-type]


def test_screenshot_matches_pixels() -> None:
    """When a screenshot is taken, its pixels are the framebuffer's."""
    fb = Framebuffer("guest", 160, 48)
    fb.log("hello")
    image = fb.screenshot()
    assert image.size == (160, 48)
    for x, y in [(0, 0), (9, 20), (159, 47), (17, 19)]:
        assert image.getpixel((x, y)) == fb.pixel(x, y)
    assert len(fb.rgb_bytes()) == 160 * 48 * 3


def test_region_pixels_and_bounds() -> None:
    """When a rectangle's pixels are read, they come row by row."""
    fb = Framebuffer("guest", 160, 48)
    pixels = fb.region_pixels(Rect(3, 4, 2, 2))
    assert len(pixels) == 4
    assert pixels[2] == fb.pixels[5 * 160 + 3]
    with pytest.raises(IndexError):
        fb.pixel(160, 0)


def test_bad_size() -> None:
    """When the size is out of range for RFB, construction fails."""
    with pytest.raises(ValueError):
        Framebuffer("guest", 0, 100)
    with pytest.raises(ValueError):
        Framebuffer("guest", 70000, 100)


def test_unwatched_screen_is_drawn_once_when_read() -> None:
    """When nobody watches, edits only mark the screen; the first read draws it once, fully."""
    from nova_ws.compute.drivers.fake.rfb.framebuffer import Framebuffer

    class Counting(Framebuffer):
        draws = 0

        def _refresh(self) -> None:
            type(self).draws += 1
            super()._refresh()

    fb = Counting("lazy")
    for n in range(50):
        fb.log(f"line {n}")
    assert Counting.draws == 0
    assert fb.rgb_bytes() != bytes(len(fb.rgb_bytes()))  # text drawn
    assert Counting.draws == 1
    fb.add_damage_listener(lambda rect: None)
    fb.log("watched")
    assert Counting.draws == 2  # with a watcher, every edit draws at once
