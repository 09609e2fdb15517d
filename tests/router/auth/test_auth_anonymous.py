"""Tests for anonymous authentication."""

from __future__ import annotations

import re

import pytest
from zope.interface.verify import verifyObject

from nova_ws.router.auth.anonymous import AnonymousAuthenticator
from nova_ws.router.auth.interfaces import Accept, HelloInfo, IAuthenticator, TransportInfo


def hello(authid: str | None = None) -> HelloInfo:
    return HelloInfo("nova", authid, "admin", {}, 1, TransportInfo("tcp4:127.0.0.1:1"))


def test_provides_interface() -> None:
    """When built, an AnonymousAuthenticator provides IAuthenticator with authmethod 'anonymous'."""
    auth = AnonymousAuthenticator("guest")
    assert verifyObject(IAuthenticator, auth) and auth.authmethod == "anonymous"


def test_accepts_with_configured_role_and_fresh_authid() -> None:
    """When anyone says HELLO, they join with the configured role and a fresh random authid."""
    auth = AnonymousAuthenticator("guest")
    first, second = auth.hello(hello()), auth.hello(hello())
    for result in (first, second):
        assert isinstance(result, Accept)
        assert (result.authrole, result.authmethod, result.authprovider) == (
            "guest",
            "anonymous",
            "static",
        )
        assert re.fullmatch(r"anonymous-[0-9a-f]{16}", result.authid)
    assert first.authid != second.authid


def test_requested_authid_and_role_ignored() -> None:
    """When HELLO asks for an authid and a role, neither is granted."""
    result = AnonymousAuthenticator("guest", suffix=lambda: "01").hello(hello("admin"))
    assert result == Accept("anonymous-01", "guest", "anonymous", "static")


def test_empty_role_refused() -> None:
    """When the role is empty, the authenticator cannot be built."""
    with pytest.raises(ValueError):
        AnonymousAuthenticator("")
