"""Console URLs through the real `openstack` and `nova` clients, then opened.

As a user would: create a server with ``openstack server create --wait``,
ask ``openstack console url show`` (and ``nova get-vnc-console``) for its
console and open the URL's WebSocket through nova-novncproxy.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import pytest_twisted
from twisted.internet.utils import getProcessOutputAndValue

from nova_ws.testing.allinone import client_env, start_allinone
from tests.console.support import open_browser

pytestmark = [pytest.mark.integration, pytest.mark.slow]
BIN = Path(sys.executable).parent


async def _run(env: dict[str, str], tool: str, *args: str) -> tuple[int, str, str]:
    from twisted.internet import reactor

    out, err, code = await getProcessOutputAndValue(str(BIN / tool), list(args), env=env,
                                                    reactor=reactor)
    return code, out.decode(), err.decode()


async def _json(env: dict[str, str], *args: str) -> Any:
    code, out, err = await _run(env, "openstack", *args, "-f", "json")
    assert code == 0, err
    return json.loads(out)


def _token(url: str) -> str:
    path = parse_qs(urlsplit(url).query)["path"][0]
    return parse_qs(urlsplit(path).query)["token"][0]


@pytest_twisted.ensureDeferred
async def test_console_url_show_opens(tmp_path: Path) -> None:
    """When a user runs `openstack console url show`, the URL opens the guest's VNC screen."""
    from twisted.internet import reactor

    aio = start_allinone(tmp_path)
    env = client_env(aio, tmp_path)
    try:
        for name in ("nova-api", "nova-conductor", "nova-consoleauth", "nova-novncproxy"):
            await aio.service.getServiceNamed(name).client.when_joined()
        server = await _json(env, "server", "create", "--flavor", "m1.tiny", "--image",
                             "cirros", "--nic", "none", "--wait", "vm1")
        assert server["status"] == "ACTIVE"
        console = await _json(env, "console", "url", "show", "vm1")
        assert console["type"] == "novnc"
        port = urlsplit(console["url"]).port
        assert port == aio.config.vnc.novncproxy_port
        browser = await open_browser(reactor, port, _token(console["url"]))
        assert await browser.read(reactor, 12) == b"RFB 003.008\n"
        browser.sendClose()
        await browser.closed

        code, _, err = await _run(env, "openstack", "console", "url", "show", "--spice", "vm1")
        assert code != 0 and "Unavailable console type spice-html5" in err

        code, out, err = await _run(env, "nova", "get-vnc-console", "vm1", "novnc")
        assert code == 0, err
        assert "vnc_lite.html?path=%3Ftoken%3D" in out

        code, _, err = await _run(env, "openstack", "server", "delete", "--wait", "vm1")
        assert code == 0, err
    finally:
        await aio.service.stopService()
