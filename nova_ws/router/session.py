"""One client's WAMP session on the router.

A :class:`RouterSession` is the transport handler Autobahn's WebSocket and
RawSocket protocols drive (``onOpen``/``onMessage``/``onClose``). It runs the
opening handshake (HELLO, CHALLENGE/AUTHENTICATE, WELCOME or ABORT), then
dispatches every message of a joined session through a table from message
class to handler. Any message that is not allowed in the session's state,
and any exception a handler raises, aborts this session only, with a reason,
logged once; nothing escapes to the transport or the reactor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from autobahn.wamp import message
from autobahn.wamp.exception import ProtocolError, SerializationError, TransportLost
from twisted.internet.defer import maybeDeferred
from twisted.logger import Logger

from nova_ws.router.auth.interfaces import Accept, Challenge, Deny, HelloInfo, TransportInfo
from nova_ws.router.authz import SessionPermissions
from nova_ws.router.peer import PeerFeatures
from nova_ws.router.wire import to_message

if TYPE_CHECKING:
    from nova_ws.router.realm import Realm
    from nova_ws.router.router import Router

log = Logger()

PROTOCOL_VIOLATION = "wamp.error.protocol_violation"
NO_SUCH_REALM = "wamp.error.no_such_realm"
NO_SUCH_ROLE = "wamp.error.no_such_role"
NOT_AUTHORIZED = "wamp.error.not_authorized"
NO_AUTH_METHOD = "wamp.error.no_auth_method"
GOODBYE_AND_OUT = "wamp.close.goodbye_and_out"
HANDSHAKE_TIMEOUT = "wamp.error.timeout"

_NEW, _AUTHENTICATING, _JOINED, _CLOSING, _CLOSED = range(5)
_NO_PERMISSIONS = SessionPermissions((), {})


def _features(roles: Mapping[str, Any] | None) -> PeerFeatures:
    roles = roles or {}
    callee, caller = roles.get("callee"), roles.get("caller")
    return PeerFeatures(
        callee_cancel=bool(getattr(callee, "call_canceling", False)),
        callee_progress=bool(getattr(callee, "progressive_call_results", False)),
        caller_progress=bool(getattr(caller, "progressive_call_results", False)),
        caller_cancel=bool(getattr(caller, "call_canceling", False)),
    )


class RouterSession:
    """A client session: handshake, dispatch, and clean-up when it goes."""

    internal = False

    def __init__(self, router: Router) -> None:
        self._router = router
        self._transport: Any = None
        self._state = _NEW
        self._challenge: Challenge | None = None
        self._timer: Any = None
        self.realm: Realm | None = None
        self.session_id = router.new_session_id()
        self.authid: str | None = None
        self.authrole: str | None = None
        self.authmethod: str | None = None
        self.authprovider: str | None = None
        self.authextra: Mapping[str, Any] | None = None
        self.permissions: SessionPermissions = _NO_PERMISSIONS
        self.features = PeerFeatures()
        self.subscriptions: set[int] = set()
        self.registrations: set[int] = set()
        self.next_invocation_id = 0
        self.transport_info = TransportInfo(peer="unknown")
        self._dispatch: dict[type, Callable[[Any], None]] = {}

    # -- ITransportHandler ---------------------------------------------------

    def onOpen(self, transport: Any) -> None:
        """A transport is connected; wait for HELLO."""
        self._transport = transport
        info = getattr(transport, "nova_transport_info", None)
        if info is not None:
            self.transport_info = info()
        self._timer = self._router.clock.callLater(
            self._router.handshake_timeout, self._handshake_timed_out)

    def _handshake_timed_out(self) -> None:
        self._timer = None
        if self._state in (_NEW, _AUTHENTICATING):
            self.abort(HANDSHAKE_TIMEOUT, "no WELCOME within the handshake timeout")
        elif self._state == _CLOSING:
            self._close_transport()  # killed, and the client never said GOODBYE

    def _cancel_timer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    @property
    def joined(self) -> bool:
        """True while the session is welcomed and has not begun to leave."""
        return self._state == _JOINED

    def onMessage(self, msg: Any) -> None:
        """Dispatch one received message according to the session's state."""
        try:
            if self._state == _JOINED:
                handler = self._dispatch.get(type(msg))
                if handler is None:
                    return self._on_joined_other(msg)
                return handler(msg)
            if self._state == _NEW and isinstance(msg, message.Hello):
                return self._on_hello(msg)
            if self._state == _AUTHENTICATING and isinstance(msg, message.Authenticate):
                return self._on_authenticate(msg)
            if self._state == _CLOSING and isinstance(msg, message.Goodbye):
                return self._close_transport()
            if self._state in (_CLOSING, _CLOSED):
                return None
            self.protocol_violation(f"{type(msg).__name__} not allowed before WELCOME")
        except Exception as exc:  # the router never lets an exception escape
            log.failure("session {sid}: handler failed on {msg}", sid=self.session_id,
                        msg=type(msg).__name__)
            self.protocol_violation(f"internal error while handling "
                                    f"{type(msg).__name__}: {exc}")

    def onClose(self, wasClean: bool) -> None:
        """The transport is gone: leave the realm."""
        self._state = _CLOSED
        self._transport = None
        self._cancel_timer()
        self._leave()
        self._router.release_session_id(self.session_id)

    # -- handshake -----------------------------------------------------------

    def _on_hello(self, msg: message.Hello) -> None:
        realm = self._router.realms.get(msg.realm)
        if realm is None:
            return self.abort(NO_SUCH_REALM, f"no realm '{msg.realm}' on this router")
        self.realm = realm
        self.features = _features(msg.roles)
        methods = msg.authmethods or ["anonymous"]
        for method in methods:
            authenticator = self._router.authenticators.get(method)
            if authenticator is not None:
                break
        else:
            return self.abort(NO_AUTH_METHOD,
                              f"none of the authmethods {list(methods)} is enabled here")
        info = HelloInfo(realm=msg.realm, authid=msg.authid, authrole=msg.authrole,
                         authextra=msg.authextra or {}, session_id=self.session_id,
                         transport=self.transport_info)
        self._state = _AUTHENTICATING
        d = maybeDeferred(authenticator.hello, info)
        d.addCallbacks(self._on_outcome, self._on_auth_failure)

    def _on_authenticate(self, msg: message.Authenticate) -> None:
        challenge, self._challenge = self._challenge, None
        if challenge is None:
            return self.protocol_violation("AUTHENTICATE without a CHALLENGE")
        d = maybeDeferred(challenge.respond, msg.signature, msg.extra or {})
        d.addCallbacks(self._on_outcome, self._on_auth_failure)

    def _on_outcome(self, outcome: Any) -> None:
        if self._state != _AUTHENTICATING:
            return  # the client left meanwhile
        if isinstance(outcome, Challenge) and self._challenge is None:
            self._challenge = outcome
            return self.send(message.Challenge(outcome.method, dict(outcome.extra)))
        if isinstance(outcome, Deny):
            return self.abort(outcome.reason, outcome.message)
        if not isinstance(outcome, Accept):
            return self.abort(NOT_AUTHORIZED, "authentication failed")
        self._welcome(outcome)

    def _on_auth_failure(self, failure: Any) -> None:
        log.failure("session {sid}: authenticator failed", failure, sid=self.session_id)
        if self._state == _AUTHENTICATING:
            self.abort(NOT_AUTHORIZED, "authentication failed")

    def _welcome(self, accept: Accept) -> None:
        assert self.realm is not None
        if not self.realm.authorizer.has_role(accept.authrole):
            return self.abort(NO_SUCH_ROLE, f"no role '{accept.authrole}' on realm "
                                            f"'{self.realm.name}'")
        self.authid, self.authrole = accept.authid, accept.authrole
        self.authmethod, self.authprovider = accept.authmethod, accept.authprovider
        self.authextra = dict(accept.authextra)
        self.permissions = self.realm.authorizer.bind(accept.authrole, accept.authid,
                                                      self.authextra)
        self._state = _JOINED
        self._cancel_timer()
        self._dispatch = self._router.dispatch_table(self)
        self.send(message.Welcome(
            self.session_id, self._router.welcome_roles, realm=self.realm.name,
            authid=self.authid, authrole=self.authrole, authmethod=self.authmethod,
            authprovider=self.authprovider, authextra=self.authextra or None))
        self.realm.attach(self)

    # -- joined --------------------------------------------------------------

    def on_goodbye(self, msg: message.Goodbye) -> None:
        """The client leaves: answer GOODBYE, leave the realm, close."""
        self.send(message.Goodbye(GOODBYE_AND_OUT))
        self._leave()
        self._close_transport()

    def on_caller_error(self, msg: message.Error) -> None:
        """ERROR from a joined peer: only answers to INVOCATION are valid."""
        if msg.request_type != message.Invocation.MESSAGE_TYPE:
            return self.protocol_violation("ERROR is only valid as an answer to INVOCATION")
        assert self.realm is not None
        self.realm.dealer.invocation_error(self, msg)

    def _on_joined_other(self, msg: Any) -> None:
        self.protocol_violation(f"{type(msg).__name__} is not valid in an established session")

    # -- leaving -------------------------------------------------------------

    def kill(self, reason: str, text: str | None) -> None:
        """Close the session from the router side (meta API: wamp.session.kill)."""
        if self._state != _JOINED:
            return
        self.send(message.Goodbye(reason, text))
        self._leave()
        self._state = _CLOSING
        self._timer = self._router.clock.callLater(
            self._router.handshake_timeout, self._handshake_timed_out)

    def abort(self, reason: str, text: str) -> None:
        """Send ABORT and drop the connection; this session only."""
        if self._state in (_CLOSING, _CLOSED):
            return
        log.info("session {sid} aborted ({peer}): {reason}: {text}", sid=self.session_id,
                 peer=self.transport_info.peer, reason=reason, text=text)
        self.send(message.Abort(reason, text))
        self._leave()
        self._close_transport()

    def protocol_violation(self, text: str) -> None:
        """Abort after a message that breaks the protocol."""
        self.abort(PROTOCOL_VIOLATION, text)

    def _leave(self) -> None:
        if self._state != _CLOSED:
            self._state = _CLOSING
        realm, self.realm = self.realm, None
        self._challenge = None
        if realm is not None and realm.sessions.get(self.session_id) is self:
            realm.detach(self)

    def _close_transport(self) -> None:
        transport = self._transport
        if transport is not None:
            self._transport = None
            try:
                transport.close()
            except TransportLost:
                pass

    # -- Peer ----------------------------------------------------------------

    @property
    def peer_description(self) -> str:
        """Where the client connects from."""
        return self.transport_info.peer

    def send(self, msg: Any) -> None:
        """Send a message to the client; drops it when the transport is gone."""
        transport = self._transport
        if transport is None:
            return
        try:
            transport.send(msg)
        except (TransportLost, SerializationError) as exc:
            log.warn("session {sid}: could not send {msg}: {exc}", sid=self.session_id,
                     msg=type(msg).__name__, exc=exc)

    def send_wire(self, wire: list[Any]) -> None:
        """Send a message given as its list (INVOCATION, RESULT); drops it when gone.

        The router's transports serialize the list as it is; any other
        transport gets the message as Autobahn's object.
        """
        transport = self._transport
        if transport is None:
            return
        try:
            send_wire = getattr(transport, "send_wire", None)
            if send_wire is not None:
                send_wire(wire)
            else:
                transport.send(to_message(wire))
        except (TransportLost, SerializationError, ProtocolError) as exc:
            log.warn("session {sid}: could not send message type {kind}: {exc}",
                     sid=self.session_id, kind=wire[0], exc=exc)
