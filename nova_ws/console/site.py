"""The console proxies' web site: their pages and their WebSocket on one port.

``console_root(factory, console_type)`` is the root resource of a proxy's
``twisted.web`` ``Site``:

- A request carrying ``Upgrade: websocket``, on any path (noVNC uses
  ``/websockify``, Nova's ``path=?token=`` form makes it ``/``), is handed to
  the proxy's ``ConsoleProxyFactory`` through Autobahn's ``WebSocketResource``.
- Any other ``GET``/``HEAD`` is a static file of the console type's browser
  client (``ConsolePages``): for ``novnc`` our ``vnc_lite.html`` and
  ``vnc.html`` (``/app/...``) on noVNC's library (``/core/...``,
  ``/vendor/...``); for ``spice-html5`` spice-html5's own ``spice_auto.html``
  and its modules; for ``serial`` our ``serial.html`` on xterm.js. ``/`` is the
  main page itself (no redirect). Paths are matched segment by segment
  against a fixed set of directories: no redirects of any kind (so nothing
  like ``//evil.example/`` can send a browser off-site), no directory
  listings, no dot-files, only known file types; everything else is 404.
- Every response carries ``X-Content-Type-Options: nosniff``, ``Referrer-Policy:
  no-referrer`` (page URLs carry console tokens) and a Content-Security-Policy
  that allows scripts, styles and connections to this origin only (plus the
  hashes of the inline scripts of the HTML page served); HTML is never cached.

The browser clients come from npm (``assets/package.json``, installed by
``make deps-console``); our own pages live beside it in ``assets/``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from autobahn.twisted.resource import WebSocketResource
from twisted.web.http import CACHED
from twisted.web.iweb import IRequest
from twisted.web.pages import notFound
from twisted.web.resource import IResource, Resource

from nova_ws.console.proxy import ConsoleProxyFactory

#: Where our pages and the npm-installed browser clients live.
ASSETS = Path(__file__).resolve().parent / "assets"
NODE_MODULES = ASSETS / "node_modules"

#: The only file types served; anything else is 404.
CONTENT_TYPES: Mapping[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
}


@dataclass(frozen=True)
class ConsolePages:
    """The files one console type serves.

    ``mounts`` maps a URL prefix (a tuple of path segments; ``()`` is the
    root) to a directory; the longest matching prefix wins. ``main`` is the
    page served at ``/``; ``aliases`` maps other page names to files under
    the root mount. ``style_src`` and ``media_src`` are added to the
    Content-Security-Policy's ``'self'`` for clients that need more (inline
    style attributes, ``blob:`` video). ``overrides`` maps whole URL paths
    to files served instead of the mounted ones (our fixes of a client's
    module).
    """

    main: str
    mounts: Mapping[tuple[str, ...], Path]
    aliases: Mapping[str, str] = field(default_factory=dict)
    style_src: str = ""
    media_src: str = ""
    overrides: Mapping[tuple[str, ...], Path] = field(default_factory=dict)

    def resolve(self, segments: Sequence[str]) -> Path | None:
        """The regular file that URL path ``segments`` name, or None (404)."""
        segments = list(segments)
        if segments == [""]:
            segments = [self.main]
        elif len(segments) == 1 and segments[0] in self.aliases:
            segments = [self.aliases[segments[0]]]
        if not segments or not all(_safe_segment(s) for s in segments):
            return None
        override = self.overrides.get(tuple(segments))
        if override is not None:
            return override if override.is_file() else None
        for prefix in sorted(self.mounts, key=len, reverse=True):
            if tuple(segments[: len(prefix)]) != prefix or len(segments) == len(prefix):
                continue
            base = self.mounts[prefix]
            candidate = base.joinpath(*segments[len(prefix):])
            return _servable(base, candidate)
        return None


def _safe_segment(segment: str) -> bool:
    """A path segment that names an ordinary entry: no '', '.', '..', dot-files, separators."""
    return bool(segment) and not segment.startswith(".") and not any(
        bad in segment for bad in ("/", "\\", "\0"))


def _servable(base: Path, candidate: Path) -> Path | None:
    """``candidate`` when it is a regular file of a served type inside ``base``."""
    if candidate.suffix not in CONTENT_TYPES:
        return None
    try:
        real = candidate.resolve(strict=True)
        root = base.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not real.is_relative_to(root) or not real.is_file():
        return None
    return real


def _pages(console_type: str) -> ConsolePages:
    novnc = NODE_MODULES / "@novnc" / "novnc"
    if console_type == "novnc":
        return ConsolePages(
            main="vnc_lite.html",
            mounts={(): ASSETS / "novnc", ("core",): novnc / "core",
                    ("vendor",): novnc / "vendor"},
            # vnc_auto.html: the page's name before noVNC 1.0, still Nova's default URL.
            aliases={"vnc_auto.html": "vnc_lite.html"},
        )
    if console_type == "spice-html5":
        spice = NODE_MODULES / "@spice-project" / "spice-html5"
        return ConsolePages(
            main="spice_auto.html",
            mounts={(): spice, ("upstream",): spice / "src"},
            # spice-html5 positions video streams with style attributes and
            # plays them from blob: URLs.
            style_src="'unsafe-inline'", media_src="blob:",
            # its ticket.js drops the leading zero bytes of the encrypted
            # ticket (about 1 link in 200), which the guest cannot decrypt;
            # ours pads it, around spice-html5's own module (at /upstream/)
            overrides={("src", "ticket.js"): ASSETS / "spice" / "ticket.js"},
        )
    if console_type == "serial":
        return ConsolePages(
            main="serial.html",
            mounts={(): ASSETS / "serial", ("xterm",): NODE_MODULES / "@xterm" / "xterm"},
            # xterm.js's DOM renderer themes the terminal with a <style> element.
            style_src="'unsafe-inline'",
        )
    raise ValueError(f"unknown console type {console_type!r}")


class _InlineScripts(HTMLParser):
    """Collects the text of each inline ``<script>`` of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self._current: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script" and not any(name == "src" for name, _ in attrs):
            self._current = []

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._current.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._current is not None:
            self.scripts.append("".join(self._current))
            self._current = None


