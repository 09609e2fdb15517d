"""Tests for the TLS client-certificate authenticator (certificate fields given directly)."""

from __future__ import annotations

from typing import Any

import pytest
from zope.interface.verify import verifyObject

from nova_ws.router.auth.interfaces import Accept, Deny, HelloInfo, IAuthenticator, TransportInfo
from nova_ws.router.auth.tls import TlsAuthenticator


def cert(**subject: str) -> dict[str, Any]:
    return {"subject": subject, "issuer": {"CN": "Nova CA"}, "serial": 0xABC, "sha256": "ff00"}


def hello(peer_cert: dict[str, Any] | None, authid: str | None = None) -> HelloInfo:
    transport = TransportInfo("tcp4:127.0.0.1:1", is_secure=True, peer_cert=peer_cert)
    return HelloInfo("nova", authid, None, {}, 1, transport)


def test_provides_interface() -> None:
    """When built, a TlsAuthenticator provides IAuthenticator with authmethod 'tls'."""
    auth = TlsAuthenticator()
    assert verifyObject(IAuthenticator, auth) and auth.authmethod == "tls"


@pytest.mark.parametrize("authid", [None, "compute-1"])
def test_cn_and_ou_become_authid_and_role(authid: str | None) -> None:
    """When the certificate has CN and OU, and HELLO names the CN or nothing, it joins."""
    result = TlsAuthenticator().hello(hello(cert(CN="compute-1", OU="compute", O="nova"), authid))
    assert result == Accept(
        "compute-1", "compute", "tls", "static", {"cert_sha256": "ff00", "cert_serial": "abc"}
    )


def test_no_certificate_denied() -> None:
    """When the connection carries no client certificate, tls is denied."""
    result = TlsAuthenticator().hello(hello(None, "compute-1"))
    assert isinstance(result, Deny) and result.reason == "wamp.error.not_authorized"
    assert "certificate" in result.message


def test_other_authid_denied() -> None:
    """When HELLO names an authid other than the certificate's CN, it is denied."""
    result = TlsAuthenticator().hello(hello(cert(CN="compute-1", OU="compute"), "admin"))
    assert isinstance(result, Deny)
    assert "'admin'" in result.message and "'compute-1'" in result.message


def test_no_ou_denied() -> None:
    """When the certificate has no OU, no role can be given, and it is denied saying so."""
    result = TlsAuthenticator().hello(hello(cert(CN="compute-1")))
    assert isinstance(result, Deny) and "OU" in result.message


def test_no_cn_denied() -> None:
    """When the certificate has no CN, it is denied."""
    result = TlsAuthenticator().hello(hello(cert(OU="compute")))
    assert isinstance(result, Deny) and "CN" in result.message
