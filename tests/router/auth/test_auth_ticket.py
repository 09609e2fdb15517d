"""Tests for WAMP-Ticket: static principals (plain and hashed) and the dynamic procedure."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pytest
from autobahn.wamp.exception import ApplicationError
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet import defer
from twisted.python.failure import Failure
from zope.interface import implementer
from zope.interface.verify import verifyObject

from nova_ws.router.auth.interfaces import (
    Accept,
    Challenge,
    Deny,
    HelloInfo,
    IAuthenticator,
    IInternalCaller,
    TransportInfo,
)
from nova_ws.router.auth.ticket import TicketAuthenticator, ticket_matches

PROCEDURE = "nova.identity.authenticate_ticket"


@dataclass(frozen=True)
class Principal:
    authid: str
    role: str
    ticket: str


@implementer(IInternalCaller)
@dataclass
class RecordingCaller:
    """Answers every call with ``answer`` (a value, an exception, or a Deferred)."""

    answer: Any = "member"
    calls: list[tuple[Any, ...]] = field(default_factory=list)

    def call(self, realm: str, procedure: str, *args: Any, **kwargs: Any) -> defer.Deferred:
        self.calls.append((realm, procedure, *args))
        if isinstance(self.answer, defer.Deferred):
            return self.answer
        if isinstance(self.answer, BaseException):
            return defer.fail(self.answer)
        return defer.succeed(self.answer)


def hello(authid: str | None, authextra: dict[str, Any] | None = None) -> HelloInfo:
    return HelloInfo(
        realm="nova",
        authid=authid,
        authrole=None,
        authextra=authextra or {},
        session_id=42,
        transport=TransportInfo(peer="tcp4:127.0.0.1:5555"),
    )


def settled(value: Any) -> Any:
    """The value itself, or what a fired Deferred holds."""
    if not isinstance(value, defer.Deferred):
        return value
    results: list[Any] = []
    value.addBoth(results.append)
    assert results, "the Deferred has not fired"
    if isinstance(results[0], Failure):
        results[0].raiseException()
    return results[0]


def answer(auth: TicketAuthenticator, info: HelloInfo, ticket: Any) -> Any:
    challenge = auth.hello(info)
    assert isinstance(challenge, Challenge), challenge
    assert (challenge.method, dict(challenge.extra)) == ("ticket", {})
    return settled(challenge.respond(ticket, {}))


STATIC = {
    "alice": Principal("alice", "admin", "plain-ticket"),
    "bob": Principal("bob", "member", "sha256:" + hashlib.sha256(b"bobs-ticket").hexdigest()),
    "carol": Principal("carol", "member", "sha256:" + hashlib.sha256(b"c").hexdigest().upper()),
}


def test_provides_interface() -> None:
    """When built, a TicketAuthenticator provides IAuthenticator with authmethod 'ticket'."""
    auth = TicketAuthenticator(STATIC)
    assert verifyObject(IAuthenticator, auth)
    assert auth.authmethod == "ticket"


def test_static_plain_ticket_accepted() -> None:
    """When a static principal presents its plain ticket, it joins with its role."""
    result = answer(TicketAuthenticator(STATIC), hello("alice"), "plain-ticket")
    assert result == Accept("alice", "admin", "ticket", "static")


@pytest.mark.parametrize(
    ("authid", "ticket", "role"), [("bob", "bobs-ticket", "member"), ("carol", "c", "member")]
)
def test_static_hashed_ticket_accepted(authid: str, ticket: str, role: str) -> None:
    """When the configured ticket is sha256:<hex> (any case), the matching ticket joins."""
    assert answer(TicketAuthenticator(STATIC), hello(authid), ticket) == Accept(
        authid, role, "ticket", "static"
    )


@pytest.mark.parametrize(
    ("authid", "ticket"),
    [
        ("alice", "wrong"),
        ("alice", ""),
        ("alice", "plain-ticket "),
        ("bob", "wrong"),
        ("bob", STATIC["bob"].ticket),
        ("bob", STATIC["bob"].ticket.removeprefix("sha256:")),
    ],
)
def test_static_wrong_ticket_denied_without_echo(authid: str, ticket: str) -> None:
    """When the ticket is wrong (including the stored hash itself), the deny hides it."""
    result = answer(TicketAuthenticator(STATIC), hello(authid), ticket)
    assert isinstance(result, Deny)
    assert result.reason == "wamp.error.not_authorized"
    assert authid in result.message
    assert not ticket or ticket not in result.message


def test_non_string_signature_denied() -> None:
    """When AUTHENTICATE carries no string signature, the session is denied."""
    assert isinstance(answer(TicketAuthenticator(STATIC), hello("alice"), None), Deny)


def test_hello_without_authid_denied() -> None:
    """When HELLO names no authid, ticket authentication is denied at once."""
    result = TicketAuthenticator(STATIC, RecordingCaller(), PROCEDURE).hello(hello(None))
    assert isinstance(result, Deny) and "authid" in result.message


def test_unknown_authid_without_dynamic_denied() -> None:
    """When the authid is no static principal and no procedure is set, HELLO is denied."""
    result = TicketAuthenticator(STATIC, RecordingCaller(), "").hello(hello("mallory"))
    assert isinstance(result, Deny)
    assert result.reason == "wamp.error.not_authorized" and "mallory" in result.message


def test_dynamic_role_answer() -> None:
    """When the procedure answers a role, the caller sees realm, authid, ticket, peer, extra."""
    caller = RecordingCaller(answer="member")
    auth = TicketAuthenticator(STATIC, caller, PROCEDURE)
    result = answer(auth, hello("dave", {"client": "dashboard"}), "keystone-token")
    assert result == Accept("dave", "member", "ticket", "dynamic")
    assert caller.calls == [
        (
            "nova",
            PROCEDURE,
            "nova",
            "dave",
            {
                "ticket": "keystone-token",
                "peer": "tcp4:127.0.0.1:5555",
                "authextra": {"client": "dashboard"},
            },
        )
    ]


def test_dynamic_dict_answer_overrides_authid_and_sets_extra() -> None:
    """When the procedure answers a dict, its authid and extra become the session's."""
    caller = RecordingCaller(
        answer={"role": "member", "authid": "dave@default", "extra": {"project_id": "p1"}}
    )
    result = answer(TicketAuthenticator({}, caller, PROCEDURE), hello("dave"), "tok")
    assert result == Accept("dave@default", "member", "ticket", "dynamic", {"project_id": "p1"})


