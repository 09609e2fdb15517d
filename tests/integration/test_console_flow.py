"""A console end to end in the all-in-one: API URL -> proxy -> fake guest's VNC screen.

The URL that ``POST /servers/{id}/remote-consoles`` returns carries a
single-use token; a WebSocket to nova-novncproxy with that token reaches the
guest's RFB server through nova-consoleauth's check; reusing the token, a
stranger's server and a console the guest lacks are refused; deleting the
server closes the open console with a reason.
"""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import pytest_twisted
import treq
from twisted.internet.defer import Deferred

from nova_ws.console.proxy import CloseCode
from nova_ws.testing.allinone import identity_token, start_allinone
from tests.console.support import open_browser, until

pytestmark = pytest.mark.integration


async def _token(api: str, user: str, password: str, project: str) -> str:
    return (await identity_token(api, user, password, project))[0]


class Client:
    """The Compute API as one user, at one microversion."""

    def __init__(self, api: str, token: str, version: str = "2.37") -> None:
        self.base = f"{api}/compute/v2.1"
        self.headers = {"X-Auth-Token": [token], "Content-Type": ["application/json"],
                        "OpenStack-API-Version": [f"compute {version}"]}

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        response = await treq.request(method, self.base + path, data=data, headers=self.headers)
        text = await response.text()
        return response.code, (json.loads(text) if text else None)


async def _active_server(reactor: Any, client: Client, api: str) -> str:
    response = await treq.get(f"{api}/image/v2/images", headers=client.headers)
    image = (await response.json())["images"][0]["id"]
    code, body = await client.request("POST", "/servers", {"server": {
        "name": "console-vm", "flavorRef": "1", "imageRef": image, "networks": "none"}})
    assert code == 202, body
    uuid = str(body["server"]["id"])
    for _ in range(400):
        code, body = await client.request("GET", f"/servers/{uuid}")
        if body["server"]["status"] == "ACTIVE":
            return uuid
        assert body["server"]["status"] == "BUILD", body
        d: Deferred[None] = Deferred()
        reactor.callLater(0.05, d.callback, None)
        await d
    raise AssertionError("the server never became ACTIVE")


def _token_of(url: str) -> str:
    path = parse_qs(urlsplit(url).query)["path"][0]
    return parse_qs(urlsplit(path).query)["token"][0]


@pytest_twisted.ensureDeferred
async def test_console_url_opens_the_guest_screen_and_closes_on_delete(tmp_path: Path) -> None:
    """When a user opens the API's console URL, the guest answers; deleting closes it."""
    from twisted.internet import reactor

    aio = start_allinone(tmp_path)
    try:
        for name in ("nova-api", "nova-conductor", "nova-consoleauth", "nova-novncproxy"):
            await aio.service.getServiceNamed(name).client.when_joined()
        proxy_port = aio.service.getServiceNamed("nova-novncproxy").http.port.getHost().port
        demo = Client(aio.api, await _token(aio.api, "demo", aio.credentials.demo_password,
                                            "demo"))
        uuid = await _active_server(reactor, demo, aio.api)

        code, body = await demo.request("POST", f"/servers/{uuid}/remote-consoles",
                                        {"remote_console": {"protocol": "vnc", "type": "novnc"}})
        assert code == 200, body
        console = body["remote_console"]
        assert (console["protocol"], console["type"]) == ("vnc", "novnc")
        url = urlsplit(console["url"])
        assert (url.port, url.path) == (proxy_port, "/vnc_lite.html")
        token = _token_of(console["url"])

        browser = await open_browser(reactor, proxy_port, token)
        assert await browser.read(reactor, 12) == b"RFB 003.008\n"
        browser.sendMessage(b"RFB 003.008\n", isBinary=True)
        # the guest asks for its VNC password; the proxy answers it, the browser is offered None
        assert await browser.read(reactor, 2) == b"\x01\x01"
        browser.sendMessage(b"\x01", isBinary=True)
        assert await browser.read(reactor, 4) == b"\0\0\0\0"
        browser.sendMessage(b"\x01", isBinary=True)  # ClientInit: shared
        width, height = struct.unpack("!HH", await browser.read(reactor, 4))
        framebuffer = aio.service.getServiceNamed("nova-compute").driver.guests[
            uuid].console.framebuffer
        assert (width, height) == (framebuffer.width, framebuffer.height)

        with pytest.raises(ConnectionError, match="invalid token"):
            await open_browser(reactor, proxy_port, token)  # single use

        code, body = await demo.request("POST", f"/servers/{uuid}/remote-consoles",
                                        {"remote_console": {"protocol": "spice",
                                                            "type": "spice-html5"}})
        assert code == 400 and "Unavailable console type" in body["badRequest"]["message"]
        code, body = await demo.request("POST", f"/servers/{uuid}/remote-consoles",
                                        {"remote_console": {"protocol": "vnc", "type": "bogus"}})
        assert code == 400, body

        code, body = await demo.request("POST", "/servers/00000000-0000-0000-0000-00000000beef"
                                        "/remote-consoles",
                                        {"remote_console": {"protocol": "vnc", "type": "novnc"}})
        assert code == 404, body

        legacy = Client(aio.api, demo.headers["X-Auth-Token"][0], version="2.5")
        code, body = await legacy.request("POST", f"/servers/{uuid}/action",
                                          {"os-getVNCConsole": {"type": "novnc"}})
        assert code == 200 and body["console"]["type"] == "novnc", body
        code, body = await demo.request("POST", f"/servers/{uuid}/action",
                                        {"os-getVNCConsole": {"type": "novnc"}})
        assert code == 404, body  # removed at 2.6, as in Nova

        started = time.monotonic()
        code, _ = await demo.request("DELETE", f"/servers/{uuid}")
        assert code == 204
        closed = await browser.closed
        print(f"console closed {time.monotonic() - started:.3f} s after DELETE")
        assert closed == (CloseCode.REVOKED, "instance deleted")
    finally:
        await aio.service.stopService()


