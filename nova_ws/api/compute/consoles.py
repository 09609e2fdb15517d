"""Remote consoles: ``POST /servers/{id}/remote-consoles`` and the legacy actions.

The API checks that the caller may use the server and that it is active,
then asks nova-consoleauth for a token (``nova.consoleauth.authorize``: it
asks the instance's compute host where the console listens and binds the
token to that) and answers the proxy URL with the token, in Nova's shape:
noVNC ``<novncproxy_base_url>?path=%3Ftoken%3D<token>``, SPICE
``<html5proxy_base_url>?token=<token>``, serial ``<base_url>?token=<token>``.

A ``remote_console`` body may carry ``"view_only": true`` (a nova_ws
extension): the token then opens a console that shows the screen but drops
the browser's keys, pointer and clipboard (read-only links to share).

``remote-consoles`` is microversion 2.6 and later; the older actions
``os-getVNCConsole``, ``os-getSPICEConsole`` and ``os-getSerialConsole``
answer up to 2.5, as in Nova.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from autobahn.wamp.exception import ApplicationError

from nova_ws.api.compute.context import RequestContext
from nova_ws.api.compute.servers import Servers
from nova_ws.api.errors import BadRequest, Conflict, Fault, NotFound
from nova_ws.api.microversions import Version
from nova_ws.auth.consoleauth import rpcapi
from nova_ws.compute import states
from nova_ws.config import NovaConfig

#: protocol -> the console types Nova knows for it.
PROTOCOL_TYPES = {"vnc": ("novnc", "xvpvnc"), "spice": ("spice-html5",),
                  "serial": ("serial",), "rdp": ("rdp-html5",), "mks": ("webmks",)}
#: console types nova_ws serves.
SERVED_TYPES = ("novnc", "spice-html5", "serial")
#: legacy action -> (protocol, the body's required ``type`` values).
LEGACY_ACTIONS = {"os-getVNCConsole": ("vnc", ("novnc", "xvpvnc")),
                  "os-getSPICEConsole": ("spice", ("spice-html5",)),
                  "os-getSerialConsole": ("serial", ("serial",))}
_UNAVAILABLE = frozenset({"wamp.error.no_such_procedure", "nova.error.router_unavailable",
                          "wamp.error.canceled", "wamp.error.timeout"})


@dataclass(frozen=True)
class ConsoleUrls:
    """The base URL of each console type's proxy page (nova.conf)."""

    novnc: str = "http://127.0.0.1:6080/vnc_lite.html"
    spice_html5: str = "http://127.0.0.1:6082/spice_auto.html"
    serial: str = "ws://127.0.0.1:6083/"

    @classmethod
    def from_config(cls, config: NovaConfig) -> ConsoleUrls:
        """The URLs nova.conf's ``[vnc]``, ``[spice]`` and ``[serial_console]`` give."""
        return cls(config.vnc.novncproxy_base_url, config.spice.html5proxy_base_url,
                   config.serial_console.base_url)

    def url(self, console_type: str, token: str) -> str:
        """The URL a browser (or client) opens for ``token``."""
        if console_type == "novnc":
            return _with_query(self.novnc, "path=" + quote(f"?token={token}", safe=""))
        base = self.spice_html5 if console_type == "spice-html5" else self.serial
        return _with_query(base, f"token={token}")


def _with_query(base: str, query: str) -> str:
    return f"{base}{'&' if '?' in base else '?'}{query}"


class RemoteConsoles:
    """Console URLs for servers, through nova-consoleauth."""

    def __init__(self, servers: Servers, client: Any, urls: ConsoleUrls) -> None:
        self.servers = servers
        self.client = client
        self.urls = urls

    async def create(self, ctx: RequestContext, version: Version, uuid: str, body: Any
                     ) -> tuple[int, Any]:
        """``POST /servers/{id}/remote-consoles`` (2.6+)."""
        if version < Version(2, 6):
            raise NotFound("The resource could not be found.")
        spec = body.get("remote_console") if isinstance(body, dict) else None
        if not isinstance(spec, dict):
            raise BadRequest("Invalid input for field/attribute remote_console.")
        protocol, console_type = spec.get("protocol"), spec.get("type")
        protocols = tuple(p for p in PROTOCOL_TYPES if p != "mks" or version >= Version(2, 8))
        if protocol not in protocols:
            raise BadRequest(f"Invalid input for field/attribute protocol. Value: {protocol}. "
                             f"{protocol!r} is not one of {list(protocols)}")
        if console_type not in PROTOCOL_TYPES[protocol]:
            raise BadRequest(f"Invalid input for field/attribute type. Value: {console_type}. "
                             f"{console_type!r} is not one of {list(PROTOCOL_TYPES[protocol])}")
        view_only = spec.get("view_only", False)
        if not isinstance(view_only, bool):
            raise BadRequest(f"Invalid input for field/attribute view_only. Value: {view_only}. "
                             f"{view_only!r} is not of type 'boolean'")
        url = await self._url(ctx, uuid, console_type, view_only=view_only)
        return 200, {"remote_console": {"protocol": protocol, "type": console_type, "url": url}}

    async def legacy(self, ctx: RequestContext, version: Version, uuid: str, action: str,
                     argument: Any) -> tuple[int, Any]:
        """``os-getVNCConsole``, ``os-getSPICEConsole``, ``os-getSerialConsole`` (up to 2.5)."""
        if version >= Version(2, 6):
            raise NotFound("The resource could not be found.")
        _, allowed = LEGACY_ACTIONS[action]
        console_type = argument.get("type") if isinstance(argument, dict) else None
        if console_type not in allowed:
            raise BadRequest(f"Invalid input for field/attribute type. Value: {console_type}. "
                             f"{console_type!r} is not one of {list(allowed)}")
        url = await self._url(ctx, uuid, console_type)
        return 200, {"console": {"type": console_type, "url": url}}

    async def _url(self, ctx: RequestContext, uuid: str, console_type: str,
                   view_only: bool = False) -> str:
        ctx.require_write()
        inst = await self.servers.get(ctx, uuid)
        if console_type not in SERVED_TYPES:
            raise BadRequest(f"Unavailable console type {console_type}.")
        if inst.vm_state != states.ACTIVE or not inst.host:
            raise Conflict(f"Instance {uuid} is not ready yet.")
        if self.client is None:
            raise Fault("The console service is unavailable.", 503)
        try:
            grant = await rpcapi.ConsoleAuthAPI(self.client).authorize(
                uuid, console_type, user_id=ctx.user_id, project_id=inst.project_id,
                view_only=view_only)
        except ApplicationError as exc:
            if exc.error == rpcapi.CONSOLE_UNAVAILABLE:
                raise BadRequest(f"Unavailable console type {console_type}.") from exc
            if exc.error in _UNAVAILABLE or exc.error.startswith("nova.error.router"):
                raise Fault("The console service is unavailable.", 503) from exc
            raise
        return self.urls.url(console_type, str(grant["token"]))
