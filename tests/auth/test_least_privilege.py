"""Least privilege on the bus: each role, joined as a deployment joins it, is refused what
it does not need.

Services join a real router over TLS with client certificates from our CA
(authid from the CN, role from the OU); a member joins with a ticket that
the API's authenticator maps to its project. For every role, the URIs it
needs pass authorization (a call then fails only with ``no_such_procedure``,
as nothing is registered there) and every other one is refused with
``wamp.error.not_authorized``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError
from twisted.internet import ssl

from nova_ws.auth.ca import authority
from nova_ws.auth.ca.authority import CertificateAuthority, Issued
from nova_ws.router.service import RouterService
from nova_ws.testing.wamp import join, start_router

DENIED = "wamp.error.not_authorized"
ALLOWED = "allowed"

#: role -> authid, then (action, URI, verdict) for what it may and may not do.
CASES: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    "compute": ("compute-1", [
        ("register", "nova.compute.compute-1.spawn", ALLOWED),
        ("register", "nova.compute.compute-2.spawn", DENIED),  # another host's
        ("register", "nova.conductor.instance_update", DENIED),
        ("call", "nova.conductor.instance_update", ALLOWED),  # its reporting procedures
        ("call", "nova.conductor.compute_node_update", ALLOWED),
        ("call", "nova.conductor.build_instances", DENIED),  # not the conductor's builds
        ("call", "nova.conductor.instance_action", DENIED),
        ("call", "nova.scheduler.select_destinations", DENIED),
        ("call", "nova.identity.authenticate_ticket", DENIED),  # the API's
        ("call", "nova.compute.compute-2.spawn", DENIED),
        ("call", "nova.consoleauth.authorize", DENIED),
        ("call", "nova.cert.issue", DENIED),  # the authority's admin procedures
        ("call", "nova.cert.revoke", DENIED),
        ("call", "nova.cert.generate_x509_cert", DENIED),
        ("subscribe", "nova.project.p1.instance", DENIED),  # no project's events
        ("publish", "nova.project.p1.instance", DENIED),
        ("call", "wamp.session.list", DENIED),
    ]),
    "api": ("nova-api", [
        ("call", "nova.cert.fetch_ca", ALLOWED),
        ("call", "nova.cert.generate_x509_cert", ALLOWED),
        ("call", "nova.cert.issue", DENIED),
        ("call", "nova.cert.revoke", DENIED),
        ("call", "nova.cert.revoke_certs_by_user", DENIED),
        ("call", "nova.cert.list", DENIED),
        ("register", "nova.cert.fetch_ca", DENIED),
        ("register", "nova.compute.compute-1.spawn", DENIED),
        ("call", "wamp.session.kill", DENIED),
    ]),
    "conductor": ("nova-conductor", [
        ("register", "nova.conductor.build_instances", ALLOWED),
        ("call", "nova.compute.compute-1.spawn", ALLOWED),
        ("call", "nova.cert.issue", DENIED),
        ("call", "nova.cert.fetch_ca", DENIED),
        ("register", "nova.compute.compute-1.spawn", DENIED),
        ("subscribe", "nova.project.p1.instance", DENIED),
    ]),
    "scheduler": ("nova-scheduler", [
        ("register", "nova.scheduler.select_destinations", ALLOWED),
        ("call", "nova.compute.compute-1.spawn", DENIED),
        ("call", "nova.conductor.build_instances", DENIED),
        ("call", "nova.cert.issue", DENIED),
    ]),
    "consoleauth": ("nova-consoleauth", [
        ("register", "nova.consoleauth.validate", ALLOWED),
        ("call", "nova.compute.compute-1.get_console", ALLOWED),
        ("call", "nova.compute.compute-1.spawn", DENIED),  # consoles only
        ("call", "nova.conductor.instance_action", DENIED),
        ("call", "nova.cert.issue", DENIED),
    ]),
    "console": ("nova-novncproxy", [
        ("call", "nova.consoleauth.validate", ALLOWED),
        ("subscribe", "nova.consoleauth.revoked", ALLOWED),
        ("call", "nova.consoleauth.authorize", DENIED),  # issuing tokens is the API's
        ("call", "nova.compute.compute-1.get_console", DENIED),
        ("call", "nova.cert.generate_x509_cert", DENIED),
        ("subscribe", "nova.project.p1.instance", DENIED),
    ]),
    "cert": ("nova-cert", [
        ("register", "nova.cert.issue", ALLOWED),
        ("call", "wamp.session.list", ALLOWED),  # to end revoked certificates' sessions
        ("call", "wamp.session.kill_by_authrole", DENIED),
        ("subscribe", "wamp.session.on_join", DENIED),
        ("register", "nova.conductor.build_instances", DENIED),
        ("call", "nova.compute.compute-1.spawn", DENIED),
        ("call", "nova.consoleauth.authorize", DENIED),
        ("subscribe", "nova.project.p1.instance", DENIED),
    ]),
}

MEMBER = [
    ("subscribe", "nova.project.p1.instance", ALLOWED),
    ("call", "nova.project.p1.console", ALLOWED),
    ("subscribe", "nova.project.p2.instance", DENIED),  # another project's events
    ("subscribe", "nova.project.", DENIED),
    ("call", "nova.conductor.instance_action", DENIED),
    ("call", "nova.compute.compute-1.get_console", DENIED),
    ("call", "nova.cert.generate_x509_cert", DENIED),
    ("call", "nova.consoleauth.validate", DENIED),
    ("register", "nova.project.p1.anything", DENIED),
]


class World:
    """A TLS router trusting our CA, with nova-api's ticket authenticator registered."""

    def __init__(self, router: RouterService, ca: CertificateAuthority) -> None:
        self.router = router
        self.ca = ca

    def tls(self, issued: Issued | None = None) -> Any:
        client = None
        if issued is not None:
            client = ssl.PrivateCertificate.loadPEM(issued.key_pem + issued.cert_pem)
        return ssl.optionsForClientTLS("127.0.0.1", trustRoot=ssl.Certificate.loadPEM(
            self.ca.cert_pem), clientCertificate=client)

    async def service(self, authid: str, role: str) -> Any:
        from twisted.internet import reactor

        return await join(reactor, self.router, serializer="msgpack", authmethods=["tls"],
                          tls_options=self.tls(self.ca.issue_service(authid, role)))


