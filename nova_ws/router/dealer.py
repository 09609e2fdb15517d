"""The dealer: registrations and routed calls for one realm.

Calls are routed to the best matching registration (exact, longest prefix,
wildcard) and, for shared registrations, to one callee chosen by the
registration's invocation policy. The dealer answers the caller at once when
a callee leaves, when a call times out (``wamp.error.timeout``) and when a
call is canceled (modes ``skip``, ``kill``, ``killnowait``).

CALL and YIELD arrive as :class:`~nova_ws.router.wire.CallIn` and
:class:`~nova_ws.router.wire.YieldIn` (Autobahn's ``Call`` and ``Yield`` are
turned into those), and INVOCATION and RESULT leave as lists
(``Peer.send_wire``), built exactly as Autobahn's ``marshal`` builds them.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any

from autobahn.wamp import message

from nova_ws.router.authz import CALL, REGISTER
from nova_ws.router.urimap import EXACT, MATCH_POLICIES, UriMap, UriMapError, check_pattern
from nova_ws.router.wire import INVOCATION, RESULT, CallIn, YieldIn

if TYPE_CHECKING:
    from twisted.internet.interfaces import IDelayedCall, IReactorTime

    from nova_ws.router.peer import Peer
    from nova_ws.router.realm import Realm

NOT_AUTHORIZED = "wamp.error.not_authorized"
NO_SUCH_PROCEDURE = "wamp.error.no_such_procedure"
NO_SUCH_REGISTRATION = "wamp.error.no_such_registration"
PROCEDURE_EXISTS = "wamp.error.procedure_already_exists"
INVALID_ARGUMENT = "wamp.error.invalid_argument"
INVALID_URI = "wamp.error.invalid_uri"
CANCELED = "wamp.error.canceled"
TIMEOUT = "wamp.error.timeout"

INVOKE_POLICIES = ("single", "roundrobin", "random", "first", "last")
CANCEL_MODES = ("skip", "kill", "killnowait")
_CALL = message.Call.MESSAGE_TYPE
_REGISTER = message.Register.MESSAGE_TYPE
_UNREGISTER = message.Unregister.MESSAGE_TYPE


class Registration:
    """One registration: a procedure pattern, its policy and its callees."""

    __slots__ = ("id", "uri", "match", "invoke", "created", "callees", "_next")

    def __init__(self, reg_id: int, uri: str, match: str, invoke: str) -> None:
        self.id = reg_id
        self.uri = uri
        self.match = match
        self.invoke = invoke
        self.created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.callees: list[Peer] = []
        self._next = 0

    def pick(self) -> Peer:
        """The callee for the next call, by invocation policy."""
        callees = self.callees
        if self.invoke == "roundrobin":
            self._next %= len(callees)
            callee = callees[self._next]
            self._next += 1
            return callee
        if self.invoke == "random":
            return random.choice(callees)
        if self.invoke == "last":
            return callees[-1]
        return callees[0]

    def details(self) -> dict[str, Any]:
        """The meta API's description of this registration."""
        return {"id": self.id, "created": self.created, "uri": self.uri,
                "match": self.match, "invoke": self.invoke}


class PendingCall:
    """A call the dealer has forwarded and not yet answered."""

    __slots__ = ("caller", "request", "callee", "invocation", "progress", "timer", "canceling")

    def __init__(self, caller: Peer, request: int, callee: Peer, invocation: int,
                 progress: bool) -> None:
        self.caller = caller
        self.request = request
        self.callee = callee
        self.invocation = invocation
        self.progress = progress
        self.timer: IDelayedCall | None = None
        self.canceling = False


