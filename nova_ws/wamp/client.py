"""A service's connection to the router, from ``[wamp]`` in nova.conf.

:class:`ServiceClient` is a Twisted service that connects (and reconnects,
with backoff) to the router, authenticates as ``[wamp] authid`` with
``authmethod`` (ticket, wampcra, tls or anonymous), registers its service's
procedures and subscriptions on every join, and offers ``call`` and
``publish`` to the service's code. Every nova_ws service talks to the others
through one of these; they are plain WAMP peers, so they work against any
WAMP router.

URLs: ``ws://host:port/path`` and ``wss://`` (WebSocket), ``rs://host:port``
and ``rss://`` (RawSocket over TCP, TLS), ``unix:/path`` (RawSocket).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from autobahn.twisted.rawsocket import WampRawSocketClientFactory
from autobahn.twisted.wamp import ApplicationSession
from autobahn.twisted.websocket import WampWebSocketClientFactory
from autobahn.wamp import auth
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.serializer import MsgPackSerializer
from autobahn.wamp.types import ComponentConfig, RegisterOptions, SubscribeOptions
from twisted.application.internet import ClientService, backoffPolicy
from twisted.application.service import Service
from twisted.internet import ssl
from twisted.internet.defer import Deferred, ensureDeferred, fail
from twisted.internet.endpoints import TCP4ClientEndpoint, UNIXClientEndpoint, wrapClientTLS
from twisted.logger import Logger

from nova_ws.config import WampSection

log = Logger()
NOT_CONNECTED = "nova.error.router_unavailable"


@dataclass(frozen=True)
class Procedure:
    """A procedure a service registers: its handler and registration options."""

    handler: Callable[..., Any]
    invoke: str = "single"
    match: str = "exact"
    details: bool = False  # pass the call's details (the caller, when disclosed) as ``details``


@dataclass(frozen=True)
class Topic:
    """A subscription with a match policy other than exact (``prefix``, ``wildcard``)."""

    handler: Callable[..., Any]
    match: str = "exact"


class _Session(ApplicationSession):
    """The WAMP session of a :class:`ServiceClient`."""

    def __init__(self, config: ComponentConfig, client: ServiceClient) -> None:
        super().__init__(config)
        self._client = client

    def onConnect(self) -> None:
        w = self._client.wamp
        methods = [w.authmethod] if w.authmethod else ["anonymous"]
        self.join(w.realm, authmethods=methods, authid=w.authid or None)

    def onChallenge(self, challenge: Any) -> str:
        w = self._client.wamp
        if challenge.method == "ticket":
            return w.secret
        if challenge.method == "wampcra":
            key: Any = w.secret
            if "salt" in challenge.extra:
                key = auth.derive_key(key, challenge.extra["salt"],
                                      challenge.extra["iterations"], challenge.extra["keylen"])
            return str(auth.compute_wcs(key, challenge.extra["challenge"]).decode("ascii"))
        raise ApplicationError("nova.error.unsupported_challenge", challenge.method)

    async def onJoin(self, details: Any) -> None:
        client = self._client
        for uri, proc in client.procedures().items():
            await self.register(proc.handler, uri,
                                RegisterOptions(invoke=proc.invoke, match=proc.match,
                                                details_arg="details" if proc.details else None))
        for topic, handler in client.subscriptions.items():
            if isinstance(handler, Topic):
                await self.subscribe(handler.handler, topic, SubscribeOptions(match=handler.match))
            else:
                await self.subscribe(handler, topic, SubscribeOptions())
        client._joined(self)

    def onLeave(self, details: Any) -> None:
        self._client._left(self, details)
        self.disconnect()


class ServiceClient(Service):
    """Keeps one service joined to the router and registered there."""

    def __init__(
        self,
        wamp: WampSection,
        reactor: Any,
        procedures: Callable[[], Mapping[str, Procedure]] = dict,
        subscriptions: Mapping[str, Callable[..., Any] | Topic] | None = None,
    ) -> None:
        self.wamp = wamp
        self.reactor = reactor
        self.procedures = procedures
        self.subscriptions = dict(subscriptions or {})
        self.session: _Session | None = None
        self._waiting: list[Deferred[ServiceClient]] = []
        self._on_join: list[Callable[[], Any]] = []
        self._connector: ClientService | None = None
        self._leaving: Deferred[None] | None = None

    # -- for the service's code --------------------------------------------

    def call(self, procedure: str, *args: Any, **kwargs: Any) -> Deferred[Any]:
        """Call a procedure; fails with ``nova.error.router_unavailable`` when not joined."""
        session = self.session
        if session is None or not session.is_attached():
            return fail(ApplicationError(NOT_CONNECTED, "not connected to the router"))
        return session.call(procedure, *args, **kwargs)

    def publish(self, topic: str, *args: Any, **kwargs: Any) -> None:
        """Publish an event (dropped, with a log line, when not joined)."""
        session = self.session
        if session is None or not session.is_attached():
            log.warn("not connected: event {topic} dropped", topic=topic)
            return
        session.publish(topic, *args, **kwargs)

    def when_joined(self) -> Deferred[ServiceClient]:
        """Fires once the client is joined (at once if it is)."""
        d: Deferred[ServiceClient] = Deferred()
        if self.session is not None and self.session.is_attached():
            d.callback(self)
        else:
            self._waiting.append(d)
        return d

    def on_join(self, callback: Callable[[], Any]) -> None:
        """Run *callback* after every (re)join."""
        self._on_join.append(callback)

    # -- Service -----------------------------------------------------------

    def startService(self) -> None:
        super().startService()
        endpoint, factory = self._transport()
        self._connector = ClientService(endpoint, factory, retryPolicy=backoffPolicy(
            initialDelay=0.2, maxDelay=10.0), clock=self.reactor)
        self._connector.startService()

    def stopService(self) -> Any:
        super().stopService()
        return ensureDeferred(self._stop())

    async def _stop(self) -> None:
        session = self.session
        if session is not None and session.is_attached():
            self._leaving = Deferred()
            session.leave()  # say GOODBYE before the connection goes
            self._leaving.addTimeout(2.0, self.reactor)
            try:
                await self._leaving
            except Exception:
                pass
        self.session = None
        if self._connector is not None:
            await self._connector.stopService()

    def _joined(self, session: _Session) -> None:
        self.session = session
        log.info("{authid} joined realm {realm} as {role}", authid=self.wamp.authid,
                 realm=self.wamp.realm, role=session._authrole)
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.callback(self)
        for callback in self._on_join:
            callback()

    def _left(self, session: _Session, details: Any) -> None:
        if self.session is session:
            self.session = None
        leaving, self._leaving = self._leaving, None
        if leaving is not None and not leaving.called:
            leaving.callback(None)
        if details.reason not in ("wamp.close.normal", "wamp.close.goodbye_and_out"):
            log.warn("{authid} left the router: {reason} {message}", authid=self.wamp.authid,
                     reason=details.reason, message=details.message or "")

    def _transport(self) -> tuple[Any, Any]:
        url = urlparse(self.wamp.url)
        config = ComponentConfig(realm=self.wamp.realm)

        def session_factory() -> _Session:
            return _Session(config, self)

        if url.scheme in ("ws", "wss"):
            factory: Any = WampWebSocketClientFactory(session_factory, url=self.wamp.url,
                                                      serializers=[MsgPackSerializer()])
            factory.setProtocolOptions(autoPingInterval=30, autoPingTimeout=20)
        elif url.scheme in ("rs", "rss", "unix"):
            factory = WampRawSocketClientFactory(session_factory, serializer=MsgPackSerializer())
        else:
            raise ValueError(f"[wamp] url: unsupported scheme in {self.wamp.url!r}")
        if url.scheme == "unix":
            return UNIXClientEndpoint(self.reactor, url.path), factory
        endpoint: Any = TCP4ClientEndpoint(self.reactor, url.hostname or "127.0.0.1",
                                           url.port or 8080)
        if url.scheme in ("wss", "rss"):
            endpoint = wrapClientTLS(self._tls_options(url.hostname or "localhost"), endpoint)
        return endpoint, factory

    def _tls_options(self, hostname: str) -> Any:
        w = self.wamp
        trust = None
        if w.tls_ca_file:
            with open(w.tls_ca_file, "rb") as f:
                trust = ssl.Certificate.loadPEM(f.read())
        client_cert = None
        if w.tls_cert_file:
            with open(w.tls_cert_file, "rb") as f:
                cert = f.read()
            with open(w.tls_key_file or w.tls_cert_file, "rb") as f:
                key = f.read()
            client_cert = ssl.PrivateCertificate.loadPEM(key + cert)
        return ssl.optionsForClientTLS(hostname, trustRoot=trust, clientCertificate=client_cert)
