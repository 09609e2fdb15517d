"""Authentication and authorization through a live router, over real sockets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError
from OpenSSL import SSL
from twisted.internet import ssl

from nova_ws.testing.certs import issue_cert, make_ca
from nova_ws.testing.wamp import join, start_router

CONF = """
[router]
auth_methods = ticket, wampcra
ticket_authenticator = nova.identity.authenticate_ticket
[router_ticket]
svc-api = api:api-ticket
dave = member:sha256:{dave_hash}
[router_wampcra]
plain = admin:plain-secret
salty = admin:salty-secret:pepper:100:32
"""


def _conf() -> str:
    import hashlib

    return CONF.format(dave_hash=hashlib.sha256(b"dave-ticket").hexdigest())


async def _router(conf: str) -> Any:
    from twisted.internet import reactor

    return await start_router(reactor, conf)


async def _join(service: Any, **kw: Any) -> Any:
    from twisted.internet import reactor

    return await join(reactor, service, **kw)


@pytest_twisted.ensureDeferred
async def test_static_tickets() -> None:
    """When a static ticket matches (plain or hashed), the session joins with its role."""
    service = await _router(_conf())
    try:
        s = await _join(service, authmethods=["ticket"], authid="dave", ticket="dave-ticket")
        assert (s._authid, s._authrole) == ("dave", "member")
        s.leave()
        for authid, ticket in (("dave", "wrong"), ("nobody", "x")):
            with pytest.raises(ApplicationError) as err:
                await _join(service, authmethods=["ticket"], authid=authid, ticket=ticket)
            assert err.value.error == "wamp.error.not_authorized"
    finally:
        await service.stopService()


@pytest_twisted.ensureDeferred
async def test_dynamic_ticket_authenticator() -> None:
    """When a service registers the ticket authenticator, the router asks it, and roles follow."""
    service = await _router(_conf())
    try:
        api = await _join(service, authmethods=["ticket"], authid="svc-api", ticket="api-ticket")
        asked: list[Any] = []

        def authenticate(realm: str, authid: str, details: dict[str, Any]) -> Any:
            asked.append((realm, authid, details["ticket"]))
            if details["ticket"] != "token-1":
                raise ApplicationError("nova.error.invalid_token", "token rejected")
            return {"role": "member", "extra": {"project_id": "p1"}}

        await api.register(authenticate, "nova.identity.authenticate_ticket")
        carol = await _join(service, authmethods=["ticket"], authid="carol", ticket="token-1")
        assert (carol._authid, carol._authrole) == ("carol", "member")
        await carol.subscribe(lambda: None, "nova.project.p1.servers")
        with pytest.raises(ApplicationError) as err:
            await carol.subscribe(lambda: None, "nova.project.p2.servers")
        assert err.value.error == "wamp.error.not_authorized"
        with pytest.raises(ApplicationError) as err:
            await _join(service, authmethods=["ticket"], authid="carol", ticket="bad")
        assert err.value.error == "wamp.error.not_authorized"
        assert asked == [("nova", "carol", "token-1"), ("nova", "carol", "bad")]
    finally:
        await service.stopService()


@pytest.mark.parametrize("authid,secret", [("plain", "plain-secret"),
                                           ("salty", "salty-secret")])
@pytest_twisted.ensureDeferred
async def test_wampcra(authid: str, secret: str) -> None:
    """When a client answers the WAMP-CRA challenge (salted or not), it joins; else not."""
    service = await _router(_conf())
    try:
        s = await _join(service, authmethods=["wampcra"], authid=authid, secret=secret)
        assert s._authrole == "admin" and s._authmethod == "wampcra"
        with pytest.raises(ApplicationError) as err:
            await _join(service, authmethods=["wampcra"], authid=authid, secret="wrong")
        assert err.value.error == "wamp.error.not_authorized"
    finally:
        await service.stopService()


@pytest_twisted.ensureDeferred
async def test_anonymous_is_off_by_default() -> None:
    """When anonymous is not configured, an anonymous HELLO is refused."""
    service = await _router(_conf())
    try:
        with pytest.raises(ApplicationError) as err:
            await _join(service, authmethods=["anonymous"])
        assert err.value.error == "wamp.error.no_auth_method"
    finally:
        await service.stopService()


def _client_tls(ca: Any, cert: Any = None) -> Any:
    authority = ssl.Certificate.loadPEM(ca.cert_pem)
    client = None
    if cert is not None:
        client = ssl.PrivateCertificate.loadPEM(cert.key_pem + cert.cert_pem)
    return ssl.optionsForClientTLS("localhost", trustRoot=authority, clientCertificate=client)


@pytest_twisted.ensureDeferred
async def test_tls_client_certificates(tmp_path: Path) -> None:
    """When a client presents a certificate from the router's CA, authid and role come from it."""
    ca = make_ca("nova-test-ca", tmp_path)
    server = issue_cert(ca, "localhost", server=True, san=["localhost", "127.0.0.1"])
    compute = issue_cert(ca, "compute1", ou="compute")
    foreign_ca = make_ca("foreign-ca", tmp_path / "foreign")
    (tmp_path / "foreign").mkdir(exist_ok=True)
    foreign = issue_cert(foreign_ca, "compute1", ou="compute")
    conf = _conf() + f"""
[router]
auth_methods = tls, ticket
tls_cert_file = {server.cert_file}
tls_key_file = {server.key_file}
tls_ca_file = {ca.cert_file}
unix_socket = {tmp_path / "router.sock"}
"""
    service = await _router(conf)
    try:
        for transport in ("websocket", "rawsocket"):
            s = await _join(service, transport=transport, serializer="msgpack",
                            authmethods=["tls"], tls_options=_client_tls(ca, compute))
            assert (s._authid, s._authrole, s._authmethod) == ("compute1", "compute", "tls")
            await s.register(lambda: 1, "nova.compute.compute1.spawn")
            with pytest.raises(ApplicationError) as err:
                await s.register(lambda: 1, "nova.compute.compute2.spawn")
            assert err.value.error == "wamp.error.not_authorized"
            with pytest.raises(ApplicationError) as err:
                await s.call("nova.cert.issue")
            assert err.value.error == "wamp.error.not_authorized"
            s.leave()
            await s.left
        # no certificate: TLS still works for ticket clients, tls auth is refused
        t = await _join(service, authmethods=["ticket"], authid="dave", ticket="dave-ticket",
                        tls_options=_client_tls(ca))
        assert t._authrole == "member"
        with pytest.raises(ApplicationError):
            await _join(service, authmethods=["tls"], tls_options=_client_tls(ca))
        # a certificate from another CA cannot even connect
        with pytest.raises((ConnectionError, SSL.Error)):
            await _join(service, authmethods=["tls"], tls_options=_client_tls(ca, foreign))
        # the Unix socket listener serves RawSocket too
        u = await _join(service, transport="unix", authmethods=["ticket"], authid="dave",
                        ticket="dave-ticket")
        assert u._authid == "dave"
    finally:
        await service.stopService()
