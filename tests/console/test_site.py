"""The console proxies' web site on real sockets: pages, headers, 404s, the WebSocket in a Site."""

from __future__ import annotations

import re
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_twisted
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.web.resource import Resource
from twisted.web.server import Site

from nova_ws.compute.drivers.fake.rfb import GuestConsole
from nova_ws.console.memory import MemoryTokenValidator
from nova_ws.console.proxy import ConsoleProxyFactory, ProxyConfig
from nova_ws.console.site import NODE_MODULES, ConsoleRoot, console_root
from tests.console.support import listen_echo, open_browser, raw_handshake, until

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True, scope="module")
def _browser_clients() -> None:
    """The npm-installed clients are part of the site: missing is a failure, not a skip."""
    if not (NODE_MODULES / ".stamp").exists():
        pytest.fail(f"{NODE_MODULES} is not installed: run `make deps-console`")


@dataclass
class SiteRig:
    """A console proxy's Site on port 0."""

    reactor: Any
    validator: MemoryTokenValidator
    factory: ConsoleProxyFactory
    root: ConsoleRoot
    port: int


@pytest_twisted.async_yield_fixture
async def site_factory() -> AsyncIterator[Any]:
    from twisted.internet import reactor

    listening: list[Any] = []

    def make(console_type: str = "novnc") -> SiteRig:
        validator = MemoryTokenValidator(reactor)
        factory = ConsoleProxyFactory(validator, ProxyConfig(console_type), reactor)
        root = console_root(factory, console_type)
        port: Any = reactor.listenTCP(0, Site(root), interface="127.0.0.1")
        listening.append(port)
        return SiteRig(reactor, validator, factory, root, port.getHost().port)

    yield make
    for port in listening:
        await port.stopListening()


@dataclass
class Response:
    """A raw HTTP response."""

    status: int
    headers: dict[str, str]
    body: bytes


class _Collect(Protocol):
    def __init__(self) -> None:
        self.data = b""
        self.done: Deferred[bytes] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.data += data

    def connectionLost(self, reason: object = None) -> None:
        self.done.callback(self.data)