class Dealer:
    """Routes CALL to callees of one realm."""

    def __init__(self, realm: Realm, clock: IReactorTime, call_timeout: float = 0.0) -> None:
        self._realm = realm
        self._clock = clock
        self._call_timeout = call_timeout
        self.registrations: UriMap[Registration] = UriMap()
        self.by_id: dict[int, Registration] = {}
        self._by_invocation: dict[tuple[int, int], PendingCall] = {}
        self._by_call: dict[tuple[int, int], PendingCall] = {}
        self._next_reg_id = 0

    # -- register / unregister ---------------------------------------------

    def register(self, session: Peer, msg: message.Register) -> None:
        """Handle REGISTER."""
        uri, match, invoke = msg.procedure, msg.match or EXACT, msg.invoke or "single"
        if not session.permissions.allows(REGISTER, uri) or (
            uri.startswith("wamp.") and not session.internal
        ):
            return _error(session, _REGISTER, msg.request, NOT_AUTHORIZED,
                          f"session is not authorized to register procedure '{uri}'")
        if match not in MATCH_POLICIES or invoke not in INVOKE_POLICIES:
            return _error(session, _REGISTER, msg.request, INVALID_ARGUMENT,
                          f"unknown match '{match}' or invoke policy '{invoke}'")
        try:
            check_pattern(uri, match)
        except UriMapError as exc:
            return _error(session, _REGISTER, msg.request, "wamp.error.invalid_uri", str(exc))
        reg = self.registrations.get(uri, match)
        if reg is not None:
            if session in reg.callees or invoke == "single" or reg.invoke != invoke:
                return _error(session, _REGISTER, msg.request, PROCEDURE_EXISTS,
                              f"procedure '{uri}' is already registered (invoke={reg.invoke})")
        created = reg is None
        if reg is None:
            self._next_reg_id += 1
            reg = Registration(self._next_reg_id, uri, match, invoke)
            self.registrations.set(uri, match, reg)
            self.by_id[reg.id] = reg
        reg.callees.append(session)
        session.registrations.add(reg.id)
        session.send(message.Registered(msg.request, reg.id))
        broker = self._realm.broker
        if created:
            broker.publish_meta("wamp.registration.on_create", [session.session_id, reg.details()])
        broker.publish_meta("wamp.registration.on_register", [session.session_id, reg.id])

    def unregister(self, session: Peer, msg: message.Unregister) -> None:
        """Handle UNREGISTER."""
        reg = self.by_id.get(msg.registration)
        if reg is None or session not in reg.callees:
            return _error(session, _UNREGISTER, msg.request, NO_SUCH_REGISTRATION,
                          f"no registration {msg.registration}")
        self._remove(session, reg)
        session.send(message.Unregistered(msg.request))

    def _remove(self, session: Peer, reg: Registration) -> None:
        reg.callees.remove(session)
        session.registrations.discard(reg.id)
        broker = self._realm.broker
        broker.publish_meta("wamp.registration.on_unregister", [session.session_id, reg.id])
        if not reg.callees:
            self.registrations.pop(reg.uri, reg.match)
            del self.by_id[reg.id]
            broker.publish_meta("wamp.registration.on_delete", [session.session_id, reg.id])

    # -- call ------------------------------------------------------------------

    def call(self, caller: Peer, msg: CallIn | message.Call) -> None:
        """Handle CALL: authorize, route, invoke."""
        if not isinstance(msg, CallIn):
            msg = CallIn.from_message(msg)
        procedure, request = msg.procedure, msg.request
        rule = caller.permissions.rule(procedure)
        if rule is None or CALL not in rule.actions:
            return _error(caller, _CALL, request, NOT_AUTHORIZED,
                          f"session is not authorized to call procedure '{procedure}'")
        reg = self.registrations.best_match(procedure)
        if reg is None:
            return _error(caller, _CALL, request, NO_SUCH_PROCEDURE,
                          f"no callee registered for procedure '{procedure}'")
        callee = reg.pick() if len(reg.callees) > 1 else reg.callees[0]
        callee.next_invocation_id += 1
        invocation = callee.next_invocation_id
        progress = bool(msg.receive_progress) and callee.features.callee_progress
        pending = PendingCall(caller, request, callee, invocation, progress)
        self._by_invocation[(callee.session_id, invocation)] = pending
        self._by_call[(caller.session_id, request)] = pending
        timeout = (msg.timeout or 0) / 1000.0 or self._call_timeout
        if timeout > 0:
            pending.timer = self._clock.callLater(timeout, self._timed_out, pending)
        # the details in the order Autobahn's Invocation.marshal writes them
        details: dict[str, Any] = {}
        if progress:
            details["receive_progress"] = True
        if rule.disclose:
            details["caller"] = caller.session_id
            if caller.authid is not None:
                details["caller_authid"] = caller.authid
            if caller.authrole is not None:
                details["caller_authrole"] = caller.authrole
        if reg.match != EXACT:
            details["procedure"] = procedure
        if msg.enc:
            details.update(msg.enc)
        callee.send_wire([INVOCATION, invocation, reg.id, details, *msg.tail])

    def yield_(self, callee: Peer, msg: YieldIn | message.Yield) -> None:
        """Handle YIELD: forward a (progressive) result to the caller."""
        if not isinstance(msg, YieldIn):
            msg = YieldIn.from_message(msg)
        pending = self._by_invocation.get((callee.session_id, msg.request))
        if pending is None:
            return  # answered already: canceled or timed out
        if msg.progress:
            if pending.progress and not pending.canceling:
                details = {"progress": True}
                if msg.enc:
                    details.update(msg.enc)
                pending.caller.send_wire([RESULT, pending.request, details, *msg.tail])
            return
        self._finish(pending)
        if pending.canceling:
            return _error(pending.caller, _CALL, pending.request, CANCELED, "call was canceled")
        pending.caller.send_wire([RESULT, pending.request, dict(msg.enc) if msg.enc else {},
                                  *msg.tail])

    def invocation_error(self, callee: Peer, msg: message.Error) -> None:
        """Handle ERROR for an INVOCATION: forward it to the caller."""
        pending = self._by_invocation.get((callee.session_id, msg.request))
        if pending is None:
            return
        self._finish(pending)
        error = CANCELED if pending.canceling else msg.error
        pending.caller.send(message.Error(
            _CALL, pending.request, error, args=msg.args, kwargs=msg.kwargs,
            payload=msg.payload, enc_algo=msg.enc_algo, enc_key=msg.enc_key,
            enc_serializer=msg.enc_serializer))

    def cancel(self, caller: Peer, msg: message.Cancel) -> None:
        """Handle CANCEL from a caller (modes skip, kill, killnowait)."""
        pending = self._by_call.get((caller.session_id, msg.request))
        if pending is None or pending.canceling:
            return
        mode = msg.mode or "kill"
        if mode not in CANCEL_MODES:
            return _error(caller, _CALL, msg.request, INVALID_ARGUMENT,
                          f"unknown cancel mode '{mode}'")
        if not pending.callee.features.callee_cancel:
            mode = "skip"
        if mode == "kill":
            pending.canceling = True
            pending.callee.send(message.Interrupt(pending.invocation, mode="kill"))
            return
        self._finish(pending)
        if mode == "killnowait":
            pending.callee.send(message.Interrupt(pending.invocation, mode="killnowait"))
        _error(caller, _CALL, pending.request, CANCELED, "call was canceled")

    def _timed_out(self, pending: PendingCall) -> None:
        pending.timer = None
        if (pending.callee.session_id, pending.invocation) not in self._by_invocation:
            return
        self._finish(pending)
        if pending.callee.features.callee_cancel:
            pending.callee.send(message.Interrupt(pending.invocation, mode="killnowait"))
        _error(pending.caller, _CALL, pending.request, TIMEOUT, "call timed out")

    def _finish(self, pending: PendingCall) -> None:
        self._by_invocation.pop((pending.callee.session_id, pending.invocation), None)
        self._by_call.pop((pending.caller.session_id, pending.request), None)
        if pending.timer is not None and pending.timer.active():
            pending.timer.cancel()
        pending.timer = None

    # -- sessions leaving ----------------------------------------------------

    def detach(self, session: Peer) -> None:
        """Forget a session that left: its registrations and its calls."""
        sid = session.session_id
        for pending in [p for p in self._by_invocation.values() if p.callee is session]:
            self._finish(pending)
            if pending.caller.session_id != sid:
                _error(pending.caller, _CALL, pending.request, CANCELED,
                       "callee left before answering")
        for pending in [p for p in self._by_call.values() if p.caller is session]:
            self._finish(pending)
            if pending.callee.features.callee_cancel:
                pending.callee.send(message.Interrupt(pending.invocation, mode="killnowait"))
        for reg_id in list(session.registrations):
            reg = self.by_id.get(reg_id)
            if reg is not None and session in reg.callees:
                self._remove(session, reg)
        session.registrations.clear()

    def pending_count(self) -> int:
        """How many calls are in flight (for tests and metrics)."""
        return len(self._by_invocation)


def _error(session: Peer, request_type: int, request: int, error: str, text: str) -> None:
    session.send(message.Error(request_type, request, error, args=[text]))