@pytest_twisted.ensureDeferred
async def test_serial_console_through_the_proxy(tmp_path: Path) -> None:
    """When a program opens the serial console URL (no Origin), it reads the log and types."""
    from twisted.internet import reactor

    aio = start_allinone(tmp_path)
    try:
        for name in ("nova-api", "nova-conductor", "nova-consoleauth", "nova-serialproxy"):
            await aio.service.getServiceNamed(name).client.when_joined()
        demo = Client(aio.api, await _token(aio.api, "demo", aio.credentials.demo_password,
                                            "demo"))
        uuid = await _active_server(reactor, demo, aio.api)
        code, body = await demo.request("POST", f"/servers/{uuid}/remote-consoles", {
            "remote_console": {"protocol": "serial", "type": "serial"}})
        assert code == 200, body
        url = urlsplit(body["remote_console"]["url"])
        assert url.scheme == "ws" and url.port == aio.config.serial_console.serialproxy_port
        token = parse_qs(url.query)["token"][0]
        browser = await open_browser(reactor, url.port, token, origin="", path="/")
        browser.sendMessage(b"uptime\r", isBinary=True)
        await until(reactor, lambda: b"uptime\r\n" in browser.received)
        with pytest.raises(ConnectionError, match="missing Origin"):  # browsers' proxies
            await open_browser(reactor, aio.config.spice.html5proxy_port, token, origin="")
        browser.sendClose()
        await browser.closed
    finally:
        await aio.service.stopService()


async def _rfb_open(reactor: Any, browser: Any) -> tuple[int, int]:
    """RFB 3.8 through the proxy as noVNC does it; return the screen's size."""
    assert await browser.read(reactor, 12) == b"RFB 003.008\n"
    browser.sendMessage(b"RFB 003.008\n", isBinary=True)
    assert await browser.read(reactor, 2) == b"\x01\x01"  # the browser is offered None only
    browser.sendMessage(b"\x01", isBinary=True)
    assert await browser.read(reactor, 4) == b"\0\0\0\0"
    browser.sendMessage(b"\x01", isBinary=True)
    width, height = struct.unpack("!HH", await browser.read(reactor, 4))
    await browser.read(reactor, 16)
    (name_length,) = struct.unpack("!I", await browser.read(reactor, 4))
    await browser.read(reactor, name_length)
    return width, height


async def _type_and_refresh(reactor: Any, browser: Any, text: str, width: int,
                            height: int) -> None:
    for char in text:
        key = 0xFF0D if char == "\n" else ord(char)
        browser.sendMessage(struct.pack("!BBxxI", 4, 1, key) + struct.pack("!BBxxI", 4, 0, key),
                            isBinary=True)
    del browser.received[:]
    browser.sendMessage(struct.pack("!BBHHHH", 3, 0, 0, 0, width, height), isBinary=True)
    await until(reactor, lambda: len(browser.received) >= 4)


@pytest_twisted.ensureDeferred
async def test_view_only_console_link(tmp_path: Path) -> None:
    """When a console URL is asked for view-only, it shows the screen but the keys go nowhere."""
    from twisted.internet import reactor

    aio = start_allinone(tmp_path)
    try:
        for name in ("nova-api", "nova-conductor", "nova-consoleauth", "nova-novncproxy"):
            await aio.service.getServiceNamed(name).client.when_joined()
        proxy_port = aio.config.vnc.novncproxy_port
        demo = Client(aio.api, await _token(aio.api, "demo", aio.credentials.demo_password,
                                            "demo"))
        uuid = await _active_server(reactor, demo, aio.api)
        console = aio.service.getServiceNamed("nova-compute").driver.guests[uuid].console
        for view_only in (True, False):
            code, body = await demo.request("POST", f"/servers/{uuid}/remote-consoles", {
                "remote_console": {"protocol": "vnc", "type": "novnc", "view_only": view_only}})
            assert code == 200, body
            browser = await open_browser(reactor, proxy_port, _token_of(
                body["remote_console"]["url"]))
            width, height = await _rfb_open(reactor, browser)
            await _type_and_refresh(reactor, browser, "whoami\n", width, height)
            assert ("$ whoami" in console.console_output()) is not view_only
            browser.sendClose()
            await browser.closed
        code, body = await demo.request("POST", f"/servers/{uuid}/remote-consoles", {
            "remote_console": {"protocol": "vnc", "type": "novnc", "view_only": "yes"}})
        assert code == 400, body
    finally:
        await aio.service.stopService()


@pytest_twisted.ensureDeferred
async def test_metrics_endpoint(tmp_path: Path) -> None:
    """When a local client asks a proxy for /metrics, it gets the counters as JSON."""
    aio = start_allinone(tmp_path)
    try:
        port = aio.config.vnc.novncproxy_port
        response = await treq.get(f"http://127.0.0.1:{port}/metrics")
        assert response.code == 200
        metrics = await response.json()
        assert metrics["open_sessions"] == 0 and "refusals" in metrics
        response = await treq.get(f"http://127.0.0.1:{port}/websockify?token=x")
        assert response.code != 500
    finally:
        await aio.service.stopService()