async def http(rig: SiteRig, target: str, method: str = "GET",
               headers: dict[str, str] | None = None) -> Response:
    """Send one request with exactly ``target`` as its request target; read the response."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{rig.port}", "Connection: close",
             *(f"{name}: {value}" for name, value in (headers or {}).items())]
    proto = _Collect()
    await connectProtocol(TCP4ClientEndpoint(rig.reactor, "127.0.0.1", rig.port), proto)
    proto.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())  # type: ignore[union-attr]
    raw = await proto.done
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    return Response(int(status_line.split()[1]), parsed, body)


def assert_secure_headers(response: Response) -> None:
    """The headers every response of the site carries."""
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "connect-src 'self'" in csp
    assert "location" not in response.headers


@pytest_twisted.ensureDeferred
async def test_vnc_console_through_the_site(site_factory: Any) -> None:
    """When a console WebSocket comes through the Site, the RFB session works both ways."""
    rig = site_factory()
    console = GuestConsole("site-guest", width=320, height=96)
    console.listen(rig.reactor)
    token, _ = rig.validator.issue_for(port=console.port)
    browser = await open_browser(rig.reactor, rig.port, token, path="/")
    assert await browser.read(rig.reactor, 12) == b"RFB 003.008\n"
    browser.sendMessage(b"RFB 003.008\n", isBinary=True)
    count = (await browser.read(rig.reactor, 1))[0]
    assert 1 in await browser.read(rig.reactor, count)
    browser.sendMessage(b"\x01", isBinary=True)
    assert await browser.read(rig.reactor, 4) == b"\0\0\0\0"
    browser.sendMessage(b"\x01", isBinary=True)
    head = await browser.read(rig.reactor, 24)
    assert struct.unpack("!HH", head[:4]) == (320, 96)
    await browser.read(rig.reactor, struct.unpack("!I", head[20:24])[0])
    for keysym in (ord("h"), ord("i")):
        browser.sendMessage(struct.pack("!BBxxI", 4, 1, keysym), isBinary=True)
    await until(rig.reactor, lambda: console.framebuffer.screen.input == "hi")
    assert rig.factory.metrics.open_sessions == 1
    browser.sendClose()
    await browser.closed
    await console.stop()
    await until(rig.reactor, lambda: rig.factory.metrics.open_sessions == 0)


@pytest_twisted.ensureDeferred
async def test_backpressure_through_the_site(site_factory: Any) -> None:
    """When the browser stops reading, the proxy in a Site pauses the guest; 8 MB round-trip."""
    rig = site_factory()
    echo = listen_echo(rig.reactor)
    token, _ = rig.validator.issue_for(port=echo.getHost().port)
    browser = await open_browser(rig.reactor, rig.port, token, small_buffers=True)
    payload = bytes(range(256)) * (8 * 1024 * 1024 // 256)
    wire: Any = browser.transport
    wire.pauseProducing()
    for offset in range(0, len(payload), 512 * 1024):
        browser.sendMessage(payload[offset: offset + 512 * 1024], isBinary=True)
    metrics = rig.factory.metrics
    await until(rig.reactor, lambda: metrics.guest_reads_paused and metrics.browser_reads_paused)
    wire.resumeProducing()
    await until(rig.reactor, lambda: len(browser.received) >= len(payload))
    assert bytes(browser.received) == payload
    browser.sendClose()
    await browser.closed
    await echo.stopListening()


@pytest.mark.parametrize("path", ["/websockify", "/", "/vnc_lite.html", "/any/where"])
@pytest_twisted.ensureDeferred
async def test_websocket_on_any_path(site_factory: Any, path: str) -> None:
    """When a request carries ``Upgrade: websocket``, any path reaches the proxy."""
    rig = site_factory()
    echo = listen_echo(rig.reactor)
    token, _ = rig.validator.issue_for(port=echo.getHost().port)
    line = await raw_handshake(rig.reactor, rig.port, f"{path}?token={token}",
                               {"Origin": f"http://127.0.0.1:{rig.port}"})
    assert line == "HTTP/1.1 101 Switching Protocols"
    bad = await raw_handshake(rig.reactor, rig.port, f"{path}?token={token}",
                              {"Origin": "http://evil.example"})
    assert bad.startswith("HTTP/1.1 403")
    await echo.stopListening()


@pytest_twisted.ensureDeferred
async def test_main_page_and_its_files(site_factory: Any) -> None:
    """When the noVNC site is asked for its pages, each comes with its type and headers."""
    rig = site_factory("novnc")
    root = await http(rig, "/")
    lite = await http(rig, "/vnc_lite.html?path=%3Ftoken%3Dabc")
    assert root.status == lite.status == 200
    assert root.body == lite.body
    assert b'src="app/vnc_lite.js"' in lite.body
    assert lite.headers["content-type"] == "text/html; charset=utf-8"
    assert lite.headers["cache-control"] == "no-store"
    assert_secure_headers(lite)
    assert (await http(rig, "/vnc_auto.html")).body == lite.body
    full = await http(rig, "/vnc.html")
    assert full.status == 200 and b'src="app/vnc.js"' in full.body
    for path in ("/app/vnc_lite.js", "/app/viewer.js", "/core/rfb.js",
                 "/core/util/browser.js", "/vendor/pako/lib/zlib/inflate.js"):
        script = await http(rig, path)
        assert script.status == 200, path
        assert script.headers["content-type"] == "text/javascript; charset=utf-8"
        assert script.headers["cache-control"] == "no-cache"
        assert_secure_headers(script)
    css = await http(rig, "/app/console.css")
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    head = await http(rig, "/core/rfb.js", method="HEAD")
    assert head.status == 200 and head.body == b""


@pytest.mark.parametrize("target", [
    "//evil.example/", "//evil.example", "//evil.example/%2F..", "///evil.example/",
    "/%2F%2Fevil.example/", "/\\evil.example/", "/core", "/core/", "/app/", "/app",
    "/vendor/pako", "/nosuch.html", "/core/../../package.json", "/../package.json",
    "/package.json", "/.gitignore", "/app/.hidden.js", "/core/rfb.js/", "/core%2Frfb.js",
    "/serial.html", "/spice_auto.html", "/%ff.html",
])
@pytest_twisted.ensureDeferred
async def test_no_redirects_listings_or_escapes(site_factory: Any, target: str) -> None:
    """When a path is unknown, a directory or tries to leave the site, it is 404, never a redirect.

    ``//evil.example/`` is Nova's CVE-2021-3654: websockify redirected it off-site.
    """
    rig = site_factory("novnc")
    response = await http(rig, target)
    assert response.status == 404
    assert response.headers["cache-control"] == "no-store"
    assert_secure_headers(response)
    assert b"evil.example" not in response.body


@pytest_twisted.ensureDeferred
async def test_other_methods_not_allowed(site_factory: Any) -> None:
    """When a page is POSTed to, the answer is 405 and nothing else happens."""
    rig = site_factory("novnc")
    response = await http(rig, "/vnc_lite.html", method="POST", headers={"Content-Length": "0"})
    assert response.status == 405
    assert_secure_headers(response)


@pytest_twisted.ensureDeferred
async def test_spice_page_has_hashes_for_its_inline_scripts(site_factory: Any) -> None:
    """When spice_auto.html is served, its CSP allows exactly its three inline scripts."""
    rig = site_factory("spice-html5")
    page = await http(rig, "/spice_auto.html?token=abc")
    assert page.status == 200 and b"SpiceMainConn" in page.body
    assert (await http(rig, "/")).body == page.body
    csp = page.headers["content-security-policy"]
    script_src = re.search(r"script-src ([^;]*)", csp)
    assert script_src is not None
    assert len(re.findall(r"'sha256-[A-Za-z0-9+/=]+'", script_src.group(1))) == 3
    assert "'unsafe-inline'" not in script_src.group(1)
    for path in ("/src/main.js", "/src/spiceconn.js", "/spice.css"):
        assert (await http(rig, path)).status == 200, path
    for path in ("/package.json", "/Makefile", "/vnc_lite.html", "/core/rfb.js"):
        assert (await http(rig, path)).status == 404, path


@pytest_twisted.ensureDeferred
async def test_serial_page(site_factory: Any) -> None:
    """When the serial site is asked for serial.html, it and xterm.js are served."""
    rig = site_factory("serial")
    page = await http(rig, "/serial.html?token=abc")
    assert page.status == 200 and b"app/serial.js" in page.body
    assert page.headers["cache-control"] == "no-store"
    for path in ("/app/serial.js", "/xterm/lib/xterm.mjs", "/xterm/css/xterm.css"):
        assert (await http(rig, path)).status == 200, path
    assert (await http(rig, "/xterm/package.json")).status == 404


class _Metrics(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        request.setHeader(b"content-type", b"application/json")
        return b"{}"


@pytest_twisted.ensureDeferred
async def test_added_children_are_served(site_factory: Any) -> None:
    """When a child is put on the root (as the service does with /metrics), it is served."""
    rig = site_factory("novnc")
    rig.root.putChild(b"metrics", _Metrics())
    response = await http(rig, "/metrics")
    assert response.status == 200 and response.body == b"{}"
    assert response.headers["content-type"] == "application/json"
    assert_secure_headers(response)
