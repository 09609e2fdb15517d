"""os-certificates: the root CA and per-user certificates, from a real nova-cert manager.

The API's caller dispatches ``nova.cert.*`` straight to a
:class:`~nova_ws.auth.ca.manager.CertManager` with a real CA (in a temporary
directory) on the test database: the router is the only part left out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from autobahn.wamp.exception import ApplicationError
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from twisted.internet.defer import Deferred, ensureDeferred, fail

from nova_ws.auth.ca import authority
from nova_ws.auth.ca.manager import CertManager
from nova_ws.config import CaSection
from nova_ws.db.queries import certificates
from tests.api.compute.conftest import Api, call


class ManagerCaller:
    """Calls a CertManager's procedures as the router would deliver them."""

    def __init__(self, manager: CertManager | None) -> None:
        self.procedures = manager.procedures() if manager else {}

    def call(self, procedure: str, *args: Any, **kwargs: Any) -> Deferred[Any]:
        handler = self.procedures.get(procedure)
        if handler is None:
            return fail(ApplicationError("wamp.error.no_such_procedure", procedure))
        return ensureDeferred(handler(*args, **kwargs))


@pytest.fixture
def manager(api: Api, tmp_path: Path) -> CertManager:
    """A CertManager on a new CA and the API's database, answering the API's calls."""
    paths = authority.CaPaths(tmp_path / "ca.pem", tmp_path / "ca.key", tmp_path / "crl.pem",
                              tmp_path / "keys")
    ca = authority.create(paths, "API Test CA")
    made = CertManager(api.db, ca, paths, CaSection())
    assert api.compute is not None
    api.compute.certificates.client = ManagerCaller(made)
    return made


@pytest_twisted.ensureDeferred
async def test_root_certificate(api: Api, manager: CertManager) -> None:
    """When a user asks for the root certificate, it is the CA's, with no key."""
    answer = await call(api, "GET", "/os-certificates/root", who="reader")
    assert answer.code == 200
    assert answer.body["certificate"]["private_key"] is None
    pem = answer.body["certificate"]["data"].encode()
    assert x509.load_pem_x509_certificate(pem) == manager.authority.cert


@pytest_twisted.ensureDeferred
async def test_only_root_can_be_retrieved(api: Api, manager: CertManager) -> None:
    """When any other certificate id is asked for, the answer is Nova's 501."""
    answer = await call(api, "GET", "/os-certificates/1234")
    assert answer.code == 501
    assert answer.body == {"notImplemented": {
        "code": 501, "message": "Only root certificate can be retrieved."}}


@pytest_twisted.ensureDeferred
async def test_create_gives_the_caller_a_certificate_and_key(api: Api,
                                                             manager: CertManager) -> None:
    """When a member creates a certificate, it names their user and project, the key is
    theirs, and only the serial is recorded."""
    answer = await call(api, "POST", "/os-certificates")
    assert answer.code == 200, answer.body
    body = answer.body["certificate"]
    cert = x509.load_pem_x509_certificate(body["data"].encode())
    key = serialization.load_pem_private_key(body["private_key"].encode(), None)
    assert key.public_key() == cert.public_key()
    subject = cert.subject
    [recorded] = await api.db.run(certificates.list_certificates)
    assert recorded.serial == format(cert.serial_number, "x")
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == recorded.user_id
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == (
        recorded.project_id) == api.projects["demo"]
    assert cert.issuer == manager.authority.cert.subject


@pytest_twisted.ensureDeferred
async def test_refusals(api: Api, manager: CertManager) -> None:
    """When the token is missing, a reader creates, or nova-cert is away, it is refused."""
    assert (await call(api, "GET", "/os-certificates/root", who=None)).code == 401
    assert (await call(api, "POST", "/os-certificates", who="unscoped")).code == 401
    assert (await call(api, "POST", "/os-certificates", who="reader")).code == 403
    assert api.compute is not None
    api.compute.certificates.client = ManagerCaller(None)
    answer = await call(api, "POST", "/os-certificates")
    assert answer.code == 503
    assert answer.body["serviceUnavailable"]["message"] == (
        "The certificate service is unavailable.")
    assert await api.db.run(certificates.list_certificates) == []
