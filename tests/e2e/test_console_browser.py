"""Real noVNC in headless Chromium opens the URL the API returned for a fake-driver guest.

The whole path: Identity token -> server create -> ``remote-consoles`` ->
the URL in Chromium -> nova-novncproxy (token checked by nova-consoleauth,
the guest's VNC password answered by the proxy) -> the guest's screen on
the canvas, pixel for pixel; keys typed in the page reach the guest; deleting
the server closes the console and the page says why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from PIL import Image

from nova_ws.testing.allinone import start_allinone
from tests.console.test_browser import Tab, canvas_shows, eventually
from tests.integration.test_console_flow import Client, _active_server, _token

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest_twisted.ensureDeferred
async def test_api_console_url_in_chromium(tab: Tab, tmp_path: Path) -> None:
    """When a user opens the API's console URL in a browser, the guest's screen shows and types."""
    from twisted.internet import reactor

    state = tmp_path / "state"
    state.mkdir()
    aio = start_allinone(state)
    try:
        for name in ("nova-api", "nova-conductor", "nova-consoleauth", "nova-novncproxy"):
            await aio.service.getServiceNamed(name).client.when_joined()
        demo = Client(aio.api, await _token(aio.api, "demo", aio.credentials.demo_password,
                                            "demo"))
        uuid = await _active_server(reactor, demo, aio.api)
        code, body = await demo.request("POST", f"/servers/{uuid}/remote-consoles",
                                        {"remote_console": {"protocol": "vnc", "type": "novnc"}})
        assert code == 200, body
        guest: Any = aio.service.getServiceNamed("nova-compute").driver.guests[uuid].console

        await tab.call("goto", body["remote_console"]["url"])
        await tab.call("wait_for_selector", "html[data-state=connected]")
        await canvas_shows(tab, guest)
        canvas = tab.page.locator("#screen canvas")
        shot = tmp_path / "api-console.png"  # kept as the test's artifact
        await tab.thread.call(canvas.screenshot, path=str(shot))
        assert Image.open(shot).size == (guest.framebuffer.width, guest.framebuffer.height)

        await tab.thread.call(tab.page.keyboard.type, "hostname")
        await tab.thread.call(tab.page.keyboard.press, "Enter")
        await eventually(lambda: "$ hostname\n" in guest.console_output(), "the guest ran it")
        await canvas_shows(tab, guest)
        await tab.thread.call(canvas.screenshot, path=str(tmp_path / "api-console-typed.png"))

        code, _ = await demo.request("DELETE", f"/servers/{uuid}")
        assert code == 204
        await tab.call("wait_for_selector", "html[data-state=disconnected]")
        assert await tab.call("text_content", "#status") == "Console closed: instance deleted"
        await tab.call("screenshot", path=str(tmp_path / "api-console-closed.png"))
        assert tab.errors == []
        assert tab.csp_violations() == []
    finally:
        await aio.service.stopService()