@pytest_twisted.async_yield_fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """The router, with nova-api joined by certificate and its ticket check registered."""
    from twisted.internet import reactor

    paths = authority.CaPaths(tmp_path / "ca.pem", tmp_path / "ca.key", tmp_path / "crl.pem",
                              tmp_path / "keys")
    ca = authority.create(paths, "Bus CA")
    authority.write_crl(paths.crl, ca.crl([]))
    cert, key = authority.write_issued(tmp_path / "router", "server",
                                       ca.issue_server("router", ["127.0.0.1"]))
    router = await start_router(reactor, f"""
[router]
auth_methods = tls, ticket
ticket_authenticator = nova.identity.authenticate_ticket
tls_cert_file = {cert}
tls_key_file = {key}
tls_ca_file = {paths.cert}
tls_crl_file = {paths.crl}
""")
    made = World(router, ca)
    api = await made.service("nova-api", "api")

    def authenticate(realm: str, authid: str, details: dict[str, Any]) -> Any:
        if details["ticket"] != f"token-of-{authid}":
            raise ApplicationError("nova.error.invalid_token", "token rejected")
        return {"role": "member", "extra": {"project_id": "p1"}}

    await api.register(authenticate, "nova.identity.authenticate_ticket")
    yield made
    api.leave()
    await router.stopService()


async def _verdict(session: Any, action: str, uri: str) -> str:
    try:
        if action == "call":
            await session.call(uri)
        elif action == "register":
            await session.register(lambda *a, **k: None, uri)
        elif action == "subscribe":
            await session.subscribe(lambda *a, **k: None, uri)
        else:
            from autobahn.wamp.types import PublishOptions

            await session.publish(uri, options=PublishOptions(acknowledge=True))
    except ApplicationError as exc:
        return DENIED if exc.error == DENIED else ALLOWED
    return ALLOWED


@pytest.mark.parametrize("role", sorted(CASES))
@pytest_twisted.ensureDeferred
async def test_service_roles(world: World, role: str) -> None:
    """When a service joins with its certificate, it may use only its own URIs."""
    authid, cases = CASES[role]
    session = await world.service(authid, role)
    assert (session._authid, session._authrole, session._authmethod) == (authid, role, "tls")
    verdicts = [(action, uri, await _verdict(session, action, uri))
                for action, uri, _ in cases]
    assert verdicts == cases
    session.leave()


@pytest_twisted.ensureDeferred
async def test_member_sees_only_its_project(world: World) -> None:
    """When a member's browser session joins, it sees only nova.project.<its project>."""
    from twisted.internet import reactor

    member = await join(reactor, world.router, authmethods=["ticket"], authid="demo",
                        ticket="token-of-demo", tls_options=world.tls())
    assert member._authrole == "member"
    verdicts = [(action, uri, await _verdict(member, action, uri)) for action, uri, _ in MEMBER]
    assert verdicts == MEMBER
    member.leave()


@pytest.mark.parametrize("subject", ["user", "unknown-role", "authid-mismatch"])
@pytest_twisted.ensureDeferred
async def test_certificates_that_name_no_usable_role(world: World, subject: str) -> None:
    """When a certificate names no role (a user's), a role the realm lacks, or the HELLO
    claims another authid, the session is refused."""
    from twisted.internet import reactor

    issued = {"user": world.ca.issue_user("u-1", "p1"),
              "unknown-role": world.ca.issue_service("x", "superuser"),
              "authid-mismatch": world.ca.issue_service("compute-1", "compute")}[subject]
    authid = "compute-2" if subject == "authid-mismatch" else None
    with pytest.raises(ApplicationError) as err:
        await join(reactor, world.router, authmethods=["tls"], authid=authid,
                   tls_options=world.tls(issued))
    assert err.value.error in (DENIED, "wamp.error.no_such_role")
