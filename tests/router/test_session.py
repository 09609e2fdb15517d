"""Router sessions in memory, with a Clock: handshake, timeouts and dispatch.

These drive a real :class:`Router` and :class:`RouterSession` through a small
recording transport (the boundary Autobahn's transports sit on), so timing
is controlled by ``twisted.internet.task.Clock`` instead of the wall clock.
"""

from __future__ import annotations

from typing import Any

from autobahn.wamp import message, role
from twisted.internet.task import Clock

from nova_ws.router.auth.interfaces import Accept
from nova_ws.router.policy import builtin_roles
from nova_ws.router.router import Router


class RecordingTransport:
    """Collects what the router sends; ``closed`` once the router closes it."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.closed = False

    def send(self, msg: Any) -> None:
        self.sent.append(msg)

    def close(self) -> None:
        self.closed = True


class AnonymousAdmin:
    """An authenticator that welcomes everybody as admin."""

    authmethod = "anonymous"

    def hello(self, info: Any) -> Accept:
        return Accept("someone", "admin", "anonymous", "static")


def _router(clock: Clock, **kw: Any) -> Router:
    router = Router({"nova": builtin_roles()}, clock, **kw)
    router.authenticators = {"anonymous": AnonymousAdmin()}
    return router


def _open(router: Router) -> tuple[Any, RecordingTransport]:
    session = router.session_factory()
    transport = RecordingTransport()
    session.onOpen(transport)
    return session, transport


HELLO = message.Hello("nova", {"caller": role.RoleCallerFeatures(),
                               "callee": role.RoleCalleeFeatures(call_canceling=True)})


def test_handshake_timeout() -> None:
    """When a client never sends HELLO, it is aborted once the handshake timeout passes."""
    clock = Clock()
    session, transport = _open(_router(clock, handshake_timeout=5))
    clock.advance(4.9)
    assert transport.sent == []
    clock.advance(0.2)
    assert isinstance(transport.sent[-1], message.Abort)
    assert transport.sent[-1].reason == "wamp.error.timeout" and transport.closed


def test_joined_session_has_no_timeout() -> None:
    """When a client is welcomed in time, the handshake timer no longer applies."""
    clock = Clock()
    router = _router(clock, handshake_timeout=5)
    session, transport = _open(router)
    session.onMessage(HELLO)
    assert isinstance(transport.sent[-1], message.Welcome)
    clock.advance(60)
    assert not transport.closed
    assert clock.getDelayedCalls() == []


def test_killed_session_that_never_answers_is_closed() -> None:
    """When a killed client never answers GOODBYE, the router closes it after the timeout."""
    clock = Clock()
    router = _router(clock, handshake_timeout=5)
    session, transport = _open(router)
    session.onMessage(HELLO)
    session.kill("wamp.close.killed", "bye")
    assert isinstance(transport.sent[-1], message.Goodbye) and not transport.closed
    clock.advance(5)
    assert transport.closed
    assert session.session_id not in router.realms["nova"].sessions


def test_call_timeout_uses_the_clock() -> None:
    """When a call carries a timeout, the caller gets wamp.error.timeout exactly then."""
    clock = Clock()
    router = _router(clock)
    callee, callee_t = _open(router)
    caller, caller_t = _open(router)
    callee.onMessage(HELLO)
    caller.onMessage(HELLO)
    callee.onMessage(message.Register(1, "com.slow"))
    caller.onMessage(message.Call(7, "com.slow", timeout=1500))
    invocation = callee_t.sent[-1]
    assert isinstance(invocation, message.Invocation)
    clock.advance(1.4)
    assert not isinstance(caller_t.sent[-1], message.Error)
    clock.advance(0.2)
    error = caller_t.sent[-1]
    assert isinstance(error, message.Error) and error.error == "wamp.error.timeout"
    assert isinstance(callee_t.sent[-1], message.Interrupt)
    # the callee answers late: nothing more reaches the caller
    callee.onMessage(message.Yield(invocation.request, args=["late"]))
    assert caller_t.sent[-1] is error
    assert router.realms["nova"].dealer.pending_count() == 0


def test_handler_exception_aborts_only_that_session() -> None:
    """When a handler raises, that session is aborted with a reason and the router goes on."""
    clock = Clock()
    router = _router(clock)
    good, good_t = _open(router)
    bad, bad_t = _open(router)
    good.onMessage(HELLO)
    bad.onMessage(HELLO)

    class Boom:
        pass

    bad._dispatch[Boom] = lambda msg: 1 / 0
    bad.onMessage(Boom())
    assert isinstance(bad_t.sent[-1], message.Abort) and bad_t.closed
    assert "internal error" in bad_t.sent[-1].message
    good.onMessage(message.Subscribe(1, "com.x"))
    assert isinstance(good_t.sent[-1], message.Subscribed)
