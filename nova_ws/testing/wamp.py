"""Real routers and real Autobahn clients for tests, on 127.0.0.1 port 0.

``start_router`` runs a :class:`~nova_ws.router.service.RouterService` from
nova.conf text with every TCP listener on a free port; ``join`` connects a
real Autobahn|Python session over WebSocket or RawSocket (TCP or Unix) and
fires when the router has welcomed it (or fails with the ABORT reason).
"""

from __future__ import annotations

from typing import Any

from autobahn.twisted.rawsocket import WampRawSocketClientFactory
from autobahn.twisted.wamp import ApplicationSession
from autobahn.twisted.websocket import WampWebSocketClientFactory
from autobahn.wamp import auth
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.serializer import CBORSerializer, JsonSerializer, MsgPackSerializer
from autobahn.wamp.types import ComponentConfig
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, UNIXClientEndpoint, wrapClientTLS

from nova_ws.config import parse_config
from nova_ws.router.service import RouterService

SERIALIZERS = {"json": JsonSerializer, "msgpack": MsgPackSerializer, "cbor": CBORSerializer}

BASE_CONF = """
[router]
listen_host = 127.0.0.1
websocket_port = 0
rawsocket_port = 0
"""


async def start_router(reactor: Any, conf_text: str = "") -> RouterService:
    """A running router configured by *conf_text* (``[router]`` ports are 0).

    Options in *conf_text* override ``BASE_CONF``; stop it with
    ``await service.stopService()``.
    """
    config = parse_config(_merge(BASE_CONF, conf_text), "<test>")
    service = RouterService(config, reactor)
    service.startService()
    return service


def _merge(base: str, extra: str) -> str:
    """Merge two INI texts, the second winning (configparser semantics)."""
    import configparser

    parser = configparser.ConfigParser(interpolation=None, default_section="\0none", strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(base)
    parser.read_string(extra)
    lines = []
    for section in parser.sections():
        lines.append(f"[{section}]")
        lines.extend(f"{k} = {v}" for k, v in parser.items(section))
    return "\n".join(lines) + "\n"


class ClientSession(ApplicationSession):
    """A client session that reports join, challenge and leave to Deferreds."""

    def __init__(self, config: ComponentConfig, credentials: dict[str, Any]) -> None:
        super().__init__(config)
        self.credentials = credentials
        self.joined: Deferred[ClientSession] = Deferred()
        self.left: Deferred[Any] = Deferred()
        self.closed_reason: str | None = None

    def onConnect(self) -> None:
        c = self.credentials
        self.join(self.config.realm, authmethods=c.get("authmethods"),
                  authid=c.get("authid"), authextra=c.get("authextra"))

    def onChallenge(self, challenge: Any) -> str:
        c = self.credentials
        if challenge.method == "ticket":
            return str(c["ticket"])
        if challenge.method == "wampcra":
            key = c["secret"]
            if "salt" in challenge.extra:
                key = auth.derive_key(key, challenge.extra["salt"],
                                      challenge.extra["iterations"], challenge.extra["keylen"])
            return auth.compute_wcs(key, challenge.extra["challenge"]).decode("ascii")
        raise ValueError(f"unexpected challenge {challenge.method}")

    def onJoin(self, details: Any) -> None:
        if not self.joined.called:
            self.joined.callback(self)

    def onLeave(self, details: Any) -> None:
        self.closed_reason = details.reason
        if not self.joined.called:
            self.joined.errback(ApplicationError(details.reason, details.message))
        if not self.left.called:
            self.left.callback(details)
        self.disconnect()


async def join(
    reactor: Any,
    service: RouterService,
    *,
    transport: str = "websocket",
    serializer: str = "json",
    realm: str = "nova",
    tls_options: Any = None,
    **credentials: Any,
) -> ClientSession:
    """Connect and join a real Autobahn session; fails with the ABORT reason."""
    cfg = ComponentConfig(realm=realm)
    created: Deferred[ClientSession] = Deferred()

    def make() -> ClientSession:
        s = ClientSession(cfg, credentials)
        created.callback(s)
        return s

    ser = SERIALIZERS[serializer]()
    if transport == "websocket":
        port = service.port("websocket")
        scheme = "wss" if tls_options is not None else "ws"
        factory: Any = WampWebSocketClientFactory(
            make, url=f"{scheme}://127.0.0.1:{port}/ws", serializers=[ser])
        endpoint: Any = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    elif transport == "rawsocket":
        factory = WampRawSocketClientFactory(make, serializer=ser)
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", service.port("rawsocket"))
    elif transport == "unix":
        factory = WampRawSocketClientFactory(make, serializer=ser)
        endpoint = UNIXClientEndpoint(reactor, service.config.router.unix_socket)
    else:
        raise ValueError(transport)
    if tls_options is not None:
        endpoint = wrapClientTLS(tls_options, endpoint)
    proto = await endpoint.connect(factory)
    closed = proto.is_closed

    def lost(_: Any) -> None:
        if not created.called:
            created.errback(ConnectionError("the router closed the connection before WAMP"))

    closed.addBoth(lost)
    session = await created
    return await session.joined
