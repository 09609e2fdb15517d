"""The console pages in a real browser: headless Chromium against a proxy's Site.

Each test serves ``console_root`` in a ``twisted.web`` Site on a free port of
127.0.0.1, with a ``MemoryTokenValidator`` and a real guest console (the fake
driver's RFB server, an echo server, a recording TCP server), and drives
Debian's Chromium with Playwright. Playwright's sync API runs on one
dedicated thread (``BrowserThread``) so the reactor keeps serving while the
browser waits; every browser call is awaited as a Deferred.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import pytest_twisted
from PIL import Image
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import deferLater
from twisted.web.resource import Resource
from twisted.web.server import Site

from nova_ws.compute.drivers.fake.rfb import GuestConsole
from nova_ws.console.interfaces import ConsoleTarget
from nova_ws.console.memory import MemoryTokenValidator
from nova_ws.console.proxy import ConsoleProxyFactory, ProxyConfig
from nova_ws.console.site import NODE_MODULES, console_root
from tests.console.support import listen_echo

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
T = TypeVar("T")



def canvas_rgb(selector: str = "#screen canvas") -> str:
    """JavaScript run in a page: the canvas at *selector* as packed RGB, base64."""
    return _CANVAS_RGB.replace("SELECTOR", json.dumps(selector))


_CANVAS_RGB = """() => {
    const canvas = document.querySelector(SELECTOR);
    if (!canvas || !canvas.width) { return null; }
    const rgba = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const rgb = new Uint8Array(rgba.length / 4 * 3);
    for (let i = 0, j = 0; i < rgba.length; i += 4) {
        rgb[j++] = rgba[i]; rgb[j++] = rgba[i + 1]; rgb[j++] = rgba[i + 2];
    }
    let binary = '';
    for (let i = 0; i < rgb.length; i += 0x8000) {
        binary += String.fromCharCode.apply(null, rgb.subarray(i, i + 0x8000));
    }
    return {width: canvas.width, height: canvas.height, rgb: btoa(binary)};
}"""
#: The noVNC canvas as packed RGB, base64.
CANVAS_RGB = canvas_rgb()


class BrowserThread:
    """Playwright's sync API on one thread of its own; calls come back as Deferreds."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="playwright")

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call ``fn`` on the browser thread and block for its result (setup, teardown)."""
        return self._executor.submit(fn, *args, **kwargs).result()

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Deferred[T]:
        """Call ``fn`` on the browser thread; the Deferred fires on the reactor with its result."""
        from twisted.internet import reactor

        done: Deferred[T] = Deferred()

        def finished(future: Future[T]) -> None:
            error = future.exception()
            if error is not None:
                reactor.callFromThread(done.errback, error)
            else:
                reactor.callFromThread(done.callback, future.result())

        self._executor.submit(fn, *args, **kwargs).add_done_callback(finished)
        return done

    def shutdown(self) -> None:
        """Stop the thread."""
        self._executor.shutdown(wait=True)


@dataclass
class Chromium:
    """A headless Chromium and the thread that drives it."""

    thread: BrowserThread
    browser: Any


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    """Debian's Chromium, launched once for this module (never Playwright's own build)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make deps-debian` (Debian package chromium)")
    if not (NODE_MODULES / ".stamp").exists():
        pytest.fail(f"{NODE_MODULES} is not installed: run `make deps-console`")
    thread = BrowserThread()
    playwright = thread.run(lambda: sync_playwright().start())
    browser = thread.run(playwright.chromium.launch, executable_path=CHROMIUM, headless=True)
    yield Chromium(thread, browser)
    thread.run(browser.close)
    thread.run(playwright.stop)
    thread.shutdown()


@dataclass
class Tab:
    """One page in its own browser context, with what the page said."""

    thread: BrowserThread
    page: Any
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Deferred[Any]:
        """Call ``page.<method>`` on the browser thread."""
        return self.thread.call(getattr(self.page, method), *args, **kwargs)

    def csp_violations(self) -> list[str]:
        """Console messages that report a Content-Security-Policy violation."""
        return [line for line in self.console if "Content Security Policy" in line]


@pytest_twisted.async_yield_fixture
async def tab(chromium: Chromium) -> AsyncIterator[Tab]:
    """A fresh page (own cookies and storage) that records console messages and JS errors."""
    def open_page() -> Any:
        context = chromium.browser.new_context(viewport={"width": 900, "height": 500})
        page = context.new_page()
        page.set_default_timeout(20_000)
        return page

    page = await chromium.thread.call(open_page)
    opened = Tab(chromium.thread, page)
    page.on("console", lambda message: opened.console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: opened.errors.append(str(error)))
    yield opened
    await chromium.thread.call(page.context.close)


class RecordingValidator(MemoryTokenValidator):
    """The in-memory validator, remembering each token it was asked about."""

    def __init__(self, clock: Any) -> None:
        super().__init__(clock)
        self.asked: list[tuple[str, str]] = []

    def validate(self, token: str, console_type: str) -> Deferred[ConsoleTarget]:
        self.asked.append((token, console_type))
        return super().validate(token, console_type)


@dataclass
class SiteRig:
    """A console proxy's Site on a free port."""

    reactor: Any
    validator: RecordingValidator
    factory: ConsoleProxyFactory
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest_twisted.async_yield_fixture
async def site_factory() -> AsyncIterator[Callable[[str], SiteRig]]:
    from twisted.internet import reactor

    listening: list[Any] = []

    def make(console_type: str) -> SiteRig:
        validator = RecordingValidator(reactor)
        factory = ConsoleProxyFactory(validator, ProxyConfig(console_type), reactor)
        port: Any = reactor.listenTCP(0, Site(console_root(factory, console_type)),
                                      interface="127.0.0.1")
        listening.append(port)
        return SiteRig(reactor, validator, factory, port.getHost().port)

    yield make
    for port in listening:
        await port.stopListening()


@pytest_twisted.async_yield_fixture
async def guest() -> AsyncIterator[GuestConsole]:
    """A fake guest's VNC console with a boot log, on 127.0.0.1:0."""
    from twisted.internet import reactor

    console = GuestConsole("browser-guest", width=400, height=160)
    console.log("Linux version 6.1.0 (fake)\nReached target Multi-User System.")
    console.listen(reactor)
    yield console
    await console.stop()


async def eventually(condition: Callable[[], bool], what: str, limit: float = 20.0) -> None:
    """Run the reactor until ``condition()`` holds (checked every 20 ms, for up to ``limit`` s)."""
    from twisted.internet import reactor

    for _ in range(int(limit / 0.02)):
        if condition():
            return
        await deferLater(reactor, 0.02, lambda: None)
    raise AssertionError(f"never happened: {what}")


async def canvas_shows(tab: Tab, console: GuestConsole) -> None:
    """Wait until noVNC's canvas is, pixel for pixel, the guest's framebuffer."""
    expected = base64.b64encode(console.framebuffer.rgb_bytes()).decode()
    try:
        await tab.call("wait_for_function", f"expected => ({CANVAS_RGB})()?.rgb === expected",
                       arg=expected, timeout=20_000)
    except Exception as error:
        shot = await tab.call("evaluate", CANVAS_RGB)
        got = base64.b64decode(shot["rgb"]) if shot else b""
        wanted = console.framebuffer.rgb_bytes()
        differing = sum(1 for i in range(0, min(len(got), len(wanted)), 3)
                        if got[i:i + 3] != wanted[i:i + 3])
        raise AssertionError(f"canvas {shot and (shot['width'], shot['height'])} never matched "
                             f"the framebuffer: {differing} pixels differ ({error})") from None


def console_url(rig: SiteRig, token: str, page: str = "vnc_lite.html") -> str:
    """Nova's noVNC URL shape: ``<base>/vnc_lite.html?path=%3Ftoken%3D<token>``."""
    return f"{rig.base}/{page}?path=%3Ftoken%3D{token}"


@pytest_twisted.ensureDeferred
async def test_vnc_lite_shows_the_guest_and_types(
    site_factory: Any, guest: GuestConsole, tab: Tab, tmp_path: Path
) -> None:
    """When Nova's vnc_lite.html URL is opened, noVNC shows the guest's screen and types into it."""
    rig = site_factory("novnc")
    token, _ = rig.validator.issue_for(port=guest.port)
    await tab.call("goto", console_url(rig, token))
    await tab.call("wait_for_selector", "html[data-state=connected]")
    assert await tab.call("text_content", "#status") == "Connected to browser-guest"
    assert rig.validator.asked == [(token, "novnc")]
    assert rig.factory.metrics.open_sessions == 1

    await canvas_shows(tab, guest)
    canvas = tab.page.locator("#screen canvas")
    shot = tmp_path / "vnc_lite-canvas.png"
    await tab.thread.call(canvas.screenshot, path=str(shot))
    await tab.call("screenshot", path=str(tmp_path / "vnc_lite.png"))
    image = Image.open(shot).convert("RGB")
    assert image.size == (400, 160)
    assert image.tobytes() == guest.framebuffer.rgb_bytes()

    before = guest.framebuffer.rgb_bytes()
    await tab.thread.call(tab.page.keyboard.type, "uname -a")
    await eventually(lambda: guest.framebuffer.screen.input == "uname -a", "the guest got the keys")
    await tab.thread.call(tab.page.keyboard.press, "Enter")
    await eventually(lambda: "$ uname -a\n" in guest.console_output(), "the guest ran the line")
    assert guest.framebuffer.screen.input == ""
    assert guest.framebuffer.rgb_bytes() != before
    await canvas_shows(tab, guest)
    after = tmp_path / "vnc_lite-typed.png"
    await tab.thread.call(canvas.screenshot, path=str(after))
    assert Image.open(after).convert("RGB").tobytes() == guest.framebuffer.rgb_bytes()

    assert tab.errors == []
    assert tab.csp_violations() == []


@pytest_twisted.ensureDeferred
async def test_vnc_html_connects_on_click_and_disconnects(
    site_factory: Any, guest: GuestConsole, tab: Tab, tmp_path: Path
) -> None:
    """When vnc.html is opened, Connect opens the console and Disconnect ends the session."""
    rig = site_factory("novnc")
    token, _ = rig.validator.issue_for(port=guest.port)
    await tab.call("goto", console_url(rig, token, "vnc.html"))
    await tab.call("wait_for_selector", "html[data-state=disconnected]")
    assert await tab.call("text_content", "#status") == "Disconnected"
    assert rig.validator.asked == []
    await tab.call("click", "#connect")
    await tab.call("wait_for_selector", "html[data-state=connected]")
    await canvas_shows(tab, guest)
    await tab.call("screenshot", path=str(tmp_path / "vnc.png"))
    await tab.call("click", "#send-ctrl-alt-del")
    await tab.call("click", "#disconnect")
    await tab.call("wait_for_selector", "html[data-state=disconnected]")
    await eventually(lambda: rig.factory.metrics.open_sessions == 0, "the session ended")
    assert rig.factory.metrics.total_sessions == 1
    assert tab.errors == []
    assert tab.csp_violations() == []


class _Page(Resource):
    """Serves one HTML page at any path (another site's page)."""

    isLeaf = True

    def __init__(self, html: str) -> None:
        super().__init__()
        self.html = html

    def render_GET(self, request: Any) -> bytes:
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        return self.html.encode()


@pytest_twisted.ensureDeferred
async def test_page_of_another_origin_cannot_open_the_websocket(
    site_factory: Any, guest: GuestConsole, tab: Tab
) -> None:
    """When a page of another site tries the console WebSocket with a valid token, it fails.

    The other site is a second server on this machine (another port is
    another Origin; Chromium itself stops public sites from reaching
    loopback addresses). The browser sends that page's Origin, the proxy
    refuses the handshake, and the page sees only an error and close code
    1006. The token itself stays good for the console's own page.
    """
    from twisted.internet import reactor

    rig = site_factory("novnc")
    token, _ = rig.validator.issue_for(port=guest.port)
    attack = f"""<!DOCTYPE html><title>elsewhere</title><script>
        const ws = new WebSocket('ws://127.0.0.1:{rig.port}/websockify?token={token}', 'binary');
        let opened = false, errored = false;
        ws.onopen = () => {{ opened = true; }};
        ws.onerror = () => {{ errored = true; }};
        ws.onclose = (e) => {{ window.outcome = {{opened, errored, code: e.code}}; }};
    </script>"""
    other: Any = reactor.listenTCP(0, Site(_Page(attack)), interface="127.0.0.1")
    try:
        await tab.call("goto", f"http://127.0.0.1:{other.getHost().port}/console.html")
        await tab.call("wait_for_function", "() => window.outcome !== undefined")
        outcome = await tab.call("evaluate", "window.outcome")
    finally:
        await other.stopListening()
    assert outcome == {"opened": False, "errored": True, "code": 1006}
    assert rig.factory.metrics.refusals == {"origin not allowed": 1}
    assert rig.factory.metrics.total_sessions == 0
    assert rig.validator.asked == []

    await tab.call("goto", console_url(rig, token))
    await tab.call("wait_for_selector", "html[data-state=connected]")
    assert rig.factory.metrics.total_sessions == 1


@pytest_twisted.ensureDeferred
async def test_page_cannot_be_pointed_at_another_host(site_factory: Any, tab: Tab) -> None:
    """When vnc_lite.html is given another ``host``, the page's CSP stops the connection."""
    rig = site_factory("novnc")
    await tab.call("goto", f"{rig.base}/vnc_lite.html?host=evil.example&port=80&path=x")
    await tab.call("wait_for_selector", "html[data-state=failed]")
    assert "ws://evil.example/x refused" in await tab.call("text_content", "#status")
    assert any("ws://evil.example/x" in line for line in tab.csp_violations()), tab.console
    assert tab.errors == []


class _Recorder(Protocol):
    """Takes what a client sends first, then hangs up: a stand-in, not a SPICE server."""

    def __init__(self, received: bytearray, wanted: int) -> None:
        self.received = received
        self.wanted = wanted

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        if len(self.received) >= self.wanted:
            assert self.transport is not None
            self.transport.loseConnection()


@pytest_twisted.ensureDeferred
async def test_spice_auto_page_opens_the_websocket_with_its_token(
    site_factory: Any, tab: Tab, tmp_path: Path
) -> None:
    """When Nova's spice_auto.html URL is opened, spice-html5 reaches the guest side with its token.

    There is no SPICE server: the guest side records spice-html5's first
    bytes (the 16-byte SpiceLinkHeader, magic ``REDQ``) and hangs up; the
    page then reports a connection error, without a script error.
    """
    from twisted.internet import reactor

    received = bytearray()
    listener = reactor.listenTCP(
        0, Factory.forProtocol(lambda: _Recorder(received, 16)), interface="127.0.0.1")
    try:
        rig = site_factory("spice-html5")
        token, _ = rig.validator.issue_for(console_type="spice-html5",
                                           port=listener.getHost().port)
        await tab.call("goto", f"{rig.base}/spice_auto.html?token={token}")
        await tab.call("wait_for_selector", "#message-div .spice-message-error", state="attached")
        assert rig.validator.asked == [(token, "spice-html5")]
        assert rig.factory.metrics.total_sessions == 1
        assert bytes(received[:4]) == b"REDQ"
        message = await tab.call("text_content", "#message-div")
        assert "Unexpected protocol mismatch" in message
        await tab.call("screenshot", path=str(tmp_path / "spice_auto.png"))
        assert tab.errors == []
        assert tab.csp_violations() == []
    finally:
        await listener.stopListening()


@pytest_twisted.ensureDeferred
async def test_serial_page_pipes_bytes(site_factory: Any, tab: Tab, tmp_path: Path) -> None:
    """When serial.html?token= is opened, typed keys reach the guest and its bytes are shown."""
    from twisted.internet import reactor

    echo = listen_echo(reactor)
    try:
        rig = site_factory("serial")
        token, _ = rig.validator.issue_for(console_type="serial", port=echo.getHost().port)
        await tab.call("goto", f"{rig.base}/serial.html?token={token}")
        await tab.call("wait_for_selector", "html[data-state=connected]")
        await tab.call("click", "#terminal")
        await tab.thread.call(tab.page.keyboard.type, "echo héllo")
        await tab.call("wait_for_function",
                       "text => document.querySelector('.xterm-rows').textContent.includes(text)",
                       arg="echo héllo")
        assert rig.factory.metrics.bytes_to_guest == len("echo héllo".encode())
        await tab.call("screenshot", path=str(tmp_path / "serial.png"))
        assert tab.errors == []
        assert tab.csp_violations() == []
    finally:
        await echo.stopListening()



@pytest_twisted.ensureDeferred
async def test_framed_console_tells_its_page_why_it_closed(
    site_factory: Any, guest: GuestConsole, tab: Tab
) -> None:
    """When a console shown in another page's frame is closed by the proxy, that page
    gets a message with the reason (the dashboard shows it)."""
    from twisted.internet import reactor

    rig = site_factory("novnc")
    token, _ = rig.validator.issue_for(port=guest.port, instance_uuid="i-1")
    embedding = f"""<!DOCTYPE html><title>dashboard</title>
        <iframe src="{console_url(rig, token)}" width="500" height="300"></iframe>
        <script>
        window.heard = [];
        window.addEventListener('message', (e) => window.heard.push({{origin: e.origin,
                                                                      data: e.data}}));
        </script>"""
    other: Any = reactor.listenTCP(0, Site(_Page(embedding)), interface="127.0.0.1")
    try:
        await tab.call("goto", f"http://127.0.0.1:{other.getHost().port}/")
        await eventually(lambda: rig.factory.metrics.open_sessions == 1, "the console opened")
        assert rig.factory.close_sessions(instance_uuid="i-1", reason="instance stopped") == 1
        await tab.call("wait_for_function", "() => window.heard.some("
                                            "m => m.data.type === 'nova-console-closed')")
        heard = await tab.call("evaluate", "window.heard")
    finally:
        await other.stopListening()
    # it may have said it connected first (if the guest's handshake was quicker)
    closed = [m for m in heard if m["data"]["type"] != "nova-console-connected"]
    assert closed == [{"origin": rig.base, "data": {
        "type": "nova-console-closed", "reason": "instance stopped", "code": 4005}}]
    assert all(m["origin"] == rig.base for m in heard) and len(heard) <= 2