def test_dynamic_waits_for_the_procedure() -> None:
    """When the procedure has not answered yet, the outcome waits for it."""
    pending: defer.Deferred[Any] = defer.Deferred()
    challenge = TicketAuthenticator({}, RecordingCaller(pending), PROCEDURE).hello(hello("dave"))
    assert isinstance(challenge, Challenge)
    outcome = challenge.respond("tok", {})
    assert isinstance(outcome, defer.Deferred) and not outcome.called
    pending.callback({"role": "admin"})
    assert settled(outcome) == Accept("dave", "admin", "ticket", "dynamic")


def test_static_principal_never_reaches_the_procedure() -> None:
    """When a static authid presents a wrong ticket, it is denied without asking the procedure."""
    caller = RecordingCaller(answer="admin")
    result = answer(TicketAuthenticator(STATIC, caller, PROCEDURE), hello("alice"), "wrong")
    assert isinstance(result, Deny)
    assert caller.calls == []


def test_dynamic_application_error_denied_without_echo() -> None:
    """When the procedure raises ApplicationError, the deny names it but never the ticket."""
    error = ApplicationError("nova.error.token_expired", "token s3cr3t-tok expired")
    result = answer(
        TicketAuthenticator({}, RecordingCaller(error), PROCEDURE), hello("dave"), "s3cr3t-tok"
    )
    assert isinstance(result, Deny)
    assert result.reason == "wamp.error.not_authorized"
    assert "nova.error.token_expired" in result.message and "dave" in result.message
    assert "s3cr3t-tok" not in result.message


def test_dynamic_no_callee_denied() -> None:
    """When nobody registered the procedure, the deny says so."""
    error = ApplicationError(ApplicationError.NO_SUCH_PROCEDURE)
    result = answer(TicketAuthenticator({}, RecordingCaller(error), PROCEDURE), hello("d"), "t")
    assert isinstance(result, Deny) and "no_such_procedure" in result.message


def test_dynamic_unexpected_failure_denied() -> None:
    """When the call fails with any other exception, the session is denied, not crashed."""
    caller = RecordingCaller(RuntimeError("boom with tok-123"))
    result = answer(TicketAuthenticator({}, caller, PROCEDURE), hello("dave"), "tok-123")
    assert isinstance(result, Deny) and "RuntimeError" in result.message
    assert "tok-123" not in result.message


@pytest.mark.parametrize(
    "reply",
    [
        None,
        "",
        42,
        ["member"],
        {},
        {"role": ""},
        {"role": 7},
        {"role": "member", "authid": ""},
        {"role": "member", "authid": 3},
        {"role": "member", "extra": "project"},
    ],
)
def test_dynamic_malformed_answer_denied(reply: Any) -> None:
    """When the procedure answers anything but a role or a well-formed dict, it is denied."""
    result = answer(TicketAuthenticator({}, RecordingCaller(reply), PROCEDURE), hello("d"), "t")
    assert isinstance(result, Deny) and result.reason == "wamp.error.not_authorized"


def test_dynamic_empty_ticket_denied_without_call() -> None:
    """When the client presents an empty ticket, the procedure is not asked."""
    caller = RecordingCaller("admin")
    assert isinstance(answer(TicketAuthenticator({}, caller, PROCEDURE), hello("d"), ""), Deny)
    assert caller.calls == []


@given(st.text(), st.text())
def test_ticket_matches_plain_and_hashed(configured: str, presented: str) -> None:
    """When comparing tickets, plain and sha256 forms match exactly the equal ticket."""
    if not configured.startswith("sha256:"):
        assert ticket_matches(configured, presented) == (configured == presented)
    hashed = "sha256:" + hashlib.sha256(configured.encode("utf-8")).hexdigest()
    assert ticket_matches(hashed, presented) == (configured == presented)
