"""The router's own in-process peer on each realm.

It registers the meta API's procedures like any callee and calls client
procedures like any caller (dynamic authenticators use that), so the dealer
has one code path for everything. It is never listed as a session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from autobahn.wamp import message
from autobahn.wamp.exception import ApplicationError
from twisted.internet.defer import Deferred, fail, maybeDeferred
from twisted.logger import Logger
from zope.interface import implementer

from nova_ws.router.auth.interfaces import IInternalCaller
from nova_ws.router.authz import Rule, SessionPermissions
from nova_ws.router.peer import PeerFeatures

if TYPE_CHECKING:
    from nova_ws.router.realm import Realm

log = Logger()
Handler = Callable[..., Any]


class InternalPeer:
    """The router's peer on one realm: meta callee and internal caller."""

    internal = True
    authid = "router"
    authrole = "router"
    authmethod = "internal"
    authprovider = "internal"
    authextra: dict[str, Any] = {}
    peer_description = "internal"

    def __init__(self, realm: Realm, session_id: int) -> None:
        self.realm = realm
        self.session_id = session_id
        self.permissions = SessionPermissions(
            [Rule("*", frozenset({"call", "register", "publish", "subscribe"}))], {})
        self.features = PeerFeatures(callee_cancel=True)
        self.subscriptions: set[int] = set()
        self.registrations: set[int] = set()
        self.next_invocation_id = 0
        self._next_request = 0
        self._handlers: dict[int, Handler] = {}
        self._registering: dict[int, Handler] = {}
        self._calls: dict[int, Deferred[Any]] = {}

    def kill(self, reason: str, text: str | None) -> None:
        """The router's own peer cannot be killed."""

    def register(self, procedure: str, handler: Handler) -> None:
        """Register *handler* for *procedure* on the realm."""
        self._next_request += 1
        self._registering[self._next_request] = handler
        self.realm.dealer.register(self, message.Register(self._next_request, procedure))

    def call(self, procedure: str, *args: Any, **kwargs: Any) -> Deferred[Any]:
        """Call *procedure*; fires with its first result (or None)."""
        self._next_request += 1
        d: Deferred[Any] = Deferred()
        self._calls[self._next_request] = d
        self.realm.dealer.call(self, message.Call(
            self._next_request, procedure, args=list(args) or None, kwargs=kwargs or None))
        return d

    # -- Peer ---------------------------------------------------------------

    def send(self, msg: Any) -> None:
        """Receive a message the dealer routes to the router's peer."""
        if isinstance(msg, message.Invocation):
            self._invoke(msg)
        elif isinstance(msg, message.Registered):
            handler = self._registering.pop(msg.request)
            self._handlers[msg.registration] = handler
        elif isinstance(msg, message.Result):
            d = self._calls.pop(msg.request, None)
            if d is not None:
                d.callback(msg.args[0] if msg.args else None)
        elif isinstance(msg, message.Error):
            self._registering.pop(msg.request, None)
            d = self._calls.pop(msg.request, None)
            if d is not None:
                d.errback(ApplicationError(msg.error, *(msg.args or []), **(msg.kwargs or {})))
            else:
                log.error("router peer got error {error}: {args}", error=msg.error,
                          args=msg.args)

    def _invoke(self, msg: message.Invocation) -> None:
        handler = self._handlers[msg.registration]
        d = maybeDeferred(handler, *(msg.args or []), **(msg.kwargs or {}))
        dealer = self.realm.dealer

        def done(result: Any) -> None:
            dealer.yield_(self, message.Yield(msg.request, args=[result]))

        def failed(failure: Any) -> None:
            if failure.check(ApplicationError):
                err = failure.value
                dealer.invocation_error(self, message.Error(
                    message.Invocation.MESSAGE_TYPE, msg.request, err.error,
                    args=list(err.args) or None, kwargs=err.kwargs or None))
            else:
                log.failure("meta procedure failed", failure)
                dealer.invocation_error(self, message.Error(
                    message.Invocation.MESSAGE_TYPE, msg.request,
                    "wamp.error.runtime_error", args=[str(failure.value)]))

        d.addCallbacks(done, failed)


@implementer(IInternalCaller)
class InternalCaller:
    """Calls procedures on a realm through that realm's router peer."""

    def __init__(self, peers: dict[str, InternalPeer]) -> None:
        self._peers = peers

    def call(self, realm: str, procedure: str, *args: Any, **kwargs: Any) -> Deferred[Any]:
        """See :class:`IInternalCaller`."""
        peer = self._peers.get(realm)
        if peer is None:
            return fail(ApplicationError("wamp.error.no_such_realm", realm))
        return peer.call(procedure, *args, **kwargs)