@lru_cache(maxsize=64)
def _inline_script_hashes(path: Path, mtime_ns: int) -> tuple[str, ...]:
    """CSP source expressions (``'sha256-...'``) for the inline scripts of an HTML file."""
    parser = _InlineScripts()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return tuple(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode() + "'"
        for s in parser.scripts)


def content_security_policy(pages: ConsolePages, frame_ancestors: str,
                            inline_scripts: Sequence[str] = ()) -> str:
    """The Content-Security-Policy of a response of ``pages``' site.

    Scripts, styles, fonts and WebSocket connections come from this origin
    only (``'self'`` covers ``ws:``/``wss:`` to the same host and port);
    ``inline_scripts`` are the hash sources of the page's inline scripts.
    """
    def sources(*extra: str) -> str:
        return " ".join(["'self'", *(e for e in extra if e)])

    directives = [
        "default-src 'none'",
        f"script-src {sources(*inline_scripts)}",
        f"style-src {sources(pages.style_src)}",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        f"media-src {sources(pages.media_src)}",
        "base-uri 'none'",
        "form-action 'none'",
        f"frame-ancestors {frame_ancestors}",
    ]
    return "; ".join(directives)


def is_websocket_upgrade(request: IRequest) -> bool:
    """True when ``request`` asks to upgrade to a WebSocket (``Upgrade: websocket``)."""
    values = request.requestHeaders.getRawHeaders(b"upgrade") or []
    return any(token.strip().lower() == b"websocket"
               for value in values for token in value.split(b","))


class ConsoleWebSocketResource(WebSocketResource):
    """Autobahn's ``WebSocketResource``, made safe for a proxy that drives flow control.

    ``twisted.web``'s ``HTTPChannel`` registers itself as its transport's
    producer; the transport it hands over to the WebSocket protocol still has
    it registered, so the proxy's own ``registerProducer`` (backpressure
    between browser and guest) would fail. The channel is done with the
    connection here, so it is unregistered first.
    """

    def render(self, request: Any) -> Any:
        transport = getattr(request.channel, "transport", None)
        if transport is not None:
            transport.unregisterProducer()
        return super().render(request)


