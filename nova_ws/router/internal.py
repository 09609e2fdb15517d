"""The router's own in-process peer on each realm.

It registers the meta API's procedures like any callee and calls client
procedures like any caller (dynamic authenticators use that), so the dealer
has one code path for everything. It is never listed as a session.
"""

from __future__ import annotations

import inspect
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
from nova_ws.router.wire import INVOCATION, RESULT, YieldIn

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

    def send_wire(self, wire: list[Any]) -> None:
        """Receive an INVOCATION or RESULT the dealer built as a list."""
        kind, request = wire[0], wire[1]
        if kind == INVOCATION:
            args, kwargs = _app_payload(wire[4:])
            self._invoke(request, wire[2], args, kwargs)
        elif kind == RESULT and not wire[2].get("progress"):
            d = self._calls.pop(request, None)
            if d is not None:
                args, _ = _app_payload(wire[3:])
                d.callback(args[0] if args else None)

    def send(self, msg: Any) -> None:
        """Receive a message the dealer routes to the router's peer (REGISTERED, ERROR)."""
        if isinstance(msg, message.Registered):
            handler = self._registering.pop(msg.request)
            self._handlers[msg.registration] = handler
        elif isinstance(msg, message.Error):
            self._registering.pop(msg.request, None)
            d = self._calls.pop(msg.request, None)
            if d is not None:
                d.errback(ApplicationError(msg.error, *(msg.args or []), **(msg.kwargs or {})))
            else:
                log.error("router peer got error {error}: {args}", error=msg.error,
                          args=msg.args)

    def _invoke(self, request: int, registration: int, args: list[Any],
                kwargs: dict[str, Any]) -> None:
        handler = self._handlers[registration]
        dealer = self.realm.dealer
        try:
            inspect.signature(handler).bind(*args, **kwargs)
        except TypeError as exc:  # the caller's arguments do not fit: its mistake, not ours
            dealer.invocation_error(self, message.Error(
                message.Invocation.MESSAGE_TYPE, request, "wamp.error.invalid_argument",
                args=[str(exc)]))
            return
        d = maybeDeferred(handler, *args, **kwargs)

        def done(result: Any) -> None:
            dealer.yield_(self, YieldIn(request, None, [[result]]))

        def failed(failure: Any) -> None:
            if failure.check(ApplicationError):
                err = failure.value
                dealer.invocation_error(self, message.Error(
                    message.Invocation.MESSAGE_TYPE, request, err.error,
                    args=list(err.args) or None, kwargs=err.kwargs or None))
            else:
                log.failure("meta procedure failed", failure)
                dealer.invocation_error(self, message.Error(
                    message.Invocation.MESSAGE_TYPE, request,
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


def _app_payload(tail: list[Any]) -> tuple[list[Any], dict[str, Any]]:
    """``args`` and ``kwargs`` from the application payload part of a message."""
    args = tail[0] if tail and type(tail[0]) is list else []
    kwargs = tail[1] if len(tail) > 1 and type(tail[1]) is dict else {}
    return args, kwargs
