"""A console proxy as a Twisted service: nova-novncproxy, -spicehtml5proxy, -serialproxy.

Each is one ``ConsoleProxyFactory`` behind one HTTP(S) listener that also
serves the console's web pages (``site``), a router client (role
``console``) that validates tokens with nova-consoleauth
(``rpc_validator``) and hears its revocations, and a heartbeat. Options
come from ``[console]`` (shared limits, Origin, TLS) and the console type's
own section (``[vnc]``, ``[spice]``, ``[serial_console]``: host and port).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from twisted.application.service import MultiService
from twisted.logger import Logger
from twisted.web.resource import Resource

from nova_ws.auth.consoleauth import rpcapi
from nova_ws.conductor.rpcapi import ConductorAPI
from nova_ws.config import NovaConfig
from nova_ws.console.origin import OriginPolicy
from nova_ws.console.proxy import CloseCode, ConsoleProxyFactory, ProxyConfig
from nova_ws.console.rpc_validator import RpcTokenValidator
from nova_ws.listener import HttpListener
from nova_ws.wamp.client import ServiceClient
from nova_ws.wamp.heartbeat import Heartbeat

log = Logger()


@dataclass(frozen=True)
class ProxyKind:
    """What differs between the three proxies."""

    console_type: str
    binary: str
    host: str
    port: int


def proxy_kind(config: NovaConfig, console_type: str) -> ProxyKind:
    """The binary name and listening address of the ``console_type`` proxy."""
    if console_type == "novnc":
        return ProxyKind("novnc", "nova-novncproxy", config.vnc.novncproxy_host,
                         config.vnc.novncproxy_port)
    if console_type == "spice-html5":
        return ProxyKind("spice-html5", "nova-spicehtml5proxy", config.spice.html5proxy_host,
                         config.spice.html5proxy_port)
    if console_type == "serial":
        return ProxyKind("serial", "nova-serialproxy", config.serial_console.serialproxy_host,
                         config.serial_console.serialproxy_port)
    raise ValueError(f"unknown console type {console_type!r}")


#: WebSockets one console opens: spice-html5 one per SPICE channel (main,
#: display, inputs, cursor, playback, record, and a few optional ones).
CHANNELS_PER_CONSOLE = {"spice-html5": 8}


def proxy_config(config: NovaConfig, console_type: str) -> ProxyConfig:
    """The ``ProxyConfig`` nova.conf describes for one console type."""
    c = config.console
    return ProxyConfig(
        console_type, secure=c.ssl_only,
        # the serial console also serves programs, which send no Origin
        origin_policy=OriginPolicy.from_config(c.allowed_origins,
                                               require_origin=console_type != "serial"),
        idle_timeout=c.idle_timeout or None, max_per_token=c.max_per_token or None,
        max_per_user=c.max_per_user or None, failed_auth_limit=c.failed_auth_limit,
        failed_auth_window=c.failed_auth_window,
        channels_per_console=CHANNELS_PER_CONSOLE.get(console_type, 1))


class MetricsResource(Resource):
    """``GET /metrics``: the proxy's counters as JSON, for local clients only."""

    isLeaf = True

    def __init__(self, factory: ConsoleProxyFactory) -> None:
        super().__init__()
        self.factory = factory

    def render_GET(self, request: Any) -> bytes:
        peer = request.getClientAddress()
        if getattr(peer, "host", None) not in ("127.0.0.1", "::1"):
            request.setResponseCode(403)
            return b'{"error": "metrics are served to local clients only"}'
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"cache-control", b"no-store")
        return json.dumps(self.factory.metrics.as_dict()).encode()


class ConsoleProxyService(MultiService):
    """One console proxy of ``console_type`` (``novnc``, ``spice-html5``, ``serial``)."""

    def __init__(self, config: NovaConfig, reactor: Any, console_type: str) -> None:
        super().__init__()
        from nova_ws.console.site import console_root

        kind = proxy_kind(config, console_type)
        self.kind = kind
        self.client = ServiceClient(config.wamp, reactor,
                                    subscriptions={rpcapi.REVOKED: self._revoked})
        self.client.setServiceParent(self)
        self.factory = ConsoleProxyFactory(
            RpcTokenValidator(self.client, reactor), proxy_config(config, console_type),
            reactor, shims=_shims(config, console_type))
        root = console_root(self.factory, console_type)
        root.putChild(b"metrics", MetricsResource(self.factory))
        c = config.console
        tls = (c.cert, c.key) if c.ssl_only else None
        self.http = HttpListener(reactor, root, kind.host, kind.port, name=kind.binary, tls=tls)
        self.http.setServiceParent(self)
        Heartbeat(ConductorAPI(self.client), kind.binary, config.default.host, "console",
                  config.default.default_availability_zone, config.default.report_interval,
                  reactor, joined=self.client.when_joined).setServiceParent(self)

    def _revoked(self, event: Any = None, *args: Any, **kwargs: Any) -> None:
        if not isinstance(event, dict) or not isinstance(event.get("instance_uuid"), str):
            return
        closed = self.factory.close_sessions(
            instance_uuid=event["instance_uuid"],
            reason=str(event.get("reason") or "console access revoked"), code=CloseCode.REVOKED)
        if closed:
            log.info("{binary}: closed {count} session(s) of {instance}: {reason}",
                     binary=self.kind.binary, count=closed, instance=event["instance_uuid"],
                     reason=event.get("reason"))


def _shims(config: NovaConfig, console_type: str) -> Any:
    """The session shim factory: for VNC, the RFB security proxy as ``[vnc]`` configures it."""
    from nova_ws.console.rfb_security import RFBSecurityConfig, RFBSecurityShims
    from nova_ws.console.shims import shim_for

    if console_type != "novnc":
        return shim_for
    v = config.vnc
    return RFBSecurityShims(RFBSecurityConfig(
        auth_schemes=v.auth_schemes, vencrypt_client_key=v.vencrypt_client_key or None,
        vencrypt_client_cert=v.vencrypt_client_cert or None,
        vencrypt_ca_certs=v.vencrypt_ca_certs or None))
