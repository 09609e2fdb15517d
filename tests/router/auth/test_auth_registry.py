"""Tests for building the router's authenticators from nova.conf."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pytest
from autobahn.wamp import types
from autobahn.wamp.auth import AuthWampCra
from twisted.internet import defer
from zope.interface import implementer
from zope.interface.verify import verifyObject

from nova_ws.config import NovaConfig, RouterSection, parse_config
from nova_ws.router.auth.interfaces import (
    Accept,
    Challenge,
    Deny,
    HelloInfo,
    IAuthenticator,
    IInternalCaller,
    TransportInfo,
)
from nova_ws.router.auth.registry import AUTHENTICATORS, build_authenticators


@implementer(IInternalCaller)
class RecordingCaller:
    """Answers every call with role 'member' and remembers the calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def call(self, realm: str, procedure: str, *args: Any, **kwargs: Any) -> defer.Deferred:
        self.calls.append((realm, procedure, *args))
        return defer.succeed("member")


def hello(authid: str | None) -> HelloInfo:
    return HelloInfo("nova", authid, None, {}, 3, TransportInfo("tcp4:127.0.0.1:1"))


def fired(d: Any) -> Any:
    results: list[Any] = []
    defer.maybeDeferred(lambda: d).addBoth(results.append)
    return results[0]


def test_defaults_build_ticket_wampcra_tls() -> None:
    """When nova.conf says nothing, ticket, wampcra and tls are built and checked."""
    built = build_authenticators(parse_config(""), RecordingCaller())
    assert set(built) == {"ticket", "wampcra", "tls"}
    for method, authenticator in built.items():
        assert verifyObject(IAuthenticator, authenticator)
        assert authenticator.authmethod == method


def test_anonymous_needs_a_role() -> None:
    """When anonymous is listed without anonymous_role, it is skipped; with one, it is built."""
    without = parse_config("[router]\nauth_methods = anonymous, ticket\n")
    assert set(build_authenticators(without, RecordingCaller())) == {"ticket"}
    with_role = parse_config("[router]\nauth_methods = anonymous\nanonymous_role = guest\n")
    anonymous = build_authenticators(with_role, RecordingCaller())["anonymous"]
    result = anonymous.hello(hello(None))
    assert isinstance(result, Accept) and result.authrole == "guest"


def test_only_listed_methods_are_built() -> None:
    """When auth_methods lists one method, only that one is built."""
    config = parse_config("[router]\nauth_methods = tls\n")
    assert list(build_authenticators(config, RecordingCaller())) == ["tls"]


def test_ticket_principals_from_config() -> None:
    """When [router_ticket] lists plain and hashed tickets, both principals can join."""
    digest = hashlib.sha256(b"bob-ticket").hexdigest()
    config = parse_config(
        "[router]\nauth_methods = ticket\n"
        f"[router_ticket]\nalice = admin:alice-ticket\nbob = member:sha256:{digest}\n"
    )
    ticket = build_authenticators(config, RecordingCaller())["ticket"]
    for authid, secret, role in (
        ("alice", "alice-ticket", "admin"),
        ("bob", "bob-ticket", "member"),
    ):
        challenge = ticket.hello(hello(authid))
        assert isinstance(challenge, Challenge)
        assert fired(challenge.respond(secret, {})) == Accept(authid, role, "ticket", "static")


def test_ticket_without_principals_denies() -> None:
    """When ticket is listed with no principals and no ticket_authenticator, it denies."""
    ticket = build_authenticators(parse_config(""), RecordingCaller())["ticket"]
    assert isinstance(ticket.hello(hello("alice")), Deny)


def test_dynamic_ticket_authenticator_uses_the_caller() -> None:
    """When ticket_authenticator is set, unknown authids are checked through the caller."""
    config = parse_config("[router]\nticket_authenticator = nova.identity.authenticate\n")
    caller = RecordingCaller()
    challenge = build_authenticators(config, caller)["ticket"].hello(hello("dave"))
    assert isinstance(challenge, Challenge)
    assert fired(challenge.respond("token", {})) == Accept("dave", "member", "ticket", "dynamic")
    assert [call[:4] for call in caller.calls] == [
        ("nova", "nova.identity.authenticate", "nova", "dave")
    ]


@pytest.mark.parametrize(
    ("line", "salted"),
    [("compute-1 = compute:s3cret", False), ("compute-1 = compute:s3cret:NaCl:50:16", True)],
)
def test_wampcra_principals_from_config(line: str, salted: bool) -> None:
    """When [router_wampcra] lists a principal, an Autobahn client with its secret joins."""
    config = parse_config(f"[router_wampcra]\n{line}\n")
    challenge = build_authenticators(config, RecordingCaller())["wampcra"].hello(hello("compute-1"))
    assert isinstance(challenge, Challenge)
    assert ("salt" in challenge.extra) == salted
    client = AuthWampCra(authid="compute-1", secret="s3cret")
    signature = client.on_challenge(None, types.Challenge("wampcra", dict(challenge.extra)))
    assert challenge.respond(signature, {}) == Accept("compute-1", "compute", "wampcra", "static")


def test_unknown_method_refused() -> None:
    """When auth_methods names a method with no authenticator, building fails and says which."""
    config = NovaConfig(router=RouterSection(auth_methods=("ticket", "kerberos")))
    with pytest.raises(ValueError, match="kerberos"):
        build_authenticators(config, RecordingCaller())


def test_every_configurable_method_has_an_authenticator() -> None:
    """When every method nova.conf allows is listed, each is built and provides the interface."""
    spec = {f.name: f for f in dataclasses.fields(RouterSection)}["auth_methods"]
    allowed = spec.metadata["choices"]
    assert set(AUTHENTICATORS) == set(allowed)
    config = NovaConfig(
        router=RouterSection(auth_methods=tuple(sorted(allowed)), anonymous_role="guest")
    )
    built = build_authenticators(config, RecordingCaller())
    assert set(built) == set(allowed)
    assert all(verifyObject(IAuthenticator, a) for a in built.values())
