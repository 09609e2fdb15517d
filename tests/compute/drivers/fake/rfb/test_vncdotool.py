"""A real VNC client, vncdotool's ``vncdo``, against a console served by the test reactor.

``vncdo`` runs as a subprocess through ``getProcessOutputAndValue``, so the
reactor keeps serving the console while the client works.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_twisted
from PIL import Image
from twisted.internet.utils import getProcessOutputAndValue

from nova_ws.compute.drivers.fake.rfb import GuestConsole
from nova_ws.compute.drivers.fake.rfb.framebuffer import PALETTE
from nova_ws.compute.drivers.fake.rfb.screen import Attr

pytestmark = pytest.mark.integration

VNCDO = str(Path(sys.executable).with_name("vncdo"))


async def vncdo(console: GuestConsole, *args: str, password: str | None = None) -> tuple[str, int]:
    """Run ``vncdo`` against the console; return its stderr and exit code once it has left."""
    from twisted.internet import reactor

    options = ["-t", "60", "-s", f"127.0.0.1::{console.port}"]
    if password is not None:
        options += ["-p", password]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    out, err, code = await getProcessOutputAndValue(
        VNCDO, [*options, *args], env=env, reactor=reactor
    )
    await console.factory.when_idle()  # the server has read everything the client sent
    return err.decode(errors="replace"), code


@pytest_twisted.async_yield_fixture
async def console() -> AsyncIterator[GuestConsole]:
    """A console with a boot log, listening on 127.0.0.1:0."""
    from twisted.internet import reactor

    guest = GuestConsole("vnc-guest", width=400, height=160)
    guest.log("Linux version 6.1.0 (fake)\nReached target Multi-User System.")
    guest.listen(reactor)
    yield guest
    await guest.stop()


@pytest_twisted.async_yield_fixture
async def locked() -> AsyncIterator[GuestConsole]:
    """A console that asks for the VNC password "sekrit"."""
    from twisted.internet import reactor

    guest = GuestConsole("locked-guest", password="sekrit", width=400, height=160)
    guest.log("login:")
    guest.listen(reactor)
    yield guest
    await guest.stop()


def rgb(value: int) -> tuple[int, int, int]:
    """0xRRGGBB as a tuple."""
    return (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF


def assert_shows_console(path: Path, console: GuestConsole) -> None:
    """The capture is the framebuffer, pixel for pixel, with a title bar and text in it."""
    image = Image.open(path).convert("RGB")
    assert image.size == (400, 160)
    assert image.tobytes() == console.framebuffer.rgb_bytes()
    assert image.getpixel((399, 0)) == rgb(PALETTE[Attr.TITLE][1])
    text_colour = rgb(PALETTE[Attr.TEXT][0])
    log_row = [image.getpixel((x, y)) for x in range(0, 80) for y in range(16, 32)]
    assert log_row.count(text_colour) > 50


@pytest_twisted.ensureDeferred
async def test_capture_shows_the_console(console: GuestConsole, tmp_path: Path) -> None:
    """When vncdo captures the screen, the PNG is the console as drawn."""
    shot = tmp_path / "screen.png"
    err, code = await vncdo(console, "capture", str(shot))
    assert code == 0, err
    assert_shows_console(shot, console)


@pytest_twisted.ensureDeferred
async def test_typed_text_reaches_the_prompt(console: GuestConsole, tmp_path: Path) -> None:
    """When vncdo types "hello" and Enter, the log shows "$ hello" and a capture shows it."""
    err, code = await vncdo(console, "type", "hello", "key", "enter")
    assert code == 0, err
    assert "$ hello" in console.text().splitlines()
    shot = tmp_path / "after.png"
    err, code = await vncdo(console, "type", "ls", "capture", str(shot))
    assert code == 0, err
    assert console.framebuffer.screen.input == "ls"
    assert_shows_console(shot, console)


@pytest_twisted.ensureDeferred
async def test_right_password(locked: GuestConsole, tmp_path: Path) -> None:
    """When vncdo gives the right VNC password, it captures and types."""
    shot = tmp_path / "locked.png"
    err, code = await vncdo(locked, "type", "whoami", "capture", str(shot), password="sekrit")
    assert code == 0, err
    assert locked.framebuffer.screen.input == "whoami"
    assert_shows_console(shot, locked)


@pytest_twisted.ensureDeferred
async def test_wrong_password(locked: GuestConsole, tmp_path: Path) -> None:
    """When vncdo gives a wrong password, it fails with the server's reason and types nothing."""
    err, code = await vncdo(locked, "type", "intruder", password="guess")
    assert code != 0
    assert "Authentication failed" in err
    assert locked.framebuffer.screen.input == ""
    assert "intruder" not in locked.text()
