"""A live SPICE console in Chromium: spice-html5 -> nova-spicehtml5proxy -> QEMU's SPICE server.

QEMU runs a real (diskless) PC with a QXL card and ``-spice`` on 127.0.0.1:
SeaBIOS boots, finds no disk and leaves its text screen up, which QEMU's
SPICE server offers on four channels (main, display, inputs, cursor);
``-machine none`` would serve SPICE too, but with no display channel. The
rest is the product as ``nova-ws up`` runs it (``start_allinone``): the API
answers the console URL, nova-consoleauth issues and checks the token (and
asks the compute host where the console listens), nova-spicehtml5proxy
serves spice-html5's ``spice_auto.html`` and pipes each channel's WebSocket
to QEMU. The fake driver's guests have VNC and serial consoles only, so the
compute host is told that the test's guest has its SPICE display at QEMU's
address; nothing else is stood in for.

What the browser got is checked three ways: the page (spice-html5's
``Connected to`` line, its display canvas), QEMU itself (QMP
``query-spice`` lists the channels the proxy opened) and the pixels (the
canvas equals QEMU's own ``screendump``).

spice-html5 opens one WebSocket per SPICE channel, each carrying the token
(in a cookie the page sets). With single-use tokens (the default) the first
channel consumes it and the proxy admits the others as channels of that open
console; once the console is closed the token opens nothing. The page's
``/src/ticket.js`` is ours: spice-html5's drops the leading zero bytes of
the encrypted ticket, which QEMU then cannot decrypt.
"""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from PIL import Image
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread

from nova_ws.compute.drivers.interfaces import ConsoleEndpoint
from nova_ws.testing.allinone import AllInOne, start_allinone
from tests.console import test_browser
from tests.console.rfb_support import QEMU, Qemu, _free_port, _wait_listening
from tests.console.support import raw_handshake
from tests.console.test_browser import Tab, eventually
from tests.integration.test_console_flow import Client, _active_server, _token

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: The browser tests' fixtures: Debian's Chromium (per module) and a fresh page in it.
chromium, tab = test_browser.chromium, test_browser.tab

#: QMP ``query-spice`` channel types (SPICE_CHANNEL_*).
MAIN, DISPLAY, INPUTS, CURSOR = 1, 2, 3, 4
#: SeaBIOS's text screen: 80x25 characters of 9x16 pixels.
SCREEN = (720, 400)

#: spice-html5's primary surface as packed RGB, base64 (JavaScript run in the page).
CANVAS_RGB = test_browser.canvas_rgb("#spice-screen canvas")


