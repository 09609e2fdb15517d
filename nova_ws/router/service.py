"""The router as a Twisted service: build it from nova.conf and listen.

:class:`RouterService` starts the configured listeners (WebSocket, RawSocket
over TCP, RawSocket over a Unix socket; each with TLS when a certificate is
configured) and records the ports it got, so tests can listen on port 0.
"""

from __future__ import annotations

import os
from typing import Any

from twisted.application.service import Service
from twisted.logger import Logger

from nova_ws.config import NovaConfig
from nova_ws.router.auth.registry import build_authenticators
from nova_ws.router.authz import RolePolicy, Rule
from nova_ws.router.policy import builtin_roles
from nova_ws.router.router import Router
from nova_ws.router.transports import RouterRawSocketFactory, RouterWebSocketFactory

log = Logger()


def realm_roles(config: NovaConfig) -> dict[str, dict[str, RolePolicy]]:
    """Roles per realm: the built-in ones, replaced or extended by nova.conf."""
    realms: dict[str, dict[str, RolePolicy]] = {}
    for realm in config.router.realms:
        realms[realm] = builtin_roles()
    for (realm, role), permissions in config.router_roles.items():
        rules = tuple(Rule(p.uri, frozenset(p.actions)) for p in permissions)
        realms.setdefault(realm, builtin_roles())[role] = RolePolicy(role, rules)
    return realms


def build_router(config: NovaConfig, clock: Any) -> Router:
    """A router with the realms, roles and authenticators nova.conf describes."""
    router = Router(realm_roles(config), clock, call_timeout=config.router.call_timeout,
                    handshake_timeout=config.router.handshake_timeout)
    router.authenticators = build_authenticators(config, router.caller)
    return router


class RouterService(Service):
    """Runs one router's listeners while the service runs."""

    def __init__(self, config: NovaConfig, reactor: Any) -> None:
        self.config = config
        self.reactor = reactor
        self.router = build_router(config, reactor)
        self.ports: dict[str, Any] = {}

    def _tls(self) -> Any:
        cfg = self.config.router
        if not cfg.tls_cert_file:
            return None
        from nova_ws.router.tls import server_tls_options

        return server_tls_options(cfg.tls_cert_file, cfg.tls_key_file, cfg.tls_ca_file,
                                  cfg.tls_crl_file)

    def _listen_tcp(self, name: str, port: int, factory: Any, tls: Any) -> None:
        host = self.config.router.listen_host
        if tls is not None:
            listening = self.reactor.listenSSL(port, factory, tls, interface=host)
        else:
            listening = self.reactor.listenTCP(port, factory, interface=host)
        self.ports[name] = listening
        addr = listening.getHost()
        log.info("nova-router: {name} on {scheme}://{host}:{port}", name=name,
                 scheme=("wss" if name == "websocket" else "tls") if tls else
                 ("ws" if name == "websocket" else "tcp"), host=addr.host, port=addr.port)

    def startService(self) -> None:
        super().startService()
        cfg = self.config.router
        tls = self._tls()
        session_factory = self.router.session_factory
        limits = {"max_message_size": cfg.max_message_size,
                  "max_outgoing_buffer": cfg.max_outgoing_buffer}
        serializers = cfg.serializers
        if cfg.websocket_port >= 0:
            path = "/" + cfg.websocket_path.strip("/")
            scheme = "wss" if tls else "ws"
            url = f"{scheme}://{cfg.listen_host}:{cfg.websocket_port or 8080}{path}"
            ws = RouterWebSocketFactory(session_factory, url=url, path=path,
                                        serializers=serializers, **limits)
            self._listen_tcp("websocket", cfg.websocket_port, ws, tls)
        if cfg.rawsocket_port >= 0:
            rawsocket = RouterRawSocketFactory(session_factory, serializers=serializers, **limits)
            self._listen_tcp("rawsocket", cfg.rawsocket_port, rawsocket, tls)
        if cfg.unix_socket:
            if os.path.exists(cfg.unix_socket):
                os.unlink(cfg.unix_socket)
            unix = RouterRawSocketFactory(session_factory, serializers=serializers, **limits)
            self.ports["unix"] = self.reactor.listenUNIX(cfg.unix_socket, unix, mode=0o660)
            log.info("nova-router: rawsocket on unix:{path}", path=cfg.unix_socket)

    def stopService(self) -> Any:
        super().stopService()
        ports, self.ports = self.ports, {}
        from twisted.internet.defer import gatherResults, maybeDeferred

        return gatherResults([maybeDeferred(p.stopListening) for p in ports.values()])

    def port(self, name: str) -> int:
        """The TCP port a listener got (after start)."""
        return int(self.ports[name].getHost().port)
