"""The console's text model: log, prompt editing, power states, layout."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nova_ws.compute.drivers.fake.rfb.screen import (
    CTRL_ALT_DEL_LINE,
    KEY_BACKSPACE,
    KEY_DELETE,
    KEY_KP_ENTER,
    KEY_RETURN,
    Attr,
    Screen,
)


def typed(screen: Screen, text: str) -> None:
    """Press every character of ``text``."""
    for char in text:
        screen.key(ord(char))


def test_layout_when_running() -> None:
    """When running, row 0 is the title, the log follows, the prompt is last."""
    screen = Screen("web-1", 30, 5)
    screen.log("one\ntwo")
    lines = screen.text_lines()
    assert lines[0].startswith(" web-1") and lines[0].endswith("running")
    assert lines[1:3] == ["one", "two"]
    assert lines[-1] == "$"
    assert all(len(row) == 30 for row in screen.layout())


def test_typing_and_return() -> None:
    """When "ls" and Return are typed, "$ ls" joins the log and the prompt is empty."""
    screen = Screen("vm", 30, 5)
    typed(screen, "ls")
    assert screen.input == "ls"
    assert screen.text_lines()[-1] == "$ ls"
    assert screen.key(KEY_RETURN)
    assert screen.log_lines == ("$ ls",)
    assert screen.input == ""
    typed(screen, "pwd")
    assert screen.key(KEY_KP_ENTER)
    assert screen.log_lines[-1] == "$ pwd"


def test_backspace() -> None:
    """When BackSpace is pressed, the last character goes; on an empty prompt, nothing."""
    screen = Screen("vm", 30, 5)
    typed(screen, "lx")
    assert screen.key(KEY_BACKSPACE)
    assert screen.input == "l"
    screen.key(KEY_BACKSPACE)
    assert not screen.key(KEY_BACKSPACE)


def test_key_releases_and_unknown_keys_change_nothing() -> None:
    """When a key is released, or is Shift or F1, the screen does not change."""
    screen = Screen("vm", 30, 5)
    assert not screen.key(ord("a"), down=False)
    assert not screen.key(0xFFE1)  # Shift_L
    assert not screen.key(0xFFBE)  # F1
    assert screen.input == ""


CONTROL_L, ALT_L, ALT_R = 0xFFE3, 0xFFE9, 0xFFEA


def test_ctrl_alt_del_is_logged_only_with_both_modifiers_held() -> None:
    """When Delete comes with Control and Alt held (as noVNC sends it), the guest logs it."""
    screen = Screen("vm", 60, 5)
    assert not screen.key(KEY_DELETE)  # Delete alone: nothing
    screen.key(CONTROL_L)
    assert not screen.key(KEY_DELETE)  # Control+Delete: nothing
    screen.key(ALT_R)
    assert screen.key(KEY_DELETE)
    assert screen.log_lines == (CTRL_ALT_DEL_LINE,)
    for keysym in (KEY_DELETE, ALT_R, CONTROL_L):  # released in reverse order
        screen.key(keysym, down=False)
    assert not screen.key(KEY_DELETE)  # the modifiers are up again
    screen.key(ALT_L)
    screen.key(CONTROL_L)
    screen.set_power_state("paused")
    assert not screen.key(KEY_DELETE)  # a paused guest takes no keys
    assert screen.log_lines == (CTRL_ALT_DEL_LINE,)


def test_cursor_follows_the_input() -> None:
    """When text is typed, the cursor cell sits right after it."""
    screen = Screen("vm", 30, 5)
    typed(screen, "ab")
    prompt = screen.layout()[-1]
    assert prompt[4] == (" ", Attr.CURSOR)
    assert [cell for cell in prompt if cell[1] == Attr.CURSOR] == [(" ", Attr.CURSOR)]


def test_long_input_shows_its_tail() -> None:
    """When the input is wider than the screen, the prompt shows its end."""
    screen = Screen("vm", 20, 4)
    typed(screen, "abcdefghijklmnopqrstuvwxyz")
    assert screen.text_lines()[-1] == "$ jklmnopqrstuvwxyz"


def test_log_scrolls_and_wraps() -> None:
    """When the log outgrows the screen, the last lines show, long ones wrapped."""
    screen = Screen("vm", 16, 5)
    for number in range(10):
        screen.log(f"line {number}")
    screen.log("x" * 20)
    assert screen.text_lines()[1:4] == ["line 9", "x" * 16, "xxxx"]


def test_log_is_bounded() -> None:
    """When more lines are logged than the limit, the oldest are forgotten."""
    screen = Screen("vm", 16, 5, max_log_lines=3)
    for number in range(5):
        screen.log(str(number))
    assert screen.log_lines == ("2", "3", "4")


def test_control_characters_are_shown_safely() -> None:
    """When a log line holds tabs or control bytes, tabs expand and the rest show as ?."""
    screen = Screen("vm", 30, 5)
    screen.log("a\tb\x1b[0m")
    assert screen.log_lines == ("a       b?[0m",)


def test_paused_banner_and_no_keys() -> None:
    """When paused, the prompt row is a banner and keys are ignored."""
    screen = Screen("vm", 30, 5)
    screen.set_power_state("paused")
    assert not screen.key(ord("a"))
    lines = screen.text_lines()
    assert "paused" in lines[0]
    assert lines[-1].strip() == "-- paused --"


def test_shutdown_screen() -> None:
    """When shut down, the screen is dark with a powered-off banner; the log is kept."""
    screen = Screen("vm", 30, 5)
    screen.log("booted")
    screen.set_power_state("shutdown")
    assert "-- powered off --" in "\n".join(screen.text_lines())
    assert "booted" not in screen.text_lines()
    assert screen.log_lines == ("booted",)
    assert all(attr == Attr.OFF for row in screen.layout()[1:] for _, attr in row)
    screen.set_power_state("running")
    assert "booted" in screen.text_lines()


def test_unknown_power_state() -> None:
    """When asked for an unknown power state, the screen refuses."""
    with pytest.raises(ValueError):
        Screen("vm", 30, 5).set_power_state("exploded")  # type: ignore[arg-type]


def test_too_small() -> None:
    """When the grid is smaller than 16x3, construction fails."""
    with pytest.raises(ValueError):
        Screen("vm", 15, 3)


@given(st.lists(st.integers(min_value=0, max_value=0xFFFFFFFF), max_size=60))
def test_any_keys_keep_the_layout_whole(keysyms: list[int]) -> None:
    """When any key events arrive, every row stays exactly the screen's width."""
    screen = Screen("vm", 20, 4)
    for keysym in keysyms:
        screen.key(keysym)
    rows = screen.layout()
    assert len(rows) == 4
    assert all(len(row) == 20 for row in rows)