class SpiceQemu(Qemu):
    """``qemu-system-x86_64``: a PC with 64 MB, a QXL card, no disk; SPICE on 127.0.0.1.

    Modelled on ``Qemu`` (its VNC-only sibling); ``qmp`` talks to QEMU's
    monitor over a Unix socket in a short temporary directory (socket paths
    are limited to 108 bytes; ``tmp_path`` may be longer).
    """

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self._qmp_dir = Path(tempfile.mkdtemp(prefix="spice-qmp-"))
        self.qmp_socket = self._qmp_dir / "qmp.sock"

    def spice_command(self, port: int) -> list[str]:
        """The command line for a SPICE server on ``port``, without ticketing (no password)."""
        return [QEMU, "-machine", "pc", "-accel", "tcg", "-m", "64", "-nodefaults",
                "-vga", "qxl", "-display", "none", "-name", "spice-guest-under-test",
                "-monitor", "none", "-serial", "none",
                "-qmp", f"unix:{self.qmp_socket},server=on,wait=off",
                "-spice", f"port={port},addr=127.0.0.1,disable-ticketing=on"]

    def start(self) -> int:
        """Start QEMU on a free SPICE port and wait until it accepts; return the port."""
        for _ in range(5):
            port = _free_port()
            process = subprocess.Popen(
                self.spice_command(port), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if _wait_listening(process, port):
                self.process, self.port = process, port
                return port
            _, err = process.communicate(timeout=10)
            if b"binding socket to" not in err:  # SPICE's words for a port in use
                raise AssertionError(f"QEMU did not start: {err.decode(errors='replace')}")
        raise AssertionError("no free SPICE port for QEMU")

    def qmp(self, command: str, **arguments: Any) -> Any:
        """Run one QMP command (blocking: call it through ``deferToThread``); its ``return``."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(20)
            sock.connect(str(self.qmp_socket))
            replies = sock.makefile("rb")

            def execute(name: str, args: dict[str, Any]) -> Any:
                message = {"execute": name, **({"arguments": args} if args else {})}
                sock.sendall(json.dumps(message).encode() + b"\n")
                while True:
                    reply = json.loads(replies.readline())
                    if "error" in reply:
                        raise AssertionError(f"QMP {name}: {reply['error']}")
                    if "return" in reply:
                        return reply["return"]

            assert "QMP" in json.loads(replies.readline())  # the greeting
            execute("qmp_capabilities", {})
            return execute(command, arguments)

    def stop(self) -> None:
        """Terminate QEMU, reap it and remove its QMP socket's directory."""
        super().stop()
        shutil.rmtree(self._qmp_dir, ignore_errors=True)


@pytest.fixture
def qemu(tmp_path: Path) -> Iterator[SpiceQemu]:
    """QEMU with its SPICE server listening; stopped at teardown whatever happened."""
    workdir = tmp_path / "qemu"
    workdir.mkdir()
    server = SpiceQemu(workdir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


async def qmp(qemu: SpiceQemu, command: str, **arguments: Any) -> Any:
    """``qemu.qmp`` off the reactor thread."""
    return await deferToThread(qemu.qmp, command, **arguments)


async def spice_channels(qemu: SpiceQemu) -> list[dict[str, Any]]:
    """The SPICE channels QEMU has clients on (``query-spice``)."""
    return list((await qmp(qemu, "query-spice")).get("channels", []))


async def screendump(qemu: SpiceQemu, directory: Path) -> Image.Image:
    """QEMU's own picture of the guest's screen."""
    path = directory / "screendump.ppm"
    await qmp(qemu, "screendump", filename=str(path))
    return Image.open(BytesIO(path.read_bytes())).convert("RGB")


@dataclass
class Cloud:
    """The all-in-one, a demo user's API client and an ACTIVE server whose SPICE is QEMU's."""

    aio: AllInOne
    demo: Client
    uuid: str
    proxy: Any

    @property
    def proxy_base(self) -> str:
        return f"http://127.0.0.1:{self.aio.config.spice.html5proxy_port}"

    async def spice_url(self) -> str:
        """The URL ``POST /servers/{id}/remote-consoles`` answers for spice-html5."""
        code, body = await self.demo.request(
            "POST", f"/servers/{self.uuid}/remote-consoles",
            {"remote_console": {"protocol": "spice", "type": "spice-html5"}})
        assert code == 200, body
        assert body["remote_console"]["protocol"] == "spice"
        return str(body["remote_console"]["url"])


@pytest_twisted.async_yield_fixture
async def cloud_factory(
    qemu: SpiceQemu, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[[bool], Awaitable[Cloud]]]:
    """Starts the all-in-one (``multi_use``: ``[consoleauth] multi_use``) with one server."""
    from twisted.internet import reactor

    started: list[AllInOne] = []

    async def start(multi_use: bool) -> Cloud:
        state = tmp_path / "state"
        state.mkdir()
        aio = start_allinone(state)
        started.append(aio)
        service = aio.service
        for name in ("nova-api", "nova-conductor", "nova-compute", "nova-consoleauth",
                     "nova-spicehtml5proxy"):
            await service.getServiceNamed(name).client.when_joined()
        manager = service.getServiceNamed("nova-consoleauth").manager
        # nova.conf's [consoleauth] multi_use, on the running service
        monkeypatch.setattr(manager, "config", replace(manager.config, multi_use=multi_use))
        demo = Client(aio.api, await _token(aio.api, "demo", aio.credentials.demo_password,
                                            "demo"))
        uuid = await _active_server(reactor, demo, aio.api)

        driver = service.getServiceNamed("nova-compute").driver
        fake_get_console = driver.get_console

        def get_console(instance: str, kind: str) -> Deferred[ConsoleEndpoint]:
            # this guest's SPICE display is QEMU's; everything else stays the fake driver's
            if instance == uuid and kind == "spice":
                return succeed(ConsoleEndpoint("spice", "127.0.0.1", qemu.port))
            return fake_get_console(instance, kind)

        monkeypatch.setattr(driver, "get_console", get_console)
        return Cloud(aio, demo, uuid, service.getServiceNamed("nova-spicehtml5proxy"))

    yield start
    for aio in started:
        await aio.service.stopService()


async def canvas_matches_qemu(tab: Tab, qemu: SpiceQemu, directory: Path) -> Image.Image:
    """Wait until spice-html5's canvas is, pixel for pixel, QEMU's ``screendump``.

    The screen may still change (SeaBIOS printing, the text cursor
    blinking), so a fresh screendump is taken until the canvas shows one.
    """
    shot: dict[str, Any] | None = None
    expected = Image.new("RGB", SCREEN)
    for _ in range(10):
        expected = await screendump(qemu, directory)
        wanted = base64.b64encode(expected.tobytes()).decode()
        try:
            await tab.call("wait_for_function", f"wanted => ({CANVAS_RGB})()?.rgb === wanted",
                           arg=wanted, timeout=3_000)
            return expected
        except Exception:
            shot = await tab.call("evaluate", CANVAS_RGB)
    got = base64.b64decode(shot["rgb"]) if shot else b""
    differing = sum(1 for i in range(0, min(len(got), len(expected.tobytes())), 3)
                    if got[i:i + 3] != expected.tobytes()[i:i + 3])
    raise AssertionError(f"canvas {shot and (shot['width'], shot['height'])} never matched "
                         f"QEMU's screen {expected.size}: {differing} pixels differ")


async def error_messages(tab: Tab) -> list[str]:
    """The errors spice-html5 has shown in its message box."""
    return list(await tab.call("eval_on_selector_all", "#message-div .spice-message-error",
                               "nodes => nodes.map(n => n.textContent)"))


async def open_spice_page(tab: Tab, qemu: SpiceQemu, url: str) -> list[dict[str, Any]]:
    """Open ``url`` and wait until QEMU has the page's four channels; return them."""
    await tab.call("goto", url)
    channels: list[dict[str, Any]] = []
    for _ in range(int(30 / 0.05)):
        channels = await spice_channels(qemu)
        if len(channels) == 4 and await tab.call("query_selector", "#spice-screen canvas"):
            return channels
        await pause(0.05)
    raise AssertionError(f"spice-html5 never linked four channels: QEMU has {channels}, "
                         f"the page said {await error_messages(tab)}")


async def pause(seconds: float) -> None:
    """Let the reactor run for ``seconds``."""
    from twisted.internet import reactor

    await deferLater(reactor, seconds, lambda: None)


@pytest_twisted.ensureDeferred
async def test_spice_console_shows_qemu_screen(
    cloud_factory: Any, qemu: SpiceQemu, tab: Tab, tmp_path: Path
) -> None:
    """When the API's spice-html5 URL is opened, the page is a live SPICE session with QEMU.

    All four channels go through the proxy, QEMU has them all in one
    session, and the canvas is QEMU's screen, pixel for pixel.
    """
    cloud = await cloud_factory(False)  # single-use tokens, nova.conf's default
    url = await cloud.spice_url()
    assert url.startswith(f"{cloud.proxy_base}/spice_auto.html?token=")
    assert await spice_channels(qemu) == []

    factory = cloud.proxy.factory
    channels = await open_spice_page(tab, qemu, url)
    assert sorted(c["channel-type"] for c in channels) == [MAIN, DISPLAY, INPUTS, CURSOR]
    assert {c["host"] for c in channels} == {"127.0.0.1"}  # the proxy
    assert len({c["connection-id"] for c in channels}) == 1  # one SPICE session
    # SPICE_MSG_MAIN_INIT arrived on the main channel, the display made the primary surface
    assert await tab.call("text_content", "#message-div .spice-message-info") == \
        f"Connected to ws://127.0.0.1:{cloud.aio.config.spice.html5proxy_port}/websockify"
    assert await tab.call("get_attribute", "#spice-screen canvas", "id") == "spice_surface_0"

    await eventually(lambda: factory.metrics.open_sessions == 4, "four channels through the proxy")
    assert factory.metrics.channels_joined == 3  # the token was checked (and used up) once
    assert {s.target.instance_uuid for s in factory.sessions} == {cloud.uuid}
    assert {s.target.port for s in factory.sessions} == {qemu.port}

    screen = await canvas_matches_qemu(tab, qemu, tmp_path)
    assert screen.size == SCREEN
    assert screen.getbbox() is not None  # not a black screen: SeaBIOS's text
    canvas = tab.page.locator("#spice-screen canvas")
    await tab.thread.call(canvas.screenshot, path=str(tmp_path / "spice-canvas.png"))
    await tab.call("screenshot", path=str(tmp_path / "spice_auto.png"))

    assert await tab.call("query_selector", "#message-div .spice-message-error") is None
    assert tab.errors == []
    assert tab.csp_violations() == []
    assert dict(factory.metrics.refusals) == {}


@pytest_twisted.ensureDeferred
async def test_spice_page_with_invalid_token_is_refused(
    cloud_factory: Any, qemu: SpiceQemu, tab: Tab, tmp_path: Path
) -> None:
    """When spice_auto.html carries a token consoleauth never issued, the WebSocket is refused.

    The proxy answers the handshake 401 with consoleauth's reason; the
    browser sees the 401 and spice-html5 says it could not connect; nothing
    reaches QEMU.
    """
    cloud = await cloud_factory(False)
    forged = secrets.token_urlsafe(32)
    await tab.call("goto", f"{cloud.proxy_base}/spice_auto.html?token={forged}")
    await tab.call("wait_for_function", "() => document.querySelectorAll("
                                        "'#message-div .spice-message-error').length >= 2")
    websocket = f"ws://127.0.0.1:{cloud.aio.config.spice.html5proxy_port}/websockify"
    # spice-html5 logs the failed WebSocket, then the error Event itself
    assert await error_messages(tab) == [
        f"WebSocket error: Can't connect to websocket on URL: {websocket}", "[object Event]"]
    assert any(f"WebSocket connection to '{websocket}' failed: HTTP Authentication failed"
               in line for line in tab.console), tab.console  # Chromium's words for a 401
    assert await tab.call("query_selector", "#spice-screen canvas") is None
    await tab.call("screenshot", path=str(tmp_path / "spice_auto-refused.png"))
    assert tab.errors == []

    factory = cloud.proxy.factory
    assert dict(factory.metrics.refusals) == {"invalid token": 1}
    assert factory.metrics.total_sessions == 0
    assert await spice_channels(qemu) == []

    # the same handshake by hand shows the reason the proxy gives
    from twisted.internet import reactor

    port = cloud.aio.config.spice.html5proxy_port
    line = await raw_handshake(reactor, port, "/websockify", {
        "Origin": cloud.proxy_base, "Cookie": f"token={forged}"})
    assert line == "HTTP/1.1 401 invalid token (unknown, expired, already used or revoked)"
    assert tab.csp_violations() == []


@pytest_twisted.ensureDeferred
async def test_a_used_token_opens_channels_only_while_its_console_is_open(
    cloud_factory: Any, qemu: SpiceQemu, tab: Tab
) -> None:
    """When the page's console closes, its single-use token opens nothing more."""
    from twisted.internet import reactor

    cloud = await cloud_factory(False)
    url = await cloud.spice_url()
    factory = cloud.proxy.factory
    await open_spice_page(tab, qemu, url)
    token = url.split("token=", 1)[1]
    port = cloud.aio.config.spice.html5proxy_port
    headers = {"Origin": cloud.proxy_base, "Cookie": f"token={token}"}
    # while the console is open, one more channel with its token is let in
    line = await raw_handshake(reactor, port, "/websockify", headers)
    assert line == "HTTP/1.1 101 Switching Protocols"
    await eventually(lambda: factory.metrics.channels_joined == 4, "the extra channel joined")

    await tab.call("goto", "about:blank")  # the console closes
    await eventually(lambda: not factory.sessions, "the page's channels are closed")
    line = await raw_handshake(reactor, port, "/websockify", headers)
    assert line == "HTTP/1.1 401 invalid token (unknown, expired, already used or revoked)"
    assert factory.metrics.channels_joined == 4


@pytest_twisted.ensureDeferred
async def test_encrypted_tickets_are_always_as_long_as_the_key(
    cloud_factory: Any, tab: Tab
) -> None:
    """When the page encrypts a SPICE ticket, it is modulus-length and the key's owner reads it.

    RSA ciphertexts with a leading zero byte (about 1 in 256) are the ones
    spice-html5's own ticket.js shortens; 2,000 tickets make several.
    """
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    cloud = await cloud_factory(False)
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    await tab.call("goto", f"{cloud.proxy_base}/spice_auto.html")
    tickets = await tab.call("evaluate", """async (der) => {
        const { create_rsa_from_mb, rsa_encrypt } = await import('/src/ticket.js');
        const key = create_rsa_from_mb(new Uint8Array(der).buffer, 0);
        const out = [];
        for (let i = 0; i < 2000; i++) { out.push(rsa_encrypt(key, `pw${i}\u0000`)); }
        return out;
    }""", list(der))
    assert {len(t) for t in tickets} == {128}
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    assert [key.decrypt(bytes(t), oaep) for t in tickets] == \
        [f"pw{i}\0".encode() for i in range(2000)]
    assert sum(1 for t in tickets if t[0] == 0) > 0  # the case that was broken came up