class StaticFile(Resource):
    """One served file: ``GET``/``HEAD`` with its type and ``Last-Modified``; 405 otherwise.

    The site's files are small (the largest is a few hundred kB of script),
    so each is read whole; ``If-Modified-Since`` gets 304.
    """

    isLeaf = True

    def __init__(self, path: Path, content_type: str) -> None:
        super().__init__()
        self.path = path
        self.content_type = content_type

    def render(self, request: Any) -> bytes:
        if request.method not in (b"GET", b"HEAD"):
            request.setResponseCode(405)
            request.setHeader(b"allow", b"GET, HEAD")
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return b"Method not allowed.\n"
        try:
            stat = self.path.stat()
            if request.setLastModified(stat.st_mtime) is CACHED:
                return b""
            data = self.path.read_bytes()
        except OSError:
            return _not_found(request).render(request)
        request.setHeader(b"content-type", self.content_type.encode("ascii"))
        request.setHeader(b"content-length", str(len(data)).encode("ascii"))
        return data


class ConsoleRoot(Resource):
    """The root of a console proxy's site (see the module docstring).

    Children added with ``putChild`` (e.g. ``/metrics``) take precedence over
    the static files; a WebSocket upgrade takes precedence over everything.
    """

    def __init__(self, factory: ConsoleProxyFactory, pages: ConsolePages,
                 frame_ancestors: str = "*") -> None:
        super().__init__()
        self.factory = factory
        self.pages = pages
        self.frame_ancestors = frame_ancestors
        self.websocket = ConsoleWebSocketResource(factory)
        self._csp = content_security_policy(pages, frame_ancestors)

    def getChildWithDefault(self, path: bytes, request: Any) -> IResource:
        if is_websocket_upgrade(request):
            _consume(request)
            return self.websocket
        self._secure(request, self._csp)
        if path in self.children:
            return self.children[path]
        segments = [path, *request.postpath]
        _consume(request)
        try:
            names = [s.decode("utf-8") for s in segments]
        except UnicodeDecodeError:
            return _not_found(request)
        found = self.pages.resolve(names)
        if found is None:
            return _not_found(request)
        content_type = CONTENT_TYPES[found.suffix]
        if found.suffix == ".html":
            hashes = _inline_script_hashes(found, found.stat().st_mtime_ns)
            self._secure(request, content_security_policy(
                self.pages, self.frame_ancestors, hashes))
            request.setHeader(b"cache-control", b"no-store")
        else:
            request.setHeader(b"cache-control", b"no-cache")
        return StaticFile(found, content_type)

    def render(self, request: Any) -> bytes:
        # Site always has at least one path segment to look up ("/" is b""),
        # so this is reached only by odd request targets such as "*".
        self._secure(request, self._csp)
        return _not_found(request).render(request)

    @staticmethod
    def _secure(request: Any, csp: str) -> None:
        request.setHeader(b"x-content-type-options", b"nosniff")
        request.setHeader(b"referrer-policy", b"no-referrer")
        request.setHeader(b"content-security-policy", csp.encode("ascii"))


def _consume(request: Any) -> None:
    """Mark the rest of the request's path as handled (the child is a leaf)."""
    request.prepath.extend(request.postpath)
    request.postpath[:] = []


def _not_found(request: Any) -> IResource:
    request.setHeader(b"cache-control", b"no-store")
    return notFound("No such resource.")


def console_root(factory: ConsoleProxyFactory, console_type: str, *,
                 frame_ancestors: str = "*") -> ConsoleRoot:
    """The root resource of the ``console_type`` proxy's site around ``factory``.

    ``console_type`` is ``novnc``, ``spice-html5`` or ``serial``.
    ``frame_ancestors`` is the CSP ``frame-ancestors`` value: which pages may
    embed the console in a frame (default any, as dashboards embed it).
    """
    return ConsoleRoot(factory, _pages(console_type), frame_ancestors)
