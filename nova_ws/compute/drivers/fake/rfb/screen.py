"""The guest console as text: a title line, a scrolling boot log and a prompt.

``Screen`` is the text model behind the framebuffer: it holds the log and the
line being typed, turns RFB key events (X11 keysyms) into edits, and lays the
whole screen out as rows of (character, attribute) cells. It knows nothing of
pixels; ``Framebuffer`` draws what it lays out.

Layout when running: row 0 is the title (guest name, power state), the rows
below show the last lines of the log, top-aligned and wrapped at the screen
width, and the last row is the prompt ``$ <typed text>`` with a block cursor.
When paused the prompt row becomes a banner and keys are ignored; when shut
down the screen goes dark with a "powered off" banner, and keys are ignored.
"""

from __future__ import annotations

from collections import deque
from enum import IntEnum
from typing import Literal, get_args

PowerState = Literal["running", "paused", "shutdown"]
POWER_STATES: tuple[PowerState, ...] = get_args(PowerState)

KEY_BACKSPACE = 0xFF08
KEY_RETURN = 0xFF0D
KEY_KP_ENTER = 0xFF8D
KEY_DELETE = 0xFFFF
KEY_KP_DELETE = 0xFF9F
CONTROL_KEYS = frozenset({0xFFE3, 0xFFE4})  # Control_L, Control_R
ALT_KEYS = frozenset({0xFFE9, 0xFFEA, 0xFE03})  # Alt_L, Alt_R, ISO_Level3_Shift (AltGr)
PROMPT = "$ "
#: what the console logs when it gets Ctrl+Alt+Delete (a real guest would reboot)
CTRL_ALT_DEL_LINE = "[ctrl-alt-del] the system is going down for reboot NOW"


class Attr(IntEnum):
    """How a cell is coloured; ``Framebuffer`` maps each to foreground and background."""

    TEXT = 0
    TITLE = 1
    PROMPT = 2
    CURSOR = 3
    BANNER = 4
    OFF = 5


Cell = tuple[str, Attr]
Row = tuple[Cell, ...]

_STATE_LABELS: dict[PowerState, str] = {
    "running": "running",
    "paused": "paused",
    "shutdown": "powered off",
}


def printable(text: str) -> str:
    """``text`` with tabs expanded and other control characters shown as ``?``."""
    text = text.expandtabs(8)
    return "".join(ch if ch.isprintable() else "?" for ch in text)


class Screen:
    """The console's text state, and its layout on a ``columns`` x ``rows`` grid."""

    def __init__(
        self,
        name: str,
        columns: int,
        rows: int,
        max_log_lines: int = 1000,
        max_input: int = 1024,
    ) -> None:
        if columns < 16 or rows < 3:
            raise ValueError(f"a console needs at least 16x3 cells, not {columns}x{rows}")
        self.name = printable(name)
        self.columns = columns
        self.rows = rows
        self._log: deque[str] = deque(maxlen=max_log_lines)
        self._input = ""
        self._max_input = max_input
        self._power_state: PowerState = "running"
        self._held: set[int] = set()  # modifier keys held down

    @property
    def power_state(self) -> PowerState:
        """``running``, ``paused`` or ``shutdown``."""
        return self._power_state

    @property
    def input(self) -> str:
        """What has been typed at the prompt and not yet committed with Return."""
        return self._input

    @property
    def log_lines(self) -> tuple[str, ...]:
        """The log, oldest first (at most ``max_log_lines``)."""
        return tuple(self._log)

    def log(self, text: str) -> None:
        """Append ``text`` to the log, one log line per line of text."""
        for line in text.splitlines() or [""]:
            self._log.append(printable(line))

    def clear_log(self) -> None:
        """Forget the log (as a reboot clears a real console)."""
        self._log.clear()

    def set_power_state(self, state: PowerState) -> None:
        """Show the console for ``state``; ValueError for an unknown state."""
        if state not in POWER_STATES:
            raise ValueError(f"unknown power state {state!r}")
        self._power_state = state

    def key(self, keysym: int, down: bool = True) -> bool:
        """Apply one key event; True when it changed the screen.

        Only key presses of a running guest count. Printable Latin-1 keysyms
        append their character, BackSpace deletes the last one, Return (or
        keypad Enter) logs ``$ <text>`` and starts an empty prompt. Delete
        with Control and Alt held logs ``CTRL_ALT_DEL_LINE`` (the fake guest
        does not reboot: the line shows that the keys arrived together).
        """
        if keysym in CONTROL_KEYS or keysym in ALT_KEYS:
            if down:
                self._held.add(keysym)
            else:
                self._held.discard(keysym)
            return False
        if not down or self._power_state != "running":
            return False
        if keysym in (KEY_DELETE, KEY_KP_DELETE) and self._held & CONTROL_KEYS \
                and self._held & ALT_KEYS:
            self._log.append(CTRL_ALT_DEL_LINE)
            return True
        if keysym in (KEY_RETURN, KEY_KP_ENTER):
            self._log.append(PROMPT + self._input)
            self._input = ""
            return True
        if keysym == KEY_BACKSPACE:
            if not self._input:
                return False
            self._input = self._input[:-1]
            return True
        if 0x20 <= keysym <= 0x7E or 0xA0 <= keysym <= 0xFF:
            if len(self._input) >= self._max_input:
                return False
            self._input += chr(keysym)
            return True
        return False

    def layout(self) -> list[Row]:
        """Every row of the screen, each exactly ``columns`` cells wide."""
        rows = [self._title_row()]
        if self._power_state == "shutdown":
            body = [self._row("", Attr.OFF) for _ in range(self.rows - 1)]
            middle = (self.rows - 1) // 2
            body[middle] = self._row("-- powered off --".center(self.columns), Attr.OFF)
            return rows + body
        shown = self._visible_log(self.rows - 2)
        rows += [self._row(line, Attr.TEXT) for line in shown]
        rows += [self._row("", Attr.TEXT)] * (self.rows - 2 - len(shown))
        if self._power_state == "paused":
            rows.append(self._row("-- paused --".center(self.columns), Attr.BANNER))
        else:
            rows.append(self._prompt_row())
        return rows

    def text_lines(self) -> list[str]:
        """The layout as plain text, one string per row, trailing spaces removed."""
        return ["".join(ch for ch, _ in row).rstrip() for row in self.layout()]

    def _row(self, text: str, attr: Attr) -> Row:
        text = text[: self.columns].ljust(self.columns)
        return tuple((ch, attr) for ch in text)

    def _title_row(self) -> Row:
        label = _STATE_LABELS[self._power_state] + " "
        name = (" " + self.name)[: self.columns - len(label) - 1]
        return self._row(name.ljust(self.columns - len(label)) + label, Attr.TITLE)

    def _visible_log(self, count: int) -> list[str]:
        shown: list[str] = []
        for line in reversed(self._log):
            pieces = [line[i : i + self.columns] for i in range(0, len(line), self.columns)]
            shown[:0] = pieces or [""]
            if len(shown) >= count:
                return shown[-count:]
        return shown

    def _prompt_row(self) -> Row:
        room = self.columns - len(PROMPT) - 1
        typed = self._input[-room:] if len(self._input) > room else self._input
        cells = [(ch, Attr.PROMPT) for ch in PROMPT + typed]
        cells.append((" ", Attr.CURSOR))
        cells += [(" ", Attr.PROMPT)] * (self.columns - len(cells))
        return tuple(cells)
