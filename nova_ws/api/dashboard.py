"""The browser dashboard's files and settings, as nova-api serves them at ``/``.

``Dashboard(settings).resource()`` is a ``twisted.web`` resource that
``ApiRoot`` mounts at ``/``:

- ``/`` is the dashboard's page (``web/index.html``); ``/dashboard/...`` its
  own modules and styles (``web/app/``) and the npm-installed libraries it
  loads (``/dashboard/vendor/autobahn/`` and ``/dashboard/vendor/uplot/``,
  from ``web/node_modules``, installed by ``make deps-web``).
- ``/dashboard/config.json`` tells the page what only nova.conf knows: the
  WAMP router's WebSocket URL and realm (``[wamp] url, realm``) and the
  origins of the console proxies whose pages it embeds.
- Files are looked up segment by segment with the console proxies'
  ``ConsolePages`` rules: no redirects (nothing can send a browser
  off-site), no directory listings, no dot-files, only known file types;
  anything else is 404.
- Every response carries ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: no-referrer`` and a Content-Security-Policy: scripts and
  styles from this origin only (the page has no inline script), API calls to
  this origin, WebSockets to the router, frames from the console proxies
  only; the dashboard itself may not be framed by anyone (it holds a token).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from twisted.web.pages import notFound
from twisted.web.resource import IResource, Resource

from nova_ws.config import NovaConfig
from nova_ws.console.site import CONTENT_TYPES, ConsolePages, StaticFile


def _web_root() -> Path:
    """Where the dashboard's files are: in the package when installed from a
    wheel (``nova_ws/_web``, see setup.py), else ``web/`` in the checkout."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "_web"
    return installed if (installed / "index.html").is_file() else package.parent / "web"


#: The dashboard's files (``web/``, or its copy in an installed wheel).
WEB = _web_root()

#: Where each URL prefix's files are; the longest prefix wins.
PAGES = ConsolePages(
    main="index.html",
    mounts={
        ("dashboard",): WEB / "app",
        ("dashboard", "vendor", "autobahn"): WEB / "node_modules" / "autobahn-browser",
        ("dashboard", "vendor", "uplot"): WEB / "node_modules" / "uplot" / "dist",
    },
)

_WEB_SCHEMES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


def origin_of(url: str) -> str | None:
    """The web origin (``http://host:port``) of a page or WebSocket URL; None if not one.

    ``ws``/``wss`` URLs give the ``http``/``https`` origin of the server's pages.
    """
    try:
        parts = urlsplit(url)
        scheme = _WEB_SCHEMES.get(parts.scheme.lower())
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if scheme is None or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


@dataclass(frozen=True)
class DashboardSettings:
    """What the page learns from ``/dashboard/config.json``.

    ``router_url`` is the router's WebSocket URL (``ws://`` or ``wss://``),
    or "" when ``[wamp] url`` is not a WebSocket (RawSocket): the page then
    says that live updates are unavailable. ``console_origins`` are the web
    origins of the noVNC, SPICE and serial proxies (their pages are framed).
    """

    router_url: str = "ws://127.0.0.1:8080/ws"
    realm: str = "nova"
    console_origins: tuple[str, ...] = ("http://127.0.0.1:6080",)

    @classmethod
    def from_config(cls, config: NovaConfig) -> DashboardSettings:
        """The settings that nova.conf's ``[dashboard]``, ``[wamp]`` and console proxies' URLs give.

        The router's URL is ``[dashboard] router_url`` (what browsers reach),
        else ``[wamp] url`` when that is a WebSocket.
        """
        url = config.dashboard.router_url or config.wamp.url
        router = url if urlsplit(url).scheme.lower() in ("ws", "wss") else ""
        bases = (config.vnc.novncproxy_base_url, config.spice.html5proxy_base_url,
                 config.serial_console.base_url)
        origins = tuple(dict.fromkeys(o for o in map(origin_of, bases) if o))
        return cls(router, config.wamp.realm, origins)

    def document(self) -> dict[str, Any]:
        """The JSON document the page reads."""
        return {"router": {"url": self.router_url or None, "realm": self.realm},
                "consoles": {"origins": list(self.console_origins)}}

    def content_security_policy(self) -> str:
        """The Content-Security-Policy of every dashboard response."""
        router = origin_of(self.router_url) if self.router_url else None
        sockets = [self.router_url.split("?")[0]] if router else []
        frames = " ".join(self.console_origins) or "'none'"
        return "; ".join([
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src " + " ".join(["'self'", *sockets]),
            f"frame-src {frames}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ])


class _Config(Resource):
    """``/dashboard/config.json``: the settings, never cached."""

    isLeaf = True

    def __init__(self, document: bytes) -> None:
        super().__init__()
        self.document = document

    def render(self, request: Any) -> bytes:
        if request.method not in (b"GET", b"HEAD"):
            request.setResponseCode(405)
            request.setHeader(b"allow", b"GET, HEAD")
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return b"Method not allowed.\n"
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"cache-control", b"no-store")
        return self.document


class DashboardRoot(Resource):
    """The dashboard's site (see the module docstring); ``ApiRoot`` hands it ``/...``."""

    def __init__(self, settings: DashboardSettings, pages: ConsolePages = PAGES,
                 index: Path = WEB / "index.html") -> None:
        super().__init__()
        self.pages = pages
        self.index = index
        self._csp = settings.content_security_policy().encode("ascii")
        self._config = _Config(json.dumps(settings.document()).encode())

    def getChildWithDefault(self, path: bytes, request: Any) -> IResource:
        self._secure(request)
        segments = [path, *request.postpath]
        request.prepath.extend(request.postpath)
        request.postpath[:] = []
        return self._lookup(segments, request)

    def render(self, request: Any) -> bytes:
        # Reached for "/" itself (no segment left to look up).
        self._secure(request)
        resource = self._lookup([b""], request)
        return resource.render(request)

    def _lookup(self, segments: Sequence[bytes], request: Any) -> IResource:
        if list(segments) == [b"dashboard", b"config.json"]:
            return self._config
        try:
            names = [s.decode("utf-8") for s in segments]
        except UnicodeDecodeError:
            return _not_found(request)
        found = self.index if names == [""] else self.pages.resolve(names)
        if found is None or not found.is_file():
            return _not_found(request)
        # HTML is never cached (a new page may need new modules); the rest revalidates.
        cache = b"no-store" if found.suffix == ".html" else b"no-cache"
        request.setHeader(b"cache-control", cache)
        return StaticFile(found, CONTENT_TYPES[found.suffix])

    def _secure(self, request: Any) -> None:
        request.setHeader(b"x-content-type-options", b"nosniff")
        request.setHeader(b"referrer-policy", b"no-referrer")
        request.setHeader(b"x-frame-options", b"DENY")
        request.setHeader(b"content-security-policy", self._csp)


def _not_found(request: Any) -> IResource:
    request.setHeader(b"cache-control", b"no-store")
    return notFound("No such resource.")


class Dashboard:
    """The dashboard as ``ApiRoot`` mounts it."""

    def __init__(self, settings: DashboardSettings) -> None:
        self.settings = settings
        self._root = DashboardRoot(settings)

    @classmethod
    def from_config(cls, config: NovaConfig) -> Dashboard:
        """The dashboard that nova.conf describes."""
        return cls(DashboardSettings.from_config(config))

    def resource(self) -> IResource:
        """The resource for ``/`` and everything under it that no API claims."""
        return self._root
