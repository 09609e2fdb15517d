"""The dashboard's site as nova-api serves it: files, settings, headers, refusals.

The real ``ApiRoot`` (with the Compute app) and the real dashboard resource,
in memory through ``StubTreq``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest_twisted
from treq.testing import StubTreq

from nova_ws.api.compute.app import ComputeApi
from nova_ws.api.dashboard import WEB, Dashboard, DashboardSettings, origin_of
from nova_ws.api.root import ApiRoot
from nova_ws.config import parse_config

BASE = "http://127.0.0.1:8774"
SETTINGS = DashboardSettings("ws://127.0.0.1:8080/ws", "nova",
                             ("http://127.0.0.1:6080", "http://127.0.0.1:6083"))


def _client(dashboard: Any = None) -> StubTreq:
    if dashboard is None:
        dashboard = Dashboard(SETTINGS)
    return StubTreq(ApiRoot(ComputeApi(BASE), dashboard=dashboard).resource())


async def _get(client: StubTreq, path: str, method: str = "GET") -> tuple[Any, bytes]:
    response = await client.request(method, BASE + path)
    return response, await response.content()


def _header(response: Any, name: str) -> str:
    values = response.headers.getRawHeaders(name) or []
    return values[0] if values else ""


@pytest_twisted.ensureDeferred
async def test_page_settings_and_modules_are_served_with_a_strict_policy() -> None:
    """When a browser asks for /, its modules and settings, each comes with the policy."""
    client = _client()
    page, body = await _get(client, "/")
    assert page.code == 200 and b'src="dashboard/main.js"' in body
    assert _header(page, "content-type") == "text/html; charset=utf-8"
    assert _header(page, "cache-control") == "no-store"
    csp = _header(page, "content-security-policy")
    directives = dict(d.split(" ", 1) for d in csp.split("; "))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"  # no inline script, no eval
    assert directives["connect-src"] == "'self' ws://127.0.0.1:8080/ws"
    assert directives["frame-src"] == "http://127.0.0.1:6080 http://127.0.0.1:6083"
    assert directives["frame-ancestors"] == "'none'"
    for path, kind in (("/dashboard/main.js", "text/javascript; charset=utf-8"),
                       ("/dashboard/dashboard.css", "text/css; charset=utf-8"),
                       ("/dashboard/vendor/autobahn/autobahn.min.js",
                        "text/javascript; charset=utf-8"),
                       ("/dashboard/vendor/uplot/uPlot.esm.js", "text/javascript; charset=utf-8")):
        response, content = await _get(client, path)
        assert response.code == 200, path
        assert _header(response, "content-type") == kind
        assert _header(response, "x-content-type-options") == "nosniff"
        assert _header(response, "referrer-policy") == "no-referrer"
        assert _header(response, "x-frame-options") == "DENY"
        assert _header(response, "content-security-policy") == csp
        assert content
    response, content = await _get(client, "/dashboard/config.json")
    assert response.code == 200 and _header(response, "cache-control") == "no-store"
    assert json.loads(content) == {
        "router": {"url": "ws://127.0.0.1:8080/ws", "realm": "nova"},
        "consoles": {"origins": ["http://127.0.0.1:6080", "http://127.0.0.1:6083"]}}


@pytest_twisted.ensureDeferred
async def test_nothing_else_is_served_and_nothing_redirects() -> None:
    """When a path names a directory, a hidden, unknown or outside file, the answer is 404."""
    client = _client()
    assert (WEB / "package.json").exists()
    for path in ("/dashboard", "/dashboard/", "/dashboard/vendor/", "/index.html",
                 "/package.json", "/node_modules/uplot/dist/uPlot.esm.js",
                 "/dashboard/vendor/uplot/../../../package.json",
                 "/dashboard/%2e%2e/index.html", "/dashboard/vendor/autobahn/package.json",
                 "/dashboard/vendor/autobahn/.stamp", "/dashboard/.hidden.js",
                 "//evil.example/", "//evil.example/dashboard/main.js", "/%2f%2fevil.example",
                 "/dashboard/config.json/x"):
        response, _ = await _get(client, path)
        assert response.code == 404, path
        assert not response.headers.hasHeader("location"), path
        assert _header(response, "x-content-type-options") == "nosniff", path
    response, _ = await _get(client, "/dashboard/config.json", method="POST")
    assert response.code == 405
    response, _ = await _get(client, "/")
    head, body = await _get(client, "/", method="HEAD")
    assert head.code == 200 and body == b""


@pytest_twisted.ensureDeferred
async def test_the_apis_keep_their_paths() -> None:
    """When the dashboard is mounted at /, the Compute API still answers its own paths."""
    client = _client()
    response, body = await _get(client, "/compute/")
    assert response.code == 200 and b"versions" in body
    response, body = await _get(client, "/v2.1/")
    assert response.code == 200 and b"version" in body
    bare = StubTreq(ApiRoot(ComputeApi(BASE)).resource())  # a server without a dashboard
    response, body = await _get(bare, "/")
    assert response.code == 200 and json.loads(body)["services"]["compute"] == "/compute/"
    response, _ = await _get(bare, "/dashboard/main.js")
    assert response.code == 404


def test_settings_come_from_nova_conf() -> None:
    """When nova.conf names the router and proxies, the page gets their URL and origins."""
    config = parse_config("""
[wamp]
url = wss://router.example:8443/ws
realm = cloud
[vnc]
novncproxy_base_url = https://consoles.example/vnc_lite.html
[spice]
html5proxy_base_url = https://consoles.example/spice_auto.html
[serial_console]
base_url = wss://[::1]:6083/
""", "<test>")
    settings = DashboardSettings.from_config(config)
    assert settings.router_url == "wss://router.example:8443/ws"
    assert settings.realm == "cloud"
    assert settings.console_origins == ("https://consoles.example", "https://[::1]:6083")
    raw = parse_config("[wamp]\nurl = tcp://127.0.0.1:8081\n", "<test>")
    settings = DashboardSettings.from_config(raw)
    assert settings.document()["router"]["url"] is None
    assert "connect-src 'self';" in settings.content_security_policy()
    # services use RawSocket on loopback; browsers reach the router by its public name
    public = parse_config("[wamp]\nurl = tcp://127.0.0.1:8081\n"
                          "[dashboard]\nrouter_url = wss://cloud.example/ws\n", "<test>")
    settings = DashboardSettings.from_config(public)
    assert settings.document()["router"]["url"] == "wss://cloud.example/ws"
    assert "connect-src 'self' wss://cloud.example/ws;" in settings.content_security_policy()
    assert origin_of("javascript:alert(1)") is None
    assert origin_of("http://[bad") is None
